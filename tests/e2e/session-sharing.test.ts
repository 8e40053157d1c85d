/**
 * The product's local stack shared with psql-like wire clients: a client left in BEGIN makes the
 * API answer 503 session_busy (auth, storage, functions) after the documented bound instead of
 * hanging, and a client's `set request.jwt.claim.sub` never reaches sign-ups (the personal
 * organization and its audit row belong to the new user, not to the client's claimed user).
 */
import assert from "node:assert/strict";
import { createClient } from "@supabase/supabase-js";
import postgres from "postgres";
import { startStack } from "../../local/stack.ts";

/** The stack's functions mode follows FUNCTIONS_MODE (CI runs this folder in both modes). */
const isolated = Deno.env.get("FUNCTIONS_MODE") === "isolated";
const stack = await startStack({
  rootDir: "/tmp/snap",
  apiPort: 0,
  dbPort: 0,
  dataDir: null,
  workers: false,
  functionLogLevel: "error",
  dbWaitTimeoutMs: 500,
});
const anon = () =>
  createClient(stack.apiUrl, stack.anonKey, {
    auth: { persistSession: false, autoRefreshToken: false },
  });

Deno.test("a wire client idle in a transaction: auth, storage and functions answer 503 session_busy", async () => {
  const user = await anon().auth.signUp({
    email: "waiter@example.test",
    password: "a-long-password",
  });
  assert.equal(user.error, null);
  const sql = postgres(stack.dbUrl, { max: 1, onnotice: () => {} });
  const reserved = await sql.reserve();
  try {
    await reserved`begin`;
    await reserved`select 1`;

    const signUp = await fetch(`${stack.apiUrl}/auth/v1/signup`, {
      method: "POST",
      headers: { apikey: stack.anonKey, "content-type": "application/json" },
      body: JSON.stringify({ email: "busy@example.test", password: "a-long-password" }),
    });
    assert.equal(signUp.status, 503);
    const auth = await signUp.json();
    assert.equal(auth.error_code, "session_busy");
    assert.match(auth.msg, /wire:\d+ \(postgres\.js/);

    const buckets = await fetch(`${stack.apiUrl}/storage/v1/bucket`, {
      headers: { apikey: stack.serviceRoleKey, authorization: `Bearer ${stack.serviceRoleKey}` },
    });
    assert.equal(buckets.status, 503);
    assert.equal((await buckets.json()).error, "session_busy");

    // Isolated functions are wire clients of the database and wait as Postgres clients do (until
    // the holder ends or the idle-in-transaction timeout ends it): see the README.
    if (!isolated) {
      const whoami = await fetch(`${stack.apiUrl}/functions/v1/whoami`, {
        headers: { authorization: `Bearer ${user.data.session!.access_token}` },
      });
      const body = await whoami.json();
      assert.equal(whoami.status, 503, JSON.stringify(body));
      assert.equal(body.error.code, "unavailable");
      assert.deepEqual(body.error.details, { reason: "session_busy" });
    }
    await reserved`rollback`;
  } finally {
    reserved.release();
    await sql.end();
  }
  // Served again once the transaction ends.
  const health = await anon().auth.signUp({
    email: "after@example.test",
    password: "a-long-password",
  });
  assert.equal(health.error, null);
});

Deno.test("a wire client's request.jwt.claim.sub does not make it the actor of other sign-ups", async () => {
  const first = await anon().auth.signUp({
    email: "claimed@example.test",
    password: "a-long-password",
  });
  assert.equal(first.error, null);
  const claimed = first.data.user!.id;
  const sql = postgres(stack.dbUrl, { max: 1, onnotice: () => {} });
  try {
    await sql.unsafe(`set request.jwt.claim.sub = '${claimed}'`);
    await sql.unsafe(`select set_config('request.jwt.claims', '{"sub":"${claimed}"}', false)`);
    const next = await anon().auth.signUp({
      email: "fresh@example.test",
      password: "a-long-password",
    });
    assert.equal(next.error, null);
    const fresh = next.data.user!.id;
    const [org] = await sql`
      select created_by from public.organizations where personal_user_id = ${fresh}`;
    assert.ok(org, "the sign-up made a personal organization");
    assert.notEqual(org.created_by, claimed);
    const actors = await sql`
      select distinct user_id from public.activities where organization_id in
        (select id from public.organizations where personal_user_id = ${fresh})`;
    assert.ok(actors.every((row) => row.user_id !== claimed), JSON.stringify(actors));
  } finally {
    await sql.end();
  }
});

Deno.test("teardown", async () => {
  await stack.stop();
});
