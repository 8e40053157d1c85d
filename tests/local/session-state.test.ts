/**
 * One PGlite session shared by many parties must look like many sessions: a wire client's
 * session-level state (search_path, DISCARD ALL, custom settings such as request.jwt.claim.sub,
 * roles) never reaches another client or the in-process API, yet lasts for the client that set it;
 * and a wire client holding a transaction makes in-process callers fail with session_busy after the
 * bound, with the holder logged, instead of hanging. PGlite boots once for the file.
 */
import assert from "node:assert/strict";
import postgres from "postgres";
import { openDatabase } from "../../local/postgres/database.ts";
import { isSessionBusy, type SessionLogEvent } from "../../local/postgres/session.ts";
import { startWireServer } from "../../local/wire/server.ts";

const migrationsDir = await Deno.makeTempDir();
await Deno.writeTextFile(
  `${migrationsDir}/20260101000000_items.sql`,
  "create extension if not exists vector with schema extensions;\n" +
    "create table public.state_items (id int primary key, embedding extensions.vector(3));\n" +
    "insert into public.state_items values (1, '[1,2,3]');",
);
const { session } = await openDatabase({ migrationsDir });

async function withClients(
  fn: (a: postgres.Sql, b: postgres.Sql, url: string) => Promise<void>,
): Promise<void> {
  const server = await startWireServer({ session, port: 0, waitTimeoutMs: 400 });
  const url = `postgresql://postgres:postgres@127.0.0.1:${server.port}/postgres`;
  const a = postgres(url, { max: 1, onnotice: () => {}, prepare: false });
  const b = postgres(url, { max: 1, onnotice: () => {} });
  try {
    await fn(a, b, url);
  } finally {
    await Promise.all([a.end(), b.end()]);
    await server.close();
  }
}

/** What an unqualified query of the API sees: the table through search_path, a vector cast. */
async function apiSees(): Promise<{ count: number; distance: number; user: string }> {
  const { rows } = await session.query<{ count: number; distance: number; user: string }>(
    "select count(*)::int as count, min(embedding <-> '[1,2,4]'::vector) as distance, " +
      "current_user as user from state_items",
  );
  return rows[0]!;
}

const baseline = { count: 1, distance: 1, user: "postgres" };

Deno.test("a client's search_path stays with that client, never with the API or another client", async () => {
  await withClients(async (a, b) => {
    await a.unsafe("set search_path = pg_catalog");
    assert.deepEqual(await apiSees(), baseline);
    const [fromB] = await b`select count(*)::int as count from state_items`;
    assert.equal(fromB!.count, 1);
    const [own] = await a`show search_path`;
    assert.equal(own!.search_path, "pg_catalog");
    await assert.rejects(a`select count(*) from state_items`, /does not exist/);
  });
  assert.deepEqual(await apiSees(), baseline);
});

Deno.test("DISCARD ALL by one client leaves vector casts and public tables to everyone else", async () => {
  await withClients(async (a, b) => {
    await a.unsafe("discard all");
    assert.deepEqual(await apiSees(), baseline);
    const [fromB] = await b`select '[1,2,3]'::vector <-> '[1,2,3]'::vector as d`;
    assert.equal(fromB!.d, 0);
  });
});

Deno.test("request.jwt.claim.sub set by one client is not seen by the API or another client", async () => {
  const sub = "00000000-0000-4000-8000-00000000abcd";
  await withClients(async (a, b) => {
    await a.unsafe(`set request.jwt.claim.sub = '${sub}'`);
    await a.unsafe(`select set_config('request.jwt.claims', '{"role":"service_role"}', false)`);
    const read = "select coalesce(current_setting('request.jwt.claim.sub', true), '') as sub, " +
      "coalesce(current_setting('request.jwt.claims', true), '') as claims";
    const { rows } = await session.query<{ sub: string; claims: string }>(read);
    assert.deepEqual(rows[0], { sub: "", claims: "" });
    const [fromB] = await b.unsafe(read);
    assert.deepEqual({ ...fromB }, { sub: "", claims: "" });
    const [own] = await a.unsafe(read);
    assert.deepEqual({ ...own }, { sub, claims: '{"role":"service_role"}' });
  });
});

Deno.test("SET ROLE and SET SESSION AUTHORIZATION stay with the client and end with it", async () => {
  await withClients(async (a, b) => {
    await a.unsafe("set session authorization authenticator; set role anon");
    assert.deepEqual(await apiSees(), baseline);
    const [fromB] = await b`select current_user as u, session_user as s`;
    assert.deepEqual({ ...fromB }, { u: "postgres", s: "postgres" });
    const [own] = await a`select current_user as u, session_user as s`;
    assert.deepEqual({ ...own }, { u: "anon", s: "authenticator" });
  });
  const { rows } = await session.query("select current_user as u, session_user as s");
  assert.deepEqual(rows[0], { u: "postgres", s: "postgres" });
});

Deno.test("a pg_cron job's session-level set stays with the cron party", async () => {
  const lease = await session.lease("cron:1", { party: "pg_cron" });
  try {
    await lease.exec("set search_path = pg_catalog; set role anon");
  } finally {
    lease.release();
  }
  assert.deepEqual(await apiSees(), baseline);
});

Deno.test("a client idle in a transaction: API callers get session_busy after the bound, holder logged", async () => {
  const logs: SessionLogEvent[] = [];
  session.setWaitPolicy({ waitTimeoutMs: 400, waitLogIntervalMs: 100, log: (e) => logs.push(e) });
  try {
    await withClients(async (a, _b, url) => {
      const reserved = await a.reserve();
      try {
        await reserved`begin`;
        await reserved`select 1`;
        const error = await session.query("select 1").then(() => null, (e) => e);
        assert.ok(isSessionBusy(error), `expected session_busy, got ${error}`);
        assert.match(
          error.message,
          /"wire:\d+ \(postgres\.js 127\.0\.0\.1:\d+\)" has held its one session/,
        );
        assert.ok(
          logs.some((e) =>
            e.msg === "Waiting for the database session" && /^wire:/.test(String(e.holder))
          ),
          JSON.stringify(logs),
        );
        // Another wire client, with the server's optional bound, gets an error instead of
        // waiting; its connection stays usable.
        const other = postgres(url, { max: 1, onnotice: () => {}, fetch_types: false });
        try {
          const refused = await other`select 1`.then(() => null, (e) => e);
          assert.equal(refused?.code, "57P03", String(refused));
          assert.match(refused.message, /local database is busy/);
          await reserved`rollback`;
          const [row] = await other`select 2 as n`;
          assert.equal(row!.n, 2);
        } finally {
          await other.end();
        }
      } finally {
        reserved.release();
      }
      // Once the transaction ends, the API is served again.
      assert.deepEqual(await apiSees(), baseline);
    });
  } finally {
    session.setWaitPolicy({ waitTimeoutMs: null });
  }
});

Deno.test("teardown", async () => {
  await session.close();
});
