/**
 * The local stack's Postgres wire server (local/wire) in front of the one shared PGlite session:
 * postgres.js, psql and a raw protocol client against it, with in-process callers of the same
 * session at the same time. PGlite boots once for the file (about 4 s); each test starts its own
 * server on a free port and closes it, so every socket is closed before the test ends.
 */
import assert from "node:assert/strict";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import postgres from "postgres";
import { openDatabase } from "../../local/postgres/database.ts";
import {
  concatBytes,
  frontendMessage,
  type Message,
  MessageBuffer,
  queryMessage,
  syncMessage,
} from "../../local/wire/protocol.ts";
import { startWireServer, type WireLogEvent, type WireServer } from "../../local/wire/server.ts";

const migrationsDir = await Deno.makeTempDir();
const { session } = await openDatabase({ migrationsDir });
await session.exec(`
  create table wire_counters (id int primary key, n int not null);
  create table wire_items (id int primary key, label text not null);
`);

const encoder = new TextEncoder();
const decoder = new TextDecoder();

// ---- Helpers --------------------------------------------------------------------------------

interface Wire {
  server: WireServer;
  logs: WireLogEvent[];
  url: string;
  /** A postgres.js client of this server; closed with the server. */
  connect(options?: postgres.Options<Record<string, postgres.PostgresType>>): postgres.Sql;
}

/** Runs `fn` with a fresh server (and its postgres.js clients), closing everything after. */
async function withWire(
  fn: (wire: Wire) => Promise<void>,
  options: { idleInTransactionTimeoutMs?: number } = {},
): Promise<void> {
  const logs: WireLogEvent[] = [];
  const server = await startWireServer({
    session,
    port: 0,
    onLog: (event) => logs.push(event),
    ...options,
  });
  const clients: postgres.Sql[] = [];
  const url = `postgresql://postgres:postgres@127.0.0.1:${server.port}/postgres`;
  try {
    await fn({
      server,
      logs,
      url,
      connect: (clientOptions = {}) => {
        const sql = postgres(url, { max: 4, onnotice: () => {}, ...clientOptions });
        clients.push(sql);
        return sql;
      },
    });
  } finally {
    await Promise.all(clients.map((sql) => sql.end({ timeout: 5 })));
    await server.close();
  }
  assert.equal(session.holder, null, "a wire client still holds the session");
}

/** Resolves with `promise`, or rejects if it takes longer than `ms` (so a broken gate fails fast). */
async function within<T>(ms: number, promise: Promise<T>, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Timed out after ${ms} ms: ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Tracks whether a promise has settled, to assert that something is still waiting. */
function track<T>(promise: Promise<T>): { promise: Promise<T>; settled: () => boolean } {
  let settled = false;
  const tracked = promise.finally(() => (settled = true));
  return { promise: tracked, settled: () => settled };
}

function cstr(text: string): Uint8Array {
  return encoder.encode(text + "\0");
}

function int16(value: number): Uint8Array {
  return Uint8Array.of((value >> 8) & 0xff, value & 0xff);
}

function int32(value: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setInt32(0, value);
  return out;
}

/** The SQLSTATE of an ErrorResponse. */
function sqlState(message: Message): string {
  const body = decoder.decode(message.bytes.subarray(5));
  return /(?:^|\0)C([0-9A-Z]{5})\0/.exec(body)?.[1] ?? "";
}

/**
 * A minimal protocol client: it shows what postgres.js hides (ReadyForQuery statuses, the raw
 * messages) and can do what drivers avoid (disconnect mid-exchange).
 */
class RawClient {
  readonly #conn: Deno.Conn;
  readonly #buffer = new MessageBuffer();
  #closed = false;

  private constructor(conn: Deno.Conn) {
    this.#conn = conn;
  }

  static async connect(port: number, password = "postgres"): Promise<RawClient> {
    const client = new RawClient(await Deno.connect({ hostname: "127.0.0.1", port }));
    const body = concatBytes([
      int32(196608),
      cstr("user"),
      cstr("postgres"),
      cstr("database"),
      cstr("postgres"),
      Uint8Array.of(0),
    ]);
    await client.send(concatBytes([int32(4 + body.length), body]));
    const auth = await client.next();
    assert.equal(auth?.type, "R");
    await client.send(frontendMessage("p", cstr(password)));
    return client;
  }

  async send(...messages: Uint8Array[]): Promise<void> {
    const bytes = concatBytes(messages);
    for (let at = 0; at < bytes.length;) at += await this.#conn.write(bytes.subarray(at));
  }

  /** The next backend message, or null when the server closed the connection. */
  async next(): Promise<Message | null> {
    const chunk = new Uint8Array(16 * 1024);
    for (;;) {
      const message = this.#buffer.takeMessage();
      if (message) return message;
      const read = await this.#conn.read(chunk).catch(() => null);
      if (read === null) return null;
      this.#buffer.push(chunk.subarray(0, read));
    }
  }

  /** Messages up to and including the next ReadyForQuery, and its status. */
  async untilReady(): Promise<{ messages: Message[]; status: string }> {
    const messages: Message[] = [];
    for (;;) {
      const message = await this.next();
      if (message === null) throw new Error("Connection closed before ReadyForQuery");
      messages.push(message);
      if (message.type === "Z") {
        return { messages, status: String.fromCharCode(message.bytes[5]!) };
      }
    }
  }

  /** Runs a simple query; returns the status and the SQLSTATEs of any errors. */
  async query(sql: string): Promise<{ status: string; errors: string[]; messages: Message[] }> {
    await this.send(queryMessage(sql));
    const { messages, status } = await this.untilReady();
    return { status, errors: messages.filter((m) => m.type === "E").map(sqlState), messages };
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#conn.close();
    } catch {
      // already closed
    }
  }
}

