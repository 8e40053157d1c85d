/**
 * analytics-tracker's per-event checks (pure), and the credential checks of both analytics
 * functions driven in-process; the database is reached only in the e2e and pgTAP suites, so the
 * apps here get a database that fails the test if anything touches it.
 */
import assert from "node:assert/strict";
import { SignJWT } from "jose";
import { createApp as createCleanupApp } from "../../supabase/functions/cleanup-old/app.ts";
import { createApp as createTrackerApp } from "../../supabase/functions/analytics-tracker/app.ts";
import { checkEvents } from "../../supabase/functions/analytics-tracker/track.ts";
import { createJwtVerifier } from "../../supabase/functions/_shared/auth.ts";
import type { Deps } from "../../supabase/functions/_shared/deps.ts";
import { loadConfig } from "../../supabase/functions/_shared/config.ts";
import { createLogger } from "../../supabase/functions/_shared/logger.ts";

const NOW = new Date("2026-12-01T12:00:00Z");
const SECRET = "super-secret-jwt-token-with-at-least-32-characters-long";
const JOB_SECRET = "job-secret-job-secret-job-secret-0123456789";

Deno.test("checkEvents() keeps valid events and rejects each bad one by index", () => {
  const { rows, rejected } = checkEvents([
    { id: "a", name: "chat.reply", duration_ms: 12, properties: { tokens: 7 } },
    { name: "Chat Reply" },
    { name: "old.event", occurred_at: "2026-11-24T11:59:00Z" },
    { name: "future.event", occurred_at: "2026-12-01T12:06:00Z" },
    { name: "big.event", properties: { blob: "x".repeat(8200) } },
    { name: "bad.tokens", properties: { tokens: -1 } },
    { name: "failed.call", properties: { outcome: "timeout" } },
    { name: "flagged.call", properties: { error: true } },
    42,
  ], NOW);
  assert.deepEqual(rows.map((r) => r.ord), [0, 6, 7]);
  assert.deepEqual(rejected.map((r) => r.index), [1, 2, 3, 4, 5, 8]);
  assert.deepEqual(
    rows.map((r) => [r.name, r.is_error, r.tokens, r.occurred_at]),
    [
      ["chat.reply", false, 7, NOW.toISOString()],
      ["failed.call", true, null, NOW.toISOString()],
      ["flagged.call", true, null, NOW.toISOString()],
    ],
  );
});

Deno.test("checkEvents() accepts the edges of the window and of the size limit", () => {
  const exactly8k = "x".repeat(8192 - JSON.stringify({ b: "" }).length);
  const { rows, rejected } = checkEvents([
    { name: "edge.old", occurred_at: "2026-11-24T12:00:00Z" },
    { name: "edge.ahead", occurred_at: "2026-12-01T12:05:00+00:00" },
    { name: "edge.size", properties: { b: exactly8k } },
  ], NOW);
  assert.deepEqual(rejected, []);
  assert.equal(rows.length, 3);
});

function deps(): Deps {
  const config = loadConfig({
    SUPABASE_URL: "http://127.0.0.1:1",
    SUPABASE_ANON_KEY: "anon",
    SUPABASE_SERVICE_ROLE_KEY: "service-key",
    JWT_SECRET: SECRET,
    JOB_SECRET,
  });
  const untouched = () => Promise.reject(new Error("the database must not be reached"));
  return {
    config,
    db: { asUser: untouched, asService: untouched, close: () => Promise.resolve() },
    verifyJwt: createJwtVerifier({ jwtSecret: SECRET }),
    logger: createLogger({}, { level: "error" }),
    now: () => NOW,
  } as unknown as Deps;
}

function token(claims: Record<string, unknown>): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg: "HS256" }).setExpirationTime("1h")
    .sign(new TextEncoder().encode(SECRET));
}

Deno.test("cleanup-old refuses user and anon tokens (403) and anything else (401)", async () => {
  const app = createCleanupApp(deps());
  const user = await token({
    role: "authenticated",
    aud: "authenticated",
    sub: crypto.randomUUID(),
  });
  const anon = await token({ role: "anon" });
  for (
    const [bearer, status] of [
      [user, 403],
      [anon, 403],
      ["garbage", 401],
      ["sb_secret_unknown", 401],
      [null, 401],
    ] as const
  ) {
    const response = await app.request("/cleanup-old", {
      method: "POST",
      headers: bearer ? { authorization: `Bearer ${bearer}` } : {},
      body: "{}",
    });
    assert.equal(response.status, status, String(bearer));
    const body = await response.json();
    assert.equal(body.error.code, status === 403 ? "forbidden" : "unauthenticated");
  }
});

Deno.test("cleanup-old checks its body after the credential: 400 with the issues", async () => {
  const app = createCleanupApp(deps());
  const response = await app.request("/cleanup-old", {
    method: "POST",
    headers: { authorization: `Bearer ${JOB_SECRET}` },
    body: JSON.stringify({ batch_size: 0, policies: ["everything"], extra: true }),
  });
  assert.equal(response.status, 400);
  const body = await response.json();
  assert.equal(body.error.code, "invalid_request");
  assert.deepEqual(
    body.error.details.map((d: { path: string }) => d.path).sort(),
    ["(root)", "batch_size", "policies.0"],
  );
});

Deno.test("analytics-tracker: 401 without a user or service credential, 400 on a bad envelope", async () => {
  const app = createTrackerApp(deps());
  const anon = await token({ role: "anon" });
  const refused = await app.request("/analytics-tracker", {
    method: "POST",
    headers: { authorization: `Bearer ${anon}`, "content-type": "application/json" },
    body: JSON.stringify({ events: [{ name: "a.b" }] }),
  });
  assert.equal(refused.status, 401);
  const user = await token({
    role: "authenticated",
    aud: "authenticated",
    sub: crypto.randomUUID(),
  });
  const empty = await app.request("/analytics-tracker", {
    method: "POST",
    headers: { authorization: `Bearer ${user}`, "content-type": "application/json" },
    body: JSON.stringify({ events: [] }),
  });
  assert.equal(empty.status, 400);
  assert.equal((await empty.json()).error.code, "invalid_request");
  const badQuery = await app.request("/analytics-tracker/summary?granularity=minute", {
    headers: { authorization: `Bearer ${user}` },
  });
  assert.equal(badQuery.status, 400);
});
