/**
 * Request bodies nested deeper than MAX_JSON_DEPTH are a 400, before any handler (and so before
 * any jsonb reaches Postgres): issue 10, deep JSON breaking the local database.
 */
import assert from "node:assert/strict";
import { Hono } from "hono";
import { z } from "zod";
import { AppError } from "../../supabase/functions/_shared/errors.ts";
import {
  MAX_JSON_DEPTH,
  nestedDeeperThan,
  validate,
} from "../../supabase/functions/_shared/http/validate.ts";

function nested(depth: number): unknown {
  let value: unknown = 1;
  for (let i = 0; i < depth; i++) value = i % 2 ? [value] : { a: value };
  return value;
}

Deno.test("nestedDeeperThan counts objects and arrays, iteratively", () => {
  assert.equal(nestedDeeperThan(nested(MAX_JSON_DEPTH), MAX_JSON_DEPTH), false);
  assert.equal(nestedDeeperThan(nested(MAX_JSON_DEPTH + 1), MAX_JSON_DEPTH), true);
  assert.equal(nestedDeeperThan(nested(200_000), MAX_JSON_DEPTH), true);
  assert.equal(nestedDeeperThan("text", 0), false);
});

Deno.test("a JSON body nested 50,000 levels is a 400 invalid_request, the handler never runs", async () => {
  let handled = false;
  const app = new Hono();
  app.onError((error, c) =>
    error instanceof AppError
      ? c.json({ code: error.code, message: error.message }, 400)
      : c.json({ code: "internal" }, 500)
  );
  app.post(
    "/",
    validate("json", z.object({ metadata: z.record(z.string(), z.unknown()) })),
    (c) => {
      handled = true;
      return c.json({ ok: true });
    },
  );
  const body = `{"metadata":${'{"a":'.repeat(50_000)}1${"}".repeat(50_000)}}`;
  const response = await app.request("/", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body,
  });
  assert.equal(response.status, 400);
  assert.deepEqual(await response.json(), {
    code: "invalid_request",
    message: `Request body is nested deeper than ${MAX_JSON_DEPTH} levels`,
  });
  assert.equal(handled, false);

  const shallow = await app.request("/", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ metadata: { a: { b: [1, 2] } } }),
  });
  assert.equal(shallow.status, 200);
});