function parse(name: string, sql: string): Uint8Array {
  return frontendMessage("P", cstr(name), cstr(sql), int16(0));
}

function bind(statement: string): Uint8Array {
  return frontendMessage("B", cstr(""), cstr(statement), int16(0), int16(0), int16(0));
}

function execute(): Uint8Array {
  return frontendMessage("E", cstr(""), int32(0));
}

function flush(): Uint8Array {
  return frontendMessage("H");
}

async function itemLabels(): Promise<string[]> {
  const { rows } = await session.query<{ label: string }>(
    "select label from wire_items order by id",
  );
  return rows.map((r) => r.label);
}

// ---- Tests ----------------------------------------------------------------------------------

for (const prepare of [true, false]) {
  Deno.test(`four postgres.js connections run concurrent parameterized queries (prepare: ${prepare})`, async () => {
    await withWire(async ({ connect, logs }) => {
      const sql = connect({ max: 4, prepare });
      // Statements with 0, 1, 2 and 3 parameters, interleaved: any Bind landing on another
      // client's unnamed statement fails with "bind message supplies 2 parameters, ...".
      const runs = Array.from({ length: 400 }, async (_, i) => {
        switch (i % 4) {
          case 0: {
            const [row] = await sql`select 7 as n`;
            return row?.n === 7;
          }
          case 1: {
            const [row] = await sql`select ${i}::int as n`;
            return row?.n === i;
          }
          case 2: {
            const [row] = await sql`select ${i}::int + ${1000}::int as n`;
            return row?.n === i + 1000;
          }
          default: {
            const [row] = await sql`select ${i}::int * ${2}::int + ${"1"}::int as n`;
            return row?.n === i * 2 + 1;
          }
        }
      });
      const results = await within(30_000, Promise.all(runs), "400 concurrent queries");
      assert.equal(results.filter((ok) => ok).length, 400);
      assert.equal(logs.filter((e) => e.msg === "Wire client connected").length, 4);
    });
  });
}

Deno.test("concurrent read-modify-write transactions over the wire and in-process lose no update", async () => {
  await session.exec("delete from wire_counters; insert into wire_counters values (1, 0)");
  await withWire(async ({ connect }) => {
    const sql = connect({ max: 4 });
    const wireTransactions = Array.from({ length: 40 }, () =>
      sql.begin(async (tx) => {
        const [row] = await tx`select n from wire_counters where id = 1`;
        await sleep(1); // widen the window a missing gate would lose updates in
        await tx`update wire_counters set n = ${Number(row?.n) + 1} where id = 1`;
      }));
    const inProcess = Array.from({ length: 10 }, () =>
      session.transaction(async (tx) => {
        const { rows } = await tx.query<{ n: number }>("select n from wire_counters where id = 1");
        await tx.query("update wire_counters set n = $1 where id = 1", [rows[0]!.n + 1]);
      }));
    const plainQueries = Array.from({ length: 10 }, () => session.query("select 1"));
    await within(30_000, Promise.all([...wireTransactions, ...inProcess, ...plainQueries]), "mix");
    const { rows } = await session.query<{ n: number }>("select n from wire_counters where id = 1");
    assert.equal(rows[0]?.n, 50);
  });
});

