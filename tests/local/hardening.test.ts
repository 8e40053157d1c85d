/**
 * Local-stack hardening (issue 10): default privileges of new objects in public, the data
 * folder's permissions, and deep recursion as a clean error that leaves the database answering.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { openDatabase } from "../../local/postgres/database.ts";
import { secureDataDir } from "../../local/data-dir.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

Deno.test({
  name: "new tables, sequences and functions in public give anon nothing (README's claim)",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const migrations = await Deno.makeTempDir({ prefix: "hardening-" });
    await Deno.writeTextFile(
      join(migrations, "20240101000000_probe.sql"),
      `create table public.probe (id bigserial primary key);
       create sequence public.probe_counter;
       create function public.probe_fn() returns int language sql as 'select 1';
       create procedure public.probe_proc() language sql as 'select 1';`,
    );
    const { session } = await openDatabase({ migrationsDir: migrations });
    try {
      const { rows } = await session.query<Record<string, boolean>>(`
        select
          has_table_privilege('anon', 'public.probe', 'select, insert, update, delete') as table_dml,
          has_table_privilege('anon', 'public.probe', 'truncate') as table_truncate,
          has_table_privilege('anon', 'public.probe', 'trigger') as table_trigger,
          has_table_privilege('anon', 'public.probe', 'references') as table_references,
          has_table_privilege('authenticated', 'public.probe', 'truncate') as authenticated_truncate,
          has_sequence_privilege('anon', 'public.probe_counter', 'update') as sequence_update,
          has_sequence_privilege('anon', 'public.probe_id_seq', 'usage, select, update') as serial_any,
          has_function_privilege('anon', 'public.probe_fn()', 'execute') as function_execute,
          has_function_privilege('anon', 'public.probe_proc()', 'execute') as procedure_execute,
          has_function_privilege('authenticated', 'public.probe_fn()', 'execute') as authenticated_execute,
          has_function_privilege('anon', 'extensions.uuid_generate_v4()', 'execute') as extension_execute
      `);
      assert.deepEqual(rows[0], {
        table_dml: false,
        table_truncate: false,
        table_trigger: false,
        table_references: false,
        authenticated_truncate: false,
        sequence_update: false,
        serial_any: false,
        function_execute: false,
        procedure_execute: false,
        authenticated_execute: false,
        // Extension functions keep PUBLIC's EXECUTE (pgvector's operators need it).
        extension_execute: true,
      });
    } finally {
      await session.close();
      await Deno.remove(migrations, { recursive: true });
    }
  },
});

async function modesUnder(dir: string): Promise<Set<string>> {
  const modes = new Set<string>();
  const walk = async (path: string) => {
    for await (const entry of Deno.readDir(path)) {
      const child = join(path, entry.name);
      const info = await Deno.lstat(child);
      modes.add(`${entry.isDirectory ? "dir" : "file"} ${((info.mode ?? 0) & 0o777).toString(8)}`);
      if (entry.isDirectory) await walk(child);
    }
  };
  await walk(dir);
  return modes;
}

Deno.test({
  name: "the data folder is 0700 and every file in it 0600, also files written after boot",
  ignore: Deno.build.os === "windows",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const root = await Deno.makeTempDir({ prefix: "hardening-data-" });
    const dataDir = join(root, "data");
    try {
      // A folder an older run left world-readable, with a world-writable file in it.
      await Deno.mkdir(join(dataDir, "auth"), { recursive: true, mode: 0o755 });
      await Deno.chmod(dataDir, 0o755);
      await Deno.writeTextFile(join(dataDir, "auth", "old-key.json"), "{}");
      await Deno.chmod(join(dataDir, "auth", "old-key.json"), 0o666);

      await secureDataDir(dataDir);
      const { session } = await openDatabase({
        dataDir: join(dataDir, "pgdata"),
        migrationsDir: join(ROOT, "supabase", "migrations"),
      });
      try {
        // Files PGlite creates after boot: a table, an index, and WAL.
        await session.exec(
          "create table public.later (x int); insert into public.later select generate_series(1, 5000); " +
            "create index on public.later (x); checkpoint;",
        );
      } finally {
        await session.close();
      }
      await Deno.writeTextFile(join(dataDir, "written-after-boot"), "secret");

      assert.equal(((await Deno.stat(dataDir)).mode ?? 0) & 0o777, 0o700);
      assert.deepEqual(await modesUnder(dataDir), new Set(["dir 700", "file 600"]));
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  },
});

/** The V8 flags `deno task start` runs the stack with (deno.json). */
async function startTaskV8Flags(): Promise<string[]> {
  const config = JSON.parse(await Deno.readTextFile(join(ROOT, "deno.json")));
  const command: string = config.tasks.start.command ?? config.tasks.start;
  return command.split(/\s+/).filter((part) => part.startsWith("--v8-flags="));
}

Deno.test({
  name:
    "deep recursion in SQL is a clean error and the database still answers (as deno task start runs it)",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    // In a child process with the start task's V8 flags: `deno test` runs tests on threads with a
    // smaller stack than `deno run` has.
    const probe = `
      import { openPglite } from ${JSON.stringify(join(ROOT, "local/postgres/pglite.ts"))};
      const pg = await openPglite();
      await pg.exec("create function public.down(n int) returns int language sql as 'select case when n = 0 then 0 else public.down(n - 1) + 1 end'");
      await pg.exec("create function public.down_plpgsql(n int) returns int language plpgsql as 'begin if n = 0 then return 0; end if; return public.down_plpgsql(n - 1) + 1; end'");
      const statements = {
        sql_function: "select public.down(1000000)",
        plpgsql_function: "select public.down_plpgsql(1000000)",
        nested_jsonb: "select (repeat('[', 10000) || repeat(']', 10000))::jsonb",
        nested_expression: "select " + Array(100000).fill("1").join(" + "),
      };
      const outcome = {};
      for (const [name, sql] of Object.entries(statements)) {
        try { await pg.query(sql); outcome[name] = "no error"; }
        catch (error) { outcome[name] = error.code + " " + error.message; }
        outcome[name + "_then"] = (await pg.query("select 1 as alive")).rows[0]?.alive ?? null;
      }
      outcome.max_stack_depth = (await pg.query("show max_stack_depth")).rows[0].max_stack_depth;
      console.log(JSON.stringify(outcome));
      await pg.close();
    `;
    const script = join(await Deno.makeTempDir({ prefix: "hardening-probe-" }), "probe.ts");
    await Deno.writeTextFile(script, probe);
    try {
      const output = await new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "--allow-all",
          "--config",
          join(ROOT, "deno.json"),
          ...(await startTaskV8Flags()),
          script,
        ],
        cwd: ROOT,
        stdout: "piped",
        stderr: "piped",
      }).output();
      const stdout = new TextDecoder().decode(output.stdout).trim();
      assert.equal(output.code, 0, new TextDecoder().decode(output.stderr));
      const outcome = JSON.parse(stdout.split("\n").at(-1)!);
      const stackError = "54001 stack depth limit exceeded";
      assert.deepEqual(outcome, {
        sql_function: stackError,
        sql_function_then: 1,
        plpgsql_function: stackError,
        plpgsql_function_then: 1,
        nested_jsonb: stackError,
        nested_jsonb_then: 1,
        nested_expression: stackError,
        nested_expression_then: 1,
        max_stack_depth: "100kB",
      });
    } finally {
      await Deno.remove(join(script, ".."), { recursive: true });
    }
  },
});
