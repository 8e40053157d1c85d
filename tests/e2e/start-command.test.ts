/**
 * `deno task start` as a user runs it (local/main.ts in a child process, on the product's own
 * migrations and seed): ports from API_PORT and DB_PORT, /health within 60 s, a supabase-js client
 * signing up and in, a file through storage, 401 JSON from a verify_jwt function, every migration
 * recorded for a Postgres client, and after SIGTERM and a restart, the data still there.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { createClient } from "@supabase/supabase-js";
import postgres from "postgres";
import { listMigrations } from "../../local/postgres/database.ts";
import { createAgentClient, WhoamiResponse } from "../../shared/mod.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

interface Running {
  child: Deno.ChildProcess;
  output: () => string;
}

function start(env: Record<string, string>): Running {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", "local/main.ts"],
    cwd: ROOT,
    env,
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let text = "";
  const decoder = new TextDecoder();
  const collect = async (stream: ReadableStream<Uint8Array>) => {
    for await (const chunk of stream) text += decoder.decode(chunk);
  };
  collect(child.stdout);
  collect(child.stderr);
  return { child, output: () => text };
}

async function waitForHealth(apiUrl: string, running: Running, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const response = await fetch(`${apiUrl}/health`).catch(() => null);
    if (response?.status === 200) {
      assert.equal((await response.json()).status, "ok");
      return;
    }
    await response?.body?.cancel();
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`/health did not answer 200 within ${ms} ms. Output:\n${running.output()}`);
}

async function stop(running: Running): Promise<void> {
  running.child.kill("SIGTERM");
  const status = await running.child.status;
  assert.equal(status.code, 0, `exit code after SIGTERM. Output:\n${running.output()}`);
}

Deno.test("deno task start: boot, use, SIGTERM, restart with the data intact", async () => {
  const apiPort = freePort();
  const dbPort = freePort();
  const dataDir = await Deno.makeTempDir({ prefix: "start-e2e-" });
  const env = { API_PORT: String(apiPort), DB_PORT: String(dbPort), LOCAL_DATA_DIR: dataDir };
  const apiUrl = `http://127.0.0.1:${apiPort}`;
  const dbUrl = `postgresql://postgres:postgres@127.0.0.1:${dbPort}/postgres`;
  const email = "starter@example.test";
  const password = "a-long-password";
  const bytes = new TextEncoder().encode("hello from the start command test\n");
  let running = start(env);

  try {
    await waitForHealth(apiUrl, running);
    const migrations = await listMigrations(`${ROOT}supabase/migrations`);
    for (const file of migrations) {
      assert.match(running.output(), new RegExp(`Applied migration ${file}`));
    }
    assert.match(running.output(), new RegExp(`API URL: ${apiUrl}`));
    assert.match(running.output(), /anon key: eyJ/);
    assert.match(running.output(), /service_role key: eyJ/);
    assert.match(running.output(), /Started the local Supabase stack in \d+\.\d s/);

    const supabase = createClient(apiUrl, anonKeyFrom(running.output()), {
      auth: { persistSession: false, autoRefreshToken: false },
    });
    const signUp = await supabase.auth.signUp({ email, password });
    assert.equal(signUp.error, null);
    const signIn = await supabase.auth.signInWithPassword({ email, password });
    assert.equal(signIn.error, null);
    const userId = signIn.data.user!.id;

    // A verify_jwt function refuses a call without a token, with a JSON body.
    const refused = await fetch(`${apiUrl}/functions/v1/whoami`, { method: "POST" });
    assert.equal(refused.status, 401);
    assert.equal((await refused.json()).message, "Missing authorization header");
    const me = WhoamiResponse.parse(await createAgentClient(supabase).whoami());
    assert.deepEqual(me.database, { uid: userId, role: "authenticated" });
    assert.equal(me.user.email, email);

    // A file through storage, under the user's own folder of their personal organization.
    const sql = postgres(dbUrl, { max: 1, onnotice: () => {} });
    let path: string;
    try {
      const recorded =
        await sql`select version, name from supabase_migrations.schema_migrations order by version`;
      assert.deepEqual(recorded.map((r) => `${r.version}_${r.name}.sql`), migrations);
      const [org] =
        await sql`select organization_id from public.organization_members where user_id = ${userId}`;
      assert.ok(org, "the signup trigger gives the user a personal organization");
      path = `${org.organization_id}/${userId}/hello.txt`;
    } finally {
      await sql.end();
    }
    const upload = await supabase.storage.from("documents").upload(path, bytes, {
      contentType: "text/plain",
    });
    assert.equal(upload.error, null);
    const download = await supabase.storage.from("documents").download(path);
    assert.deepEqual(new Uint8Array(await download.data!.arrayBuffer()), bytes);

    await stop(running);
    assert.match(running.output(), /Stopped\. The data is saved\./);

    running = start(env);
    await waitForHealth(apiUrl, running);
    assert.doesNotMatch(running.output(), /Applied migration/, "migrations are applied once");
    const again = await supabase.auth.signInWithPassword({ email, password });
    assert.equal(again.error, null, "the user survived the restart");
    const after = await createClient(apiUrl, anonKeyFrom(running.output()), {
      auth: { persistSession: false, autoRefreshToken: false },
      global: { headers: { Authorization: `Bearer ${again.data.session!.access_token}` } },
    }).storage.from("documents").download(path);
    assert.deepEqual(new Uint8Array(await after.data!.arrayBuffer()), bytes);
  } finally {
    try {
      running.child.kill("SIGTERM");
    } catch { /* already stopped */ }
    await running.child.status;
    await Deno.remove(dataDir, { recursive: true });
  }
});

function anonKeyFrom(output: string): string {
  const match = /anon key: (\S+)/.exec(output);
  assert.ok(match, "the anon key is printed");
  return match[1]!;
}