Deno.test("an open wire transaction makes in-process session.query wait until it commits", async () => {
  await session.exec("delete from wire_items");
  await withWire(async ({ connect }) => {
    const sql = connect({ max: 1 });
    let commit!: () => void;
    const inserted = Promise.withResolvers<void>();
    const transaction = sql.begin(async (tx) => {
      await tx`insert into wire_items values (1, 'from the wire')`;
      inserted.resolve();
      await new Promise<void>((resolve) => (commit = resolve));
    });
    await within(5_000, inserted.promise, "wire insert");
    const reader = track(itemLabels());
    await sleep(100);
    assert.equal(reader.settled(), false, "an in-process query ran inside a wire transaction");
    commit();
    await transaction;
    assert.deepEqual(await within(5_000, reader.promise, "in-process read"), ["from the wire"]);
  });
});

Deno.test("an in-process transaction in progress makes a wire query wait", async () => {
  await session.exec("delete from wire_items");
  await withWire(async ({ connect }) => {
    const sql = connect({ max: 1 });
    await sql`select 1`; // connected before the session is taken
    let commit!: () => void;
    const inserted = Promise.withResolvers<void>();
    const transaction = session.transaction(async (tx) => {
      await tx.query("insert into wire_items values (1, 'in-process')");
      inserted.resolve();
      await new Promise<void>((resolve) => (commit = resolve));
    });
    await inserted.promise;
    const reader = track(
      sql`select label from wire_items`.then((rows) => rows.map((r) => r.label)),
    );
    await sleep(100);
    assert.equal(reader.settled(), false, "a wire query ran inside an in-process transaction");
    commit();
    await transaction;
    assert.deepEqual(await within(5_000, reader.promise, "wire read"), ["in-process"]);
  });
});

Deno.test("an error in a wire transaction leaves that client in 'E' until it rolls back", async () => {
  await session.exec("delete from wire_items");
  await withWire(async ({ server, connect }) => {
    const raw = await RawClient.connect(server.port);
    try {
      assert.equal((await raw.untilReady()).status, "I");
      assert.equal((await raw.query("begin")).status, "T");
      assert.equal((await raw.query("insert into wire_items values (1, 'doomed')")).status, "T");
      assert.deepEqual(await raw.query("select 1/0").then((r) => [r.status, r.errors]), [
        "E",
        ["22012"],
      ]);
      assert.deepEqual(await raw.query("select 1").then((r) => [r.status, r.errors]), [
        "E",
        ["25P02"],
      ]);
      // Other parties wait for the failed transaction instead of running inside it.
      const other = connect({ max: 1 });
      const wireReader = track(other`select count(*)::int as n from wire_items`);
      const inProcess = track(itemLabels());
      await sleep(100);
      assert.equal(wireReader.settled() || inProcess.settled(), false);
      assert.equal((await raw.query("rollback")).status, "I");
      const [count] = await within(5_000, wireReader.promise, "wire reader");
      assert.equal(count?.n, 0);
      assert.deepEqual(await within(5_000, inProcess.promise, "in-process reader"), []);
    } finally {
      raw.close();
    }
  });
});

Deno.test("a client that disconnects mid-transaction is rolled back and frees the session", async () => {
  await session.exec("delete from wire_items");
  await withWire(async ({ server }) => {
    const raw = await RawClient.connect(server.port);
    await raw.untilReady();
    await raw.query("begin");
    await raw.query("insert into wire_items values (1, 'abandoned')");
    raw.close();
    assert.deepEqual(await within(5_000, itemLabels(), "read after disconnect"), []);

    // Mid extended-protocol exchange: Parse/Bind/Execute and a Flush, then gone before Sync.
    const half = await RawClient.connect(server.port);
    await half.untilReady();
    await half.send(
      parse("", "insert into wire_items values (2, 'never synced')"),
      bind(""),
      execute(),
      flush(),
    );
    const types: string[] = [];
    for (let m = await half.next(); m && m.type !== "C"; m = await half.next()) types.push(m.type);
    assert.deepEqual(types, ["1", "2"]);
    half.close();
    assert.deepEqual(await within(5_000, itemLabels(), "read after half exchange"), []);
  });
});

Deno.test("a client idle in a transaction past the timeout is ended and rolled back", async () => {
  await session.exec("delete from wire_items");
  await withWire(async ({ server, logs }) => {
    const raw = await RawClient.connect(server.port);
    try {
      await raw.untilReady();
      await raw.query("begin");
      await raw.query("insert into wire_items values (1, 'idle')");
      const started = performance.now();
      assert.deepEqual(await within(5_000, itemLabels(), "read while a client idles"), []);
      assert.ok(performance.now() - started >= 150, "the session was not held");
      const fatal = await raw.next();
      assert.equal(fatal?.type, "E");
      assert.equal(sqlState(fatal!), "25P03");
      assert.match(decoder.decode(fatal!.bytes), /idle-in-transaction timeout/);
      assert.equal(await raw.next(), null);
      assert.ok(logs.some((e) => e.level === "warn" && /idle/.test(e.msg)));
    } finally {
      raw.close();
    }
  }, { idleInTransactionTimeoutMs: 200 });
});

