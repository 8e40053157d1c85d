/**
 * The local stack end to end, as a supabase-js client and a Postgres client use it, on a fixture
 * project (tests/fixtures/project) so these checks do not depend on the product's schema:
 * auth, storage with RLS, functions with verify_jwt, pg_cron, pg_net through Vault, the wire port
 * under concurrent load, and persistence across a restart.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { createClient, FunctionsHttpError, type SupabaseClient } from "@supabase/supabase-js";
import { SignJWT } from "jose";
import postgres from "postgres";
import { type Stack, startStack } from "../../local/stack.ts";
import { received } from "../fixtures/project/supabase/functions/net-sink/app.ts";
import { eventually } from "./support.ts";

const FIXTURE = fileURLToPath(new URL("../fixtures/project", import.meta.url));
const PASSWORD = "correct horse battery staple";

function boot(dataDir: string): Promise<Stack> {
  return startStack({
    rootDir: FIXTURE,
    apiPort: 0,
    dbPort: 0,
    dataDir,
    functionLogLevel: "error",
  });
}

function client(stack: Stack, accessToken?: string): SupabaseClient {
  return createClient(stack.apiUrl, stack.anonKey, {
    auth: { persistSession: false, autoRefreshToken: false },
    ...(accessToken ? { global: { headers: { Authorization: `Bearer ${accessToken}` } } } : {}),
  });
}

async function signUp(stack: Stack, email: string) {
  const { data, error } = await client(stack).auth.signUp({ email, password: PASSWORD });
  assert.equal(error, null);
  assert.ok(data.session && data.user);
  return { id: data.user.id, token: data.session.access_token };
}

/** Random bytes of any length (getRandomValues gives at most 64 KiB at a time). */
function randomBytes(length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let at = 0; at < length; at += 65536) {
    crypto.getRandomValues(bytes.subarray(at, Math.min(length, at + 65536)));
  }
  return bytes;
}

