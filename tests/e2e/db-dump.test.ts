/**
 * Dumps without Docker (local/dump.ts, pg_dump in WASM): a schema dump and a data dump of a used
 * stack, restored with psql into a fresh stack that has only the platform (no migrations, no
 * seed), give the same tables with the same row counts; and the data dump alone restores into a
 * fresh stack that has the migrations. The source stack's other clients are unaffected.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createClient } from "@supabase/supabase-js";
import postgres from "postgres";
import { dumpDatabase } from "../../local/dump.ts";
import { type Stack, startStack } from "../../local/stack.ts";

const FIXTURE = fileURLToPath(new URL("../fixtures/project", import.meta.url));

function boot(rootDir: string): Promise<Stack> {
  return startStack({
    rootDir,
    apiPort: 0,
    dbPort: 0,
    dataDir: null,
    workers: false,
    functionLogLevel: "error",
  });
}

/** A copy of the fixture project: without its seed, and optionally without its migrations. */
async function project(options: { migrations: boolean }): Promise<string> {
  const root = await Deno.makeTempDir({ prefix: "dump-target-" });
  await Deno.mkdir(join(root, "supabase", "migrations"), { recursive: true });
  await Deno.copyFile(
    join(FIXTURE, "supabase", "config.toml"),
    join(root, "supabase", "config.toml"),
  );
  if (options.migrations) {
    for await (const entry of Deno.readDir(join(FIXTURE, "supabase", "migrations"))) {
      await Deno.copyFile(
        join(FIXTURE, "supabase", "migrations", entry.name),
        join(root, "supabase", "migrations", entry.name),
      );
    }
  }
  return root;
}

/** Row counts of the tables a restore must bring back. */
async function counts(stack: Stack): Promise<Record<string, number>> {
  const { rows } = await stack.session.query<{ name: string }>(
    `select format('%I.%I', schemaname, tablename) as name from pg_tables
      where schemaname in ('public', 'auth', 'storage') order by 1`,
  );
  const result: Record<string, number> = {};
  for (const { name } of rows) {
    const { rows: [row] } = await stack.session.query<{ n: number }>(
      `select count(*)::int as n from ${name}`,
    );
    result[name] = row!.n;
  }
  return result;
}

async function psql(stack: Stack, file: string): Promise<void> {
  const output = await new Deno.Command("psql", {
    args: ["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", stack.dbUrl, "-f", file],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(output.stderr);
  assert.equal(output.code, 0, `psql -f ${file} failed:\n${text}`);
}

const source = await boot(FIXTURE);
const supabase = createClient(source.apiUrl, source.anonKey, {
  auth: { persistSession: false, autoRefreshToken: false },
});
for (const email of ["dump-a@example.test", "dump-b@example.test"]) {
  const { error } = await supabase.auth.signUp({ email, password: "a-long-password" });
  assert.equal(error, null);
}
await source.session.query("insert into public.pings (source) values ('one'), ('two')");
const work = await Deno.makeTempDir({ prefix: "dump-files-" });

Deno.test("schema and data dumps restore with psql into a fresh platform-only stack", async () => {
  const schemaFile = join(work, "schema.sql");
  const dataFile = join(work, "data.sql");
  await Deno.writeTextFile(schemaFile, await dumpDatabase(source.session));
  await Deno.writeTextFile(dataFile, await dumpDatabase(source.session, { dataOnly: true }));
  const schema = await Deno.readTextFile(schemaFile);
  assert.match(schema, /CREATE TABLE public\.pings/);
  assert.doesNotMatch(schema, /CREATE TABLE auth\.users/);

  const root = await project({ migrations: false });
  const target = await boot(root);
  try {
    assert.equal(
      (await target.session.query("select to_regclass('public.pings') as t")).rows[0]!.t,
      null,
    );
    await psql(target, schemaFile);
    await psql(target, dataFile);
    assert.deepEqual(await counts(target), await counts(source));
  } finally {
    await target.stop();
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("a data dump restores into a fresh stack with the migrations applied", async () => {
  const dataFile = join(work, "data-only.sql");
  await Deno.writeTextFile(dataFile, await dumpDatabase(source.session, { dataOnly: true }));
  const root = await project({ migrations: true });
  const target = await boot(root);
  try {
    await psql(target, dataFile);
    assert.deepEqual(await counts(target), await counts(source));
    // The restored users sign in on the target.
    const client = createClient(target.apiUrl, target.anonKey, {
      auth: { persistSession: false, autoRefreshToken: false },
    });
    const signIn = await client.auth.signInWithPassword({
      email: "dump-a@example.test",
      password: "a-long-password",
    });
    assert.equal(signIn.error, null);
    // The restore's `set search_path = ''` stayed with psql: the API still finds its tables.
    const sql = postgres(target.dbUrl, { max: 1, onnotice: () => {} });
    try {
      const [row] = await sql`select count(*)::int as n from pings`;
      assert.equal(row!.n, 3);
    } finally {
      await sql.end();
    }
  } finally {
    await target.stop();
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("deno task db:dump: from a stopped stack's data folder, and from a running stack", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "dump-data-" });
  const run = async (env: Record<string, string>) => {
    const output = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-all", "local/db-dump.ts", "--data-only"],
      cwd: fileURLToPath(new URL("../../", import.meta.url)),
      env: { LOCAL_DATA_DIR: dataDir, ...env },
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(output.code, 0, new TextDecoder().decode(output.stderr));
    return new TextDecoder().decode(output.stdout);
  };
  const stack = await startStack({
    rootDir: FIXTURE,
    apiPort: 0,
    dbPort: null,
    dataDir,
    workers: false,
  });
  try {
    await stack.session.query("insert into public.pings (source) values ('while running')");
    // The folder is locked by the running stack: the task asks it over HTTP.
    const running = await run({ API_PORT: new URL(stack.apiUrl).port });
    assert.match(running, /INSERT INTO public\.pings .*'while running'/);
  } finally {
    await stack.stop();
  }
  const stopped = await run({});
  assert.match(stopped, /INSERT INTO public\.pings .*'while running'/);
  await Deno.remove(dataDir, { recursive: true });
});

Deno.test("teardown", async () => {
  await source.stop();
  await Deno.remove(work, { recursive: true });
});