Deno.test("startup: a wrong password and an unknown database are refused", async () => {
  await withWire(async ({ server, connect }) => {
    const wrong = connect({ password: "nope", max: 1 });
    await assert.rejects(wrong`select 1`, (error: unknown) => {
      const e = error as { code?: string; message?: string };
      return e.code === "28P01" && /password authentication failed for user "postgres"/.test(
        e.message ?? "",
      );
    });
    const elsewhere = connect({ database: "other", max: 1 });
    await assert.rejects(elsewhere`select 1`, (error: unknown) => {
      return (error as { code?: string }).code === "3D000";
    });
    const admin = connect({ user: "supabase_admin", max: 1 });
    const [row] = await admin`select 1 as one`;
    assert.equal(row?.one, 1);

    // The startup reply carries the real server version and the client's application_name.
    const raw = await RawClient.connect(server.port);
    try {
      const { messages } = await raw.untilReady();
      const statuses = new Map(
        messages.filter((m) => m.type === "S").map((m) => {
          const [name, value] = decoder.decode(m.bytes.subarray(5)).split("\0");
          return [name!, value!] as const;
        }),
      );
      const { rows } = await session.query<{ v: string }>(
        "select current_setting('server_version') as v",
      );
      assert.equal(statuses.get("server_version"), rows[0]?.v);
      assert.equal(statuses.get("client_encoding"), "UTF8");
      assert.equal(statuses.get("standard_conforming_strings"), "on");
      assert.equal(statuses.get("integer_datetimes"), "on");
    } finally {
      raw.close();
    }
  });
});

Deno.test("select version(), a multi-statement simple query and COPY with postgres.js", async () => {
  await session.exec("delete from wire_items");
  await withWire(async ({ connect }) => {
    const sql = connect({ max: 1 });
    const [version] = await sql`select version()`;
    assert.match(String(version?.version), /PostgreSQL/);

    const results = await sql.unsafe(
      "insert into wire_items values (1, 'a'); select label from wire_items; select 2 as two",
    );
    assert.equal(results.length, 3);
    assert.deepEqual([...results[1]!], [{ label: "a" }]);
    assert.deepEqual([...results[2]!], [{ two: 2 }]);

    const writable = await sql`copy wire_items from stdin`.writable();
    await pipeline(Readable.from(["2\tb\n", "3\tc\n"]), writable);
    assert.deepEqual(await itemLabels(), ["a", "b", "c"]);

    // COPY FROM STDIN inside the extended protocol cannot be served by PGlite: refused cleanly.
    await assert.rejects(sql`copy wire_items from stdin`, (e: unknown) => {
      return (e as { code?: string }).code === "0A000";
    });
    const [after] = await sql`select count(*)::int as n from wire_items`;
    assert.equal(after?.n, 3);
  });
});

Deno.test("messages split across TCP writes, and several in one write, are framed", async () => {
  await withWire(async ({ server }) => {
    const raw = await RawClient.connect(server.port);
    try {
      await raw.untilReady();
      const first = queryMessage("select 1 as a");
      const second = concatBytes([parse("", "select 2 as b"), bind(""), execute(), syncMessage()]);
      await raw.send(first.subarray(0, 3));
      await sleep(20);
      await raw.send(first.subarray(3), second.subarray(0, 9));
      await sleep(20);
      await raw.send(second.subarray(9));
      const one = await raw.untilReady();
      const two = await raw.untilReady();
      assert.deepEqual(one.messages.map((m) => m.type), ["T", "D", "C", "Z"]);
      assert.deepEqual(two.messages.map((m) => m.type), ["1", "2", "D", "C", "Z"]);
    } finally {
      raw.close();
    }
  });
});

Deno.test("an invalid frontend message ends that client only", async () => {
  await withWire(async ({ server }) => {
    const raw = await RawClient.connect(server.port);
    try {
      await raw.untilReady();
      await raw.send(frontendMessage("Z", Uint8Array.of(0x49)));
      const fatal = await raw.next();
      assert.equal(fatal && sqlState(fatal), "08P01");
      assert.equal(await raw.next(), null);
      const { rows } = await session.query<{ n: number }>("select 1 as n");
      assert.equal(rows[0]?.n, 1);
    } finally {
      raw.close();
    }
  });
});

