/**
 * An AppError made by another copy of `_shared/errors.ts` (the local stack's hot reload loads the
 * functions from a fresh copy while the stack's deps keep theirs) still answers with its own code,
 * status, details and headers, not a 500; an ordinary error named otherwise stays a 500. And a
 * database that cannot serve now (SQLSTATE 57P03, the local wire server's busy answer) is a 503.
 */
import assert from "node:assert/strict";
import { createFunctionApp } from "../../supabase/functions/_shared/http/app.ts";
import { createLogger } from "../../supabase/functions/_shared/logger.ts";

/** What an AppError from another module copy looks like: same shape, another class. */
class AppError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly details?: unknown,
    readonly headers?: Record<string, string>,
  ) {
    super(message);
    this.name = "AppError";
  }
}

const app = createFunctionApp("demo", { logger: createLogger({}, { sink: () => {} }) });
app.get("/busy", () => {
  throw new AppError("unavailable", "The local database is busy", { reason: "session_busy" }, {
    "Retry-After": "5",
  });
});
app.get("/cannot-serve", () => {
  throw Object.assign(new Error("The local database is busy"), {
    code: "57P03",
    severity: "ERROR",
  });
});
app.get("/unknown-code", () => {
  throw new AppError("no_such_code", "Not one of ours");
});

Deno.test("an AppError from another copy of the module keeps its code, status and headers", async () => {
  const response = await app.request("/demo/busy");
  assert.equal(response.status, 503);
  assert.equal(response.headers.get("retry-after"), "5");
  const body = await response.json();
  assert.deepEqual(body.error, {
    code: "unavailable",
    message: "The local database is busy",
    details: { reason: "session_busy" },
  });
});

Deno.test("an error only named AppError, with a code that is not ours, is a 500", async () => {
  const response = await app.request("/demo/unknown-code");
  assert.equal(response.status, 500);
  assert.equal((await response.json()).error.code, "internal");
});

Deno.test("SQLSTATE 57P03 is a 503 unavailable with Retry-After", async () => {
  const response = await app.request("/demo/cannot-serve");
  assert.equal(response.status, 503);
  assert.equal(response.headers.get("retry-after"), "5");
  assert.equal((await response.json()).error.code, "unavailable");
});