Deno.test("local stack end to end", async (t) => {
  const dataDir = await Deno.makeTempDir({ prefix: "stack-e2e-" });
  let stack = await boot(dataDir);
  const payload = randomBytes(200_000);
  let alice = { id: "", token: "" };

  try {
    await t.step("GET /health answers ok once booted", async () => {
      const response = await fetch(`${stack.apiUrl}/health`);
      assert.equal(response.status, 200);
      assert.equal((await response.json()).status, "ok");
    });

    await t.step("sign up, sign in, get user and refresh through supabase-js", async () => {
      alice = await signUp(stack, "alice@example.test");
      const auth = client(stack).auth;
      const signIn = await auth.signInWithPassword({
        email: "alice@example.test",
        password: PASSWORD,
      });
      assert.equal(signIn.error, null);
      const session = signIn.data.session!;
      assert.equal(session.user.id, alice.id);

      const user = await auth.getUser(session.access_token);
      assert.equal(user.error, null);
      assert.equal(user.data.user?.email, "alice@example.test");

      const refreshed = await auth.refreshSession({ refresh_token: session.refresh_token });
      assert.equal(refreshed.error, null);
      assert.notEqual(refreshed.data.session?.refresh_token, session.refresh_token);
      assert.equal(refreshed.data.session?.user.id, alice.id);

      const wrong = await auth.signInWithPassword({
        email: "alice@example.test",
        password: "nope!!",
      });
      assert.equal(wrong.error?.code, "invalid_credentials");
    });

    await t.step("functions.invoke reaches the function with the verified claims", async () => {
      const { data, error } = await client(stack, alice.token).functions.invoke("echo-claims", {
        body: { hello: "world" },
      });
      assert.equal(error, null);
      assert.equal(data.claims.sub, alice.id);
      assert.equal(data.claims.role, "authenticated");
      assert.deepEqual(data.db, { uid: alice.id, role: "authenticated" });
      assert.deepEqual(data.body, { hello: "world" });
    });

    await t.step("verify_jwt: 401 JSON without a token or with a forged one", async () => {
      const url = `${stack.apiUrl}/functions/v1/echo-claims`;
      const missing = await fetch(url, { method: "POST" });
      assert.equal(missing.status, 401);
      assert.deepEqual(await missing.json(), {
        code: 401,
        message: "Missing authorization header",
      });

      const forged = await new SignJWT({
        sub: alice.id,
        role: "authenticated",
        aud: "authenticated",
      })
        .setProtectedHeader({ alg: "HS256" })
        .setExpirationTime("1h")
        .sign(new TextEncoder().encode("not-the-project-secret-but-32-characters-long"));
      const { error } = await client(stack, forged).functions.invoke("echo-claims", { body: {} });
      assert.ok(error instanceof FunctionsHttpError);
      assert.equal(error.context.status, 401);
      assert.deepEqual(await error.context.json(), { code: 401, message: "Invalid JWT" });

      const unknown = await fetch(`${stack.apiUrl}/functions/v1/no-such-function`, {
        method: "POST",
      });
      assert.equal(unknown.status, 404);
      assert.equal((await unknown.json()).code, "NOT_FOUND");
    });

    await t.step("storage: bytes round-trip intact and policies keep users apart", async () => {
      const bob = await signUp(stack, "bob@example.test");
      const aliceFiles = client(stack, alice.token).storage.from("private-files");
      const bobFiles = client(stack, bob.token).storage.from("private-files");

      const upload = await aliceFiles.upload(`${alice.id}/blob.bin`, payload, {
        contentType: "application/octet-stream",
      });
      assert.equal(upload.error, null);
      const download = await aliceFiles.download(`${alice.id}/blob.bin`);
      assert.equal(download.error, null);
      assert.deepEqual(new Uint8Array(await download.data!.arrayBuffer()), payload);

      const peek = await bobFiles.download(`${alice.id}/blob.bin`);
      assert.ok(peek.error, "Bob must not read Alice's file");
      const overwrite = await bobFiles.upload(`${alice.id}/blob.bin`, new Uint8Array([1]), {
        upsert: true,
      });
      assert.ok(overwrite.error, "Bob must not write into Alice's folder");
      const listing = await bobFiles.list(alice.id);
      assert.deepEqual(listing.data, []);
      const again = await aliceFiles.download(`${alice.id}/blob.bin`);
      assert.deepEqual(new Uint8Array(await again.data!.arrayBuffer()), payload);
    });

    await t.step("a cron.schedule'd job runs and its run is recorded", async () => {
      await stack.session.query(
        "select cron.schedule('ping', '1 seconds', $$insert into public.pings (source) values ('cron')$$)",
      );
      const run = await eventually("a succeeded cron run", async () => {
        const { rows } = await stack.session.query<{ status: string; return_message: string }>(
          `select d.status, d.return_message from cron.job_run_details d
           join cron.job j using (jobid) where j.jobname = 'ping' and d.status = 'succeeded' limit 1`,
        );
        return rows[0];
      });
      assert.equal(run.return_message, "INSERT 0 1");
      const { rows } = await stack.session.query(
        "select 1 from public.pings where source = 'cron'",
      );
      assert.ok(rows.length >= 1);
      await stack.session.query("select cron.unschedule('ping')");
    });

    await t.step(
      "net.http_post with Vault's project_url and service key reaches a function",
      async () => {
        const { rows } = await stack.session.query<{ id: number }>(
          `select net.http_post(
           url := (select decrypted_secret from vault.decrypted_secrets where name = 'project_url')
                  || '/functions/v1/net-sink/hook',
           body := '{"hello": "from sql"}'::jsonb,
           headers := jsonb_build_object(
             'Content-Type', 'application/json',
             'Authorization', 'Bearer ' || (select decrypted_secret from vault.decrypted_secrets
                                            where name = 'service_role_key'))
         ) as id`,
        );
        const id = rows[0]!.id;
        const response = await eventually("the pg_net response", async () => {
          const r = await stack.session.query<{ status_code: number; content: string }>(
            "select status_code, content from net._http_response where id = $1",
            [id],
          );
          return r.rows[0];
        });
        assert.equal(response.status_code, 200);
        assert.deepEqual(received.at(-1), { path: "/net-sink/hook", body: { hello: "from sql" } });
      },
    );

    await t.step("wire clients, transactions and function calls at once", async () => {
      await stack.session.exec(
        "create table public.counter (id int primary key, n int not null); insert into public.counter values (1, 0);",
      );
      const sql = postgres(stack.dbUrl, { max: 4, prepare: false, onnotice: () => {} });
      try {
        const increments = Array.from({ length: 20 }, () =>
          sql.begin(async (tx) => {
            const [row] = await tx`select n from public.counter where id = 1`;
            await tx`update public.counter set n = ${row!.n + 1} where id = 1`;
          }));
        const invocations = Array.from(
          { length: 10 },
          () => client(stack, alice.token).functions.invoke("echo-claims", { body: {} }),
        );
        const inProcess = Array.from({ length: 10 }, () =>
          stack.session.transaction(async (tx) => {
            const { rows } = await tx.query<{ n: number }>(
              "select n from public.counter where id = 1",
            );
            await tx.query("update public.counter set n = $1 where id = 1", [rows[0]!.n + 1]);
          }));
        const results = await Promise.all([...increments, ...invocations, ...inProcess]);
        for (const r of results.slice(20, 30)) {
          assert.equal((r as { error: unknown }).error, null);
        }
        const [row] = await sql`select n from public.counter where id = 1`;
        assert.equal(row!.n, 30, "no lost update");
      } finally {
        await sql.end();
      }
    });

    await t.step("a Postgres client on the DB port sees every migration recorded", async () => {
      const sql = postgres(stack.dbUrl, { max: 1, onnotice: () => {} });
      try {
        const rows =
          await sql`select version, name from supabase_migrations.schema_migrations order by version`;
        assert.deepEqual(rows.map((r) => `${r.version}_${r.name}`), [
          "20240101000000_private_files",
          "20240102000000_pings",
          "20240103000000_pg_net",
        ]);
      } finally {
        await sql.end();
      }
    });

    await t.step("data survives a restart; migrations and seed are not applied twice", async () => {
      assert.equal(stack.fresh, true);
      await stack.stop();
      stack = await boot(dataDir);
      assert.equal(stack.fresh, false);

      const seeded = await stack.session.query("select 1 from public.pings where source = 'seed'");
      assert.equal(seeded.rows.length, 1);
      const { rows } = await stack.session.query<{ n: number }>(
        "select count(*)::int as n from supabase_migrations.schema_migrations",
      );
      assert.equal(rows[0]!.n, 3);

      const signIn = await client(stack).auth.signInWithPassword({
        email: "alice@example.test",
        password: PASSWORD,
      });
      assert.equal(signIn.error, null);
      const files = client(stack, signIn.data.session!.access_token).storage.from("private-files");
      const download = await files.download(`${alice.id}/blob.bin`);
      assert.deepEqual(new Uint8Array(await download.data!.arrayBuffer()), payload);
    });
  } finally {
    await stack.stop();
    await Deno.remove(dataDir, { recursive: true });
  }
});
