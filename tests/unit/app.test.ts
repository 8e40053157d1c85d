import assert from "node:assert/strict";
import { SignJWT } from "jose";
import { z } from "zod";
import { createJwtVerifier } from "../../supabase/functions/_shared/auth.ts";
import { AppError } from "../../supabase/functions/_shared/errors.ts";
import { createFunctionApp } from "../../supabase/functions/_shared/http/app.ts";
import { serviceAuth, userAuth } from "../../supabase/functions/_shared/http/auth.ts";
import { validate } from "../../supabase/functions/_shared/http/validate.ts";
import { createLogger } from "../../supabase/functions/_shared/logger.ts";

const SECRET = "super-secret-jwt-token-with-at-least-32-characters-long";
const SERVICE_KEY = "service-role-key-for-tests";
const verifyJwt = createJwtVerifier({ jwtSecret: SECRET });

function makeApp(lines: string[] = []) {
  const logger = createLogger({}, { level: "debug", sink: (line) => lines.push(line) });
  const app = createFunctionApp("demo", { logger, maxBodyBytes: 64 });
  app.post("/items", validate("json", z.object({ name: z.string().min(1) })), (c) => {
    return c.json({ created: c.req.valid("json").name }, 201);
  });
  app.get("/me", userAuth(verifyJwt), (c) => c.json({ sub: c.get("claims").sub }));
  app.post(
    "/jobs",
    serviceAuth({ serviceKeys: [SERVICE_KEY], verifyJwt }),
    (c) => c.json({ ok: 1 }),
  );
  app.get("/rate", () => {
    throw new AppError("rate_limited", "Too many requests", { headers: { "retry-after": "7" } });
  });
  app.get("/pg/:code", (c) => {
    throw Object.assign(new Error(`database said ${c.req.param("code")}`), {
      code: c.req.param("code"),
      severity: "ERROR",
    });
  });
  app.get("/boom", () => {
    throw new Error("secret internal detail");
  });
  return app;
}

const userToken = (claims: Record<string, unknown> = {}) =>
  new SignJWT({
    sub: "5b6f1c43-8a57-4b7e-9d0a-0f2c9a1e7d11",
    role: "authenticated",
    aud: "authenticated",
    exp: Math.floor(Date.now() / 1000) + 60,
    ...claims,
  }).setProtectedHeader({ alg: "HS256" }).sign(new TextEncoder().encode(SECRET));

async function errorOf(response: Response) {
  const body = await response.json();
  assert.equal(typeof body.request_id, "string");
  return { status: response.status, ...body.error } as {
    status: number;
    code: string;
    message: string;
    details?: unknown;
  };
}

Deno.test("app serves routes under the function's base path", async () => {
  const response = await makeApp().request("/demo/items", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ name: "x" }),
  });
  assert.equal(response.status, 201);
  assert.deepEqual(await response.json(), { created: "x" });
});

Deno.test("invalid input is a 400 invalid_request with the issues as details", async () => {
  const response = await makeApp().request("/demo/items", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ name: "" }),
  });
  const error = await errorOf(response);
  assert.equal(error.status, 400);
  assert.equal(error.code, "invalid_request");
  assert.equal(error.message, "Invalid request body");
  assert.deepEqual((error.details as Array<{ path: string }>).map((d) => d.path), ["name"]);
});

Deno.test("malformed JSON is a 400, never a 500", async () => {
  const response = await makeApp().request("/demo/items", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: "{not json",
  });
  const error = await errorOf(response);
  assert.equal(error.status, 400);
  assert.equal(error.code, "invalid_request");
});

Deno.test("a body over the limit is a 413 payload_too_large", async () => {
  const response = await makeApp().request("/demo/items", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ name: "x".repeat(500) }),
  });
  const error = await errorOf(response);
  assert.equal(error.status, 413);
  assert.equal(error.code, "payload_too_large");
});

Deno.test("an unknown route is a 404 not_found in the same body", async () => {
  const error = await errorOf(await makeApp().request("/demo/nope"));
  assert.equal(error.status, 404);
  assert.equal(error.code, "not_found");
});

Deno.test("AppError headers reach the response (Retry-After on 429)", async () => {
  const response = await makeApp().request("/demo/rate");
  assert.equal(response.headers.get("retry-after"), "7");
  assert.equal((await errorOf(response)).code, "rate_limited");
});

