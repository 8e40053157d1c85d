/**
 * The db port's contract, checked on both drivers with the same assertions: the in-process driver
 * the local stack hands to functions, and postgres.js (the hosted driver) through the local stack's
 * Postgres wire port. asUser must behave as PostgREST does for a request, so RLS decides.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { createDb, type Db } from "../../supabase/functions/_shared/db/mod.ts";
import { createPostgresDriver } from "../../supabase/functions/_shared/db/postgres.ts";
import { createSessionDriver } from "../../supabase/functions/_shared/db/session.ts";
import { openDatabase } from "../../local/postgres/database.ts";
import { startWireServer } from "../../local/wire/server.ts";

const ALICE = "11111111-1111-4111-8111-111111111111";
const BOB = "22222222-2222-4222-8222-222222222222";
const claimsOf = (sub: string) => ({
  sub,
  role: "authenticated",
  aud: "authenticated",
  email: `${sub.slice(0, 2)}@test`,
});

const MIGRATION = `
create table public.notes (
  id bigint generated always as identity primary key,
  owner uuid not null default auth.uid(),
  body text not null,
  meta jsonb not null default '{}',
  tags text[] not null default '{}',
  created_at timestamptz not null default now()
);
alter table public.notes enable row level security;
grant select, insert, update, delete on public.notes to authenticated, service_role;
create policy "Users can read their own notes" on public.notes
  for select to authenticated using ((select auth.uid()) = owner);
create policy "Users can add their own notes" on public.notes
  for insert to authenticated with check ((select auth.uid()) = owner);
`;

Deno.test("db drivers", async (t) => {
  const migrations = await Deno.makeTempDir();
  await Deno.writeTextFile(join(migrations, "20240101000000_notes.sql"), MIGRATION);
  const { session } = await openDatabase({ migrationsDir: migrations });
  const wire = await startWireServer({ session, port: 0 });
  const drivers: Array<[string, Db]> = [
    ["in-process", createDb(createSessionDriver(session))],
    [
      "postgres.js over the wire",
      createDb(
        createPostgresDriver(`postgresql://postgres:postgres@127.0.0.1:${wire.port}/postgres`),
      ),
    ],
  ];

  try {
    for (const [name, db] of drivers) {
      await session.exec("truncate public.notes");

      await t.step(`${name}: asUser runs as authenticated with the caller's claims`, async () => {
        const [row] = await db.asUser(
          claimsOf(ALICE),
          (tx) =>
            tx.query<{ role: string; uid: string; email: string; claims: { sub: string } }>(
              "select current_user as role, auth.uid() as uid, auth.email() as email, auth.jwt() as claims",
            ),
        );
        assert.equal(row?.role, "authenticated");
        assert.equal(row?.uid, ALICE);
        assert.equal(row?.email, "11@test");
        assert.equal(row?.claims.sub, ALICE);
      });

      await t.step(`${name}: RLS decides what each user sees`, async () => {
        await db.asUser(
          claimsOf(ALICE),
          (tx) => tx.query("insert into public.notes (body) values ('alice note')"),
        );
        await db.asUser(
          claimsOf(BOB),
          (tx) => tx.query("insert into public.notes (body) values ('bob note')"),
        );
        const alice = await db.asUser(
          claimsOf(ALICE),
          (tx) => tx.query("select body from public.notes"),
        );
        assert.deepEqual(alice, [{ body: "alice note" }]);
        await assert.rejects(
          db.asUser(
            claimsOf(BOB),
            (tx) =>
              tx.query("insert into public.notes (owner, body) values ($1, 'forged')", [ALICE]),
          ),
          (e: { code?: string }) => e.code === "42501",
        );
      });

      await t.step(`${name}: asService sees every row; the role does not leak`, async () => {
        const rows = await db.asService((tx) =>
          tx.query<{ n: number; role: string }>(
            "select count(*)::int8 as n, current_user as role from public.notes",
          )
        );
        assert.deepEqual(rows, [{ n: 2, role: "service_role" }]);
        const [after] = await session.query<{ role: string }>("select current_user as role").then((
          r,
        ) => r.rows);
        assert.equal(after?.role, "postgres");
      });

      await t.step(`${name}: asUser refuses service_role claims`, async () => {
        await assert.rejects(
          db.asUser({ role: "service_role" }, () => Promise.resolve()),
          /asService/,
        );
      });

      await t.step(`${name}: a throw rolls the whole transaction back`, async () => {
        await assert.rejects(
          db.asUser(claimsOf(ALICE), async (tx) => {
            await tx.query("insert into public.notes (body) values ('never')");
            throw new Error("stop");
          }),
          /stop/,
        );
        const rows = await db.asService((tx) =>
          tx.query("select 1 from public.notes where body = 'never'")
        );
        assert.equal(rows.length, 0);
      });

      await t.step(`${name}: parameters and results have the same types`, async () => {
        const [row] = await db.asUser(claimsOf(ALICE), (tx) =>
          tx.query<{
            id: number;
            meta: { a: number[] };
            tags: string[];
            created_at: Date;
            big: number;
            vec: string;
          }>(
            `insert into public.notes (body, meta, tags) values ($1, $2, $3)
             returning id, meta, tags, created_at, 9007199254740991::int8 as big,
                       $4::text as vec`,
            ["typed", { a: [1, 2] }, ["x", "y"], "[0.5,0.25]"],
          ));
        assert.equal(typeof row?.id, "number");
        assert.deepEqual(row?.meta, { a: [1, 2] });
        assert.deepEqual(row?.tags, ["x", "y"]);
        assert.ok(row?.created_at instanceof Date);
        assert.equal(row?.big, 9007199254740991);
        assert.equal(row?.vec, "[0.5,0.25]");
      });

      await t.step(`${name}: JSON text given for a jsonb parameter is read as JSON`, async () => {
        const rows = await db.asService((tx) =>
          tx.query<{ n: number; b: number }>(
            "select count(*)::int as n, sum(x.b)::int as b from jsonb_to_recordset($1::jsonb) as x(b int)",
            [JSON.stringify([{ b: 1 }, { b: 2 }])],
          )
        );
        assert.deepEqual(rows, [{ n: 2, b: 3 }]);
      });
    }
  } finally {
    for (const [, db] of drivers) await db.close();
    await wire.close();
    await session.close();
    await Deno.remove(migrations, { recursive: true });
  }
});
