/**
 * The session gate (local/postgres/session.ts): exclusive FIFO leases, transactions that hold the
 * session from BEGIN to the end, errors never silently turned into a rollback, re-entrancy caught,
 * and close() waiting for the holder. PGlite boots once for the file (about 4 s); the last test
 * closes it.
 */
import assert from "node:assert/strict";
import { openDatabase } from "../../local/postgres/database.ts";
import { SessionClosedError } from "../../local/postgres/session.ts";

const migrationsDir = await Deno.makeTempDir();
const { session } = await openDatabase({ migrationsDir });
await session.exec("create table gate_items (id int primary key, label text not null)");

/** Lets pending promise callbacks run (PGlite calls resolve within a few macrotasks). */
function tick(ms = 20): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function labels(): Promise<string[]> {
  const { rows } = await session.query<{ label: string }>(
    "select label from gate_items order by id",
  );
  return rows.map((r) => r.label);
}

Deno.test("leases are granted one at a time, in the order they were asked for", async () => {
  const first = await session.lease("first");
  const order: string[] = [];
  const waiters = ["a", "b", "c", "d"].map(async (owner) => {
    const lease = await session.lease(owner);
    order.push(owner);
    assert.equal(session.holder, owner);
    await tick(1);
    lease.release();
  });
  await tick();
  assert.equal(session.holder, "first");
  assert.equal(session.waiting, 4);
  assert.deepEqual(order, []);
  first.release();
  await Promise.all(waiters);
  assert.deepEqual(order, ["a", "b", "c", "d"]);
  assert.equal(session.holder, null);
});

Deno.test("a lease used after release throws", async () => {
  const lease = await session.lease("late");
  lease.release();
  assert.throws(() => lease.query("select 1"), /used after release/);
});

Deno.test("transaction() commits when its function resolves", async () => {
  await session.exec("delete from gate_items");
  const result = await session.transaction(async (tx) => {
    await tx.query("insert into gate_items values (1, 'one')");
    await tx.query("insert into gate_items values ($1, $2)", [2, "two"]);
    return "done";
  });
  assert.equal(result, "done");
  assert.deepEqual(await labels(), ["one", "two"]);
});

Deno.test("transaction() rolls back and rethrows when its function throws", async () => {
  await session.exec("delete from gate_items");
  await assert.rejects(
    session.transaction(async (tx) => {
      await tx.query("insert into gate_items values (1, 'one')");
      throw new Error("Changed my mind");
    }),
    /Changed my mind/,
  );
  assert.deepEqual(await labels(), []);
  assert.equal(session.holder, null);
});

Deno.test("transaction() throws when a failed statement's error was swallowed", async () => {
  await session.exec("delete from gate_items");
  await assert.rejects(
    session.transaction(async (tx) => {
      await tx.query("insert into gate_items values (1, 'kept?')");
      try {
        await tx.query("insert into gate_items values (1, 'duplicate')");
      } catch {
        // swallowed on purpose: Postgres has aborted the transaction anyway
      }
      return "looks fine";
    }),
    /aborted by an earlier error/,
  );
  assert.deepEqual(await labels(), []);
});

Deno.test("transaction() reports an error raised by COMMIT itself with its SQLSTATE", async () => {
  await session.exec(
    "create table gate_parents (id int primary key);" +
      "create table gate_children (parent_id int references gate_parents (id) " +
      "deferrable initially deferred)",
  );
  await assert.rejects(
    session.transaction(async (tx) => {
      await tx.query("insert into gate_children values (42)");
    }),
    (error: unknown) => (error as { code?: string }).code === "23503",
  );
  const { rows } = await session.query("select * from gate_children");
  assert.equal(rows.length, 0);
});

Deno.test("transaction() holds the session: other parties wait until it ends", async () => {
  await session.exec("delete from gate_items");
  let releaseTx!: () => void;
  const proceed = new Promise<void>((resolve) => (releaseTx = resolve));
  const tx = session.transaction(async (tx) => {
    await tx.query("insert into gate_items values (1, 'inside')");
    await proceed;
  });
  await tick();
  let seen: string[] | null = null;
  const reader = labels().then((rows) => (seen = rows));
  await tick();
  assert.equal(seen, null, "a query ran inside another party's transaction");
  releaseTx();
  await tx;
  await reader;
  assert.deepEqual(seen, ["inside"]);
});

Deno.test("calling the session from inside transaction() throws instead of deadlocking", async () => {
  const outcome = await session.transaction(async (tx) => {
    await assert.rejects(session.query("select 1"), /re-entered/);
    await assert.rejects(session.transaction(() => Promise.resolve()), /re-entered/);
    const { rows } = await tx.query<{ n: number }>("select 1 as n");
    return rows[0]?.n;
  });
  assert.equal(outcome, 1);
  assert.equal(session.holder, null);
});

// Keep this test last: it closes the file's session.
Deno.test("close() waits for the holder, serves earlier waiters and refuses later ones", async () => {
  const holder = await session.lease("holder");
  const earlier = session.query<{ n: number }>("select 1 as n");
  await tick();
  let closed = false;
  const closing = session.close().then(() => (closed = true));
  await tick();
  const later = session.lease("later");
  await tick();
  assert.equal(closed, false);
  holder.release();
  assert.equal((await earlier).rows[0]?.n, 1);
  await closing;
  assert.equal(closed, true);
  await assert.rejects(later, SessionClosedError);
  await assert.rejects(session.query("select 1"), SessionClosedError);
});