Deno.test("Postgres errors map by SQLSTATE", async () => {
  const app = makeApp();
  const cases: Array<[string, number, string]> = [
    ["23505", 409, "conflict"],
    ["42501", 403, "forbidden"],
    ["22P02", 400, "invalid_request"],
    ["23503", 400, "invalid_request"],
    ["57014", 504, "upstream_timeout"],
    ["XX000", 500, "internal"],
  ];
  for (const [sqlstate, status, code] of cases) {
    const error = await errorOf(await app.request(`/demo/pg/${sqlstate}`));
    assert.equal(error.status, status, sqlstate);
    assert.equal(error.code, code, sqlstate);
  }
});

Deno.test("an unexpected error is a 500 with a generic message; the cause is logged", async () => {
  const lines: string[] = [];
  const error = await errorOf(await makeApp(lines).request("/demo/boom"));
  assert.equal(error.status, 500);
  assert.equal(error.message, "Internal error");
  assert.doesNotMatch(JSON.stringify(error), /secret internal detail/);
  assert.ok(lines.some((l) => l.includes("secret internal detail") && l.includes('"fn":"demo"')));
});

Deno.test("the request id is taken from x-request-id or generated, and echoed", async () => {
  const app = makeApp();
  const given = await app.request("/demo/nope", { headers: { "x-request-id": "req-123" } });
  assert.equal(given.headers.get("x-request-id"), "req-123");
  assert.equal((await given.json()).request_id, "req-123");
  const generated = await app.request("/demo/nope");
  assert.match(generated.headers.get("x-request-id") ?? "", /^[0-9a-f-]{36}$/);
});

Deno.test("CORS preflight allows supabase-js headers", async () => {
  const response = await makeApp().request("/demo/items", {
    method: "OPTIONS",
    headers: {
      origin: "http://localhost:3000",
      "access-control-request-method": "POST",
      "access-control-request-headers": "authorization, x-client-info, apikey, content-type",
    },
  });
  assert.equal(response.status, 204);
  assert.equal(response.headers.get("access-control-allow-origin"), "*");
  assert.match(response.headers.get("access-control-allow-headers") ?? "", /x-client-info/);
});

Deno.test("userAuth() needs a valid user token", async () => {
  const app = makeApp();
  assert.equal((await errorOf(await app.request("/demo/me"))).status, 401);
  const expired = await userToken({ exp: Math.floor(Date.now() / 1000) - 10 });
  const bad = await app.request("/demo/me", { headers: { authorization: `Bearer ${expired}` } });
  assert.equal((await errorOf(bad)).code, "unauthenticated");
  const ok = await app.request("/demo/me", {
    headers: { authorization: `Bearer ${await userToken()}` },
  });
  assert.equal(ok.status, 200);
  assert.equal((await ok.json()).sub, "5b6f1c43-8a57-4b7e-9d0a-0f2c9a1e7d11");
});

Deno.test("serviceAuth() fails closed: users and unknown keys are refused", async () => {
  const app = makeApp();
  const call = (authorization?: string) =>
    app.request("/demo/jobs", {
      method: "POST",
      ...(authorization ? { headers: { authorization } } : {}),
    });
  assert.equal((await call()).status, 401);
  assert.equal((await call("Bearer sb_secret_wrong")).status, 401);
  assert.equal((await call(`Bearer ${await userToken()}`)).status, 403);
  assert.equal((await call(`Bearer ${SERVICE_KEY}`)).status, 200);
  const serviceJwt = await new SignJWT({ role: "service_role" }).setProtectedHeader({
    alg: "HS256",
  }).sign(new TextEncoder().encode(SECRET));
  assert.equal((await call(`Bearer ${serviceJwt}`)).status, 200);
});

Deno.test("logs are one JSON line per request with no credentials", async () => {
  const lines: string[] = [];
  await makeApp(lines).request("/demo/me", {
    headers: { authorization: `Bearer ${await userToken()}` },
  });
  const line = JSON.parse(lines.at(-1)!);
  assert.equal(line.msg, "request");
  assert.equal(line.fn, "demo");
  assert.equal(line.status, 200);
  assert.equal(typeof line.request_id, "string");
  assert.doesNotMatch(lines.join("\n"), /eyJ/);
});