Deno.test("named statements are per client and closed when the client leaves", async () => {
  await withWire(async ({ server }) => {
    const a = await RawClient.connect(server.port);
    const b = await RawClient.connect(server.port);
    try {
      await a.untilReady();
      await b.untilReady();
      await a.send(parse("s1", "select 'from a' as who"), syncMessage());
      await b.send(parse("s1", "select 'from b' as who, 2 as extra"), syncMessage());
      assert.equal((await a.untilReady()).status, "I");
      assert.equal((await b.untilReady()).status, "I");
      for (const [client, who] of [[a, "from a"], [b, "from b"]] as const) {
        await client.send(bind("s1"), execute(), syncMessage());
        const { messages } = await client.untilReady();
        const row = messages.find((m) => m.type === "D");
        assert.ok(row && decoder.decode(row.bytes).includes(who), `${who} got another's statement`);
      }
      const { rows } = await session.query("select name from pg_prepared_statements");
      assert.equal(rows.length, 2);
    } finally {
      a.close();
      b.close();
    }
    await sleep(50);
    const { rows } = await within(
      5_000,
      session.query("select name from pg_prepared_statements"),
      "statements after disconnect",
    );
    assert.deepEqual(rows, []);
  });
});

Deno.test("a role a client leaves behind is reset when it disconnects", async () => {
  await withWire(async ({ server }) => {
    const raw = await RawClient.connect(server.port);
    await raw.untilReady();
    assert.deepEqual((await raw.query("set role anon")).errors, []);
    raw.close();
    await sleep(50);
    const { rows } = await session.query<{ who: string }>("select current_user as who");
    assert.equal(rows[0]?.who, "postgres");
  });
});

Deno.test("close() ends every client, rolling back open transactions", async () => {
  await session.exec("delete from wire_items");
  const logs: WireLogEvent[] = [];
  const server = await startWireServer({ session, port: 0, onLog: (e) => logs.push(e) });
  const raw = await RawClient.connect(server.port);
  try {
    await raw.untilReady();
    await raw.query("begin");
    await raw.query("insert into wire_items values (1, 'open at close')");
    assert.match(session.holder ?? "", /^wire:/);
    await within(5_000, server.close(), "server close");
    assert.equal(session.holder, null);
    assert.deepEqual(await itemLabels(), []);
    assert.equal(await raw.next(), null);
    await assert.rejects(Deno.connect({ hostname: "127.0.0.1", port: server.port }));
  } finally {
    raw.close();
  }
});

const psql = await findPsql();

/** The psql binary when installed (CI machines may not have it). */
async function findPsql(): Promise<string | null> {
  try {
    const { success } = await new Deno.Command("psql", { args: ["--version"] }).output();
    return success ? "psql" : null;
  } catch {
    return null;
  }
}

async function runPsql(url: string, args: string[], stdin?: string) {
  const child = new Deno.Command(psql!, {
    args: [url, "-X", "-v", "ON_ERROR_STOP=1", ...args],
    stdin: stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (stdin !== undefined) {
    const writer = child.stdin.getWriter();
    await writer.write(encoder.encode(stdin));
    await writer.close();
  }
  const output = await child.output();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}

Deno.test({
  name: "psql: -c 'select 1', \\copy in and \\copy out",
  ignore: psql === null,
  fn: async () => {
    await session.exec("delete from wire_items");
    await withWire(async ({ url }) => {
      const one = await runPsql(url, ["-At", "-c", "select 1"]);
      assert.equal(one.code, 0, one.stderr);
      assert.equal(one.stdout.trim(), "1");

      const copyIn = await runPsql(
        url,
        ["-c", "\\copy wire_items from stdin"],
        "1\tx\n2\ty\n\\.\n",
      );
      assert.equal(copyIn.code, 0, copyIn.stderr);
      assert.match(copyIn.stdout, /COPY 2/);

      const copyOut = await runPsql(url, ["-c", "\\copy wire_items to stdout with (format csv)"]);
      assert.equal(copyOut.code, 0, copyOut.stderr);
      assert.equal(copyOut.stdout, "1,x\n2,y\n");

      const bad = await runPsql(
        url,
        ["-c", "\\copy wire_items from stdin"],
        "3\tz\nnot a row\n\\.\n",
      );
      assert.notEqual(bad.code, 0);
      assert.match(bad.stderr, /invalid input syntax|missing data/);
      assert.deepEqual(await itemLabels(), ["x", "y"]);
    });
  },
});

// Keep last: closes the file's session.
Deno.test("teardown: the session closes with no party left holding it", async () => {
  await within(5_000, session.close(), "session close");
  await Deno.remove(migrationsDir, { recursive: true });
});
