/**
 * The migration runner: files in name order, each applied once and recorded in
 * supabase_migrations.schema_migrations; a failing file stops the boot with its name and the
 * Postgres error and leaves nothing of itself behind; the seed runs on a fresh database only.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { openDatabase, SqlFileError } from "../../local/postgres/database.ts";

async function write(dir: string, file: string, sql: string) {
  await Deno.writeTextFile(join(dir, file), sql);
}

Deno.test("migrations are applied in order, once each; failures leave nothing behind", async () => {
  const root = await Deno.makeTempDir({ prefix: "migrations-" });
  const migrations = join(root, "migrations");
  const dataDir = join(root, "pgdata");
  const seed = join(root, "seed.sql");
  await Deno.mkdir(migrations);
  await write(
    migrations,
    "20240102000000_second.sql",
    "alter table public.items add column note text;",
  );
  await write(
    migrations,
    "20240101000000_first.sql",
    "create table public.items (id int primary key);",
  );
  await write(migrations, "README.md", "not a migration");
  await Deno.writeTextFile(seed, "insert into public.items (id, note) values (1, 'seeded');");
  const options = { dataDir, migrationsDir: migrations, seedPaths: [seed] };

  try {
    const first = await openDatabase(options);
    assert.equal(first.fresh, true);
    assert.deepEqual(first.applied, ["20240101000000_first.sql", "20240102000000_second.sql"]);
    const recorded = await first.session.query<{ version: string; name: string }>(
      "select version, name from supabase_migrations.schema_migrations order by version",
    );
    assert.deepEqual(recorded.rows, [
      { version: "20240101000000", name: "first" },
      { version: "20240102000000", name: "second" },
    ]);
    await first.session.close();

    // A new file that fails half-way: the boot stops and names the file, line and error.
    await write(
      migrations,
      "20240103000000_third.sql",
      "create table public.notes (id int);\n\ninsert into public.nowhere values (1);\n",
    );
    await assert.rejects(openDatabase(options), (error: unknown) => {
      assert.ok(error instanceof SqlFileError);
      assert.match(
        error.message,
        /20240103000000_third\.sql failed: relation "public\.nowhere" does not exist/,
      );
      assert.match(error.message, /SQLSTATE 42P01/);
      assert.match(error.message, /at line 3: insert into public\.nowhere/);
      return true;
    });

    // Fixed, it is applied alone; nothing of the failed attempt remains; no seed the second time.
    await write(migrations, "20240103000000_third.sql", "create table public.notes (id int);");
    const third = await openDatabase(options);
    assert.equal(third.fresh, false);
    assert.deepEqual(third.applied, ["20240103000000_third.sql"]);
    const items = await third.session.query("select id, note from public.items");
    assert.deepEqual(items.rows, [{ id: 1, note: "seeded" }]);
    const count = await third.session.query<{ n: number }>(
      "select count(*)::int as n from supabase_migrations.schema_migrations",
    );
    assert.equal(count.rows[0]!.n, 3);
    await third.session.close();
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("migrations cannot create objects in platform schemas, as on hosted Supabase", async () => {
  const migrations = await Deno.makeTempDir();
  try {
    await write(
      migrations,
      "20240101000000_bad.sql",
      "create function auth.is_admin() returns bool language sql as 'select true';",
    );
    await assert.rejects(
      openDatabase({ migrationsDir: migrations }),
      /CREATE FUNCTION auth\.is_admin\(\): migrations cannot create or change objects in schema "auth"/,
    );
  } finally {
    await Deno.remove(migrations, { recursive: true });
  }
});

Deno.test("new tables in public are not granted to the API roles (auto_expose_new_tables = false)", async () => {
  const migrations = await Deno.makeTempDir();
  try {
    await write(
      migrations,
      "20240101000000_tables.sql",
      `create table public.hidden (id int);
       create table public.shown (id int);
       grant select on public.shown to authenticated;
       create function public.f() returns int language sql as 'select 1';
       create trigger on_signup after insert on auth.users for each row execute function public.noop();`
        .replace(
          "create trigger",
          "create function public.noop() returns trigger language plpgsql as 'begin return new; end';\ncreate trigger",
        ),
    );
    const { session } = await openDatabase({ migrationsDir: migrations });
    try {
      const { rows } = await session.query<Record<string, boolean>>(
        `select has_table_privilege('authenticated', 'public.hidden', 'select') as hidden,
                has_table_privilege('anon', 'public.hidden', 'select') as hidden_anon,
                has_table_privilege('authenticated', 'public.shown', 'select') as shown`,
      );
      assert.deepEqual(rows[0], { hidden: false, hidden_anon: false, shown: true });
    } finally {
      await session.close();
    }
  } finally {
    await Deno.remove(migrations, { recursive: true });
  }
});
