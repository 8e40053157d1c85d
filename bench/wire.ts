/**
 * What the Postgres wire server costs: queries per second of one parameterized statement through
 * postgres.js over the wire (1 and 4 concurrent connections, unnamed and named statements) against
 * the same statement through the in-process session, measured in the same run. Prints one JSON
 * object; ratios are wire / in-process. Runs in about 15 s.
 *
 *   npx deno run -A bench/wire.ts
 */
import postgres from "postgres";
import { openDatabase } from "../local/postgres/database.ts";
import { startWireServer } from "../local/wire/server.ts";

const RUN_MS = 2_000;
const WARMUP_QUERIES = 200;
const STATEMENT = "select $1::int + 1 as n";

interface Run {
  qps: number;
  ratio: number;
}

const migrationsDir = await Deno.makeTempDir();
const { session } = await openDatabase({ migrationsDir });
const server = await startWireServer({ session, port: 0 });
const url = `postgresql://postgres:postgres@127.0.0.1:${server.port}/postgres`;

try {
  const inProcess = await measure(1, () => async (i) => {
    await session.query(STATEMENT, [i]);
  });
  const wire = async (connections: number, prepare: boolean): Promise<Run> => {
    const clients = Array.from(
      { length: connections },
      () => postgres(url, { max: 1, prepare, onnotice: () => {} }),
    );
    try {
      const qps = await measure(connections, (worker) => async (i) => {
        // A tagged query, so `prepare` decides between unnamed and named statements.
        await clients[worker]!`select ${i}::int + 1 as n`;
      });
      return { qps: round(qps), ratio: round(qps / inProcess, 3) };
    } finally {
      await Promise.all(clients.map((sql) => sql.end()));
    }
  };
  const result = {
    bench: "wire",
    statement: STATEMENT,
    run_ms: RUN_MS,
    in_process_qps: round(inProcess),
    wire: {
      unnamed_statements: { n1: await wire(1, false), n4: await wire(4, false) },
      named_statements: { n1: await wire(1, true), n4: await wire(4, true) },
    },
  };
  await Deno.stdout.write(new TextEncoder().encode(JSON.stringify(result) + "\n"));
} finally {
  await server.close();
  await session.close();
  await Deno.remove(migrationsDir, { recursive: true });
}

/**
 * Runs `workers` loops of sequential queries for RUN_MS after a warm-up, returns queries/s summed
 * over the loops. `makeQuery(worker)` gives each loop its query function.
 */
async function measure(
  workers: number,
  makeQuery: (worker: number) => (i: number) => Promise<void>,
): Promise<number> {
  const loops = Array.from({ length: workers }, (_, worker) => makeQuery(worker));
  await Promise.all(loops.map(async (query) => {
    for (let i = 0; i < WARMUP_QUERIES; i++) await query(i);
  }));
  const started = performance.now();
  const deadline = started + RUN_MS;
  const counts = await Promise.all(loops.map(async (query) => {
    let count = 0;
    while (performance.now() < deadline) await query(count++);
    return count;
  }));
  const seconds = (performance.now() - started) / 1000;
  return counts.reduce((a, b) => a + b, 0) / seconds;
}

function round(value: number, digits = 0): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}
