/**
 * What the bench scenarios share: `--quick` sizes, a seeded random source, clustered unit
 * vectors (real embeddings are anisotropic; uniform noise would flatter or punish HNSW), timing
 * and percentiles, the product's database with its migrations, and the one JSON line a scenario
 * prints.
 */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { type Database, openDatabase } from "../local/postgres/database.ts";

export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
export const DIMENSIONS = 1536;

/** True with --quick (or BENCH_QUICK=1): a tenth of the sizes, for a fast look. */
export const QUICK = Deno.args.includes("--quick") || Deno.env.get("BENCH_QUICK") === "1";

/** `full` normally, a tenth of it (at least `min`) with --quick. */
export function size(full: number, min = 1): number {
  return QUICK ? Math.max(min, Math.round(full / 10)) : full;
}

/** A deterministic PRNG (mulberry32). */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function gaussian(random: () => number): number {
  const u = Math.max(random(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
}

export function normalise(v: number[]): number[] {
  const norm = Math.sqrt(v.reduce((s, x) => s + x * x, 0)) || 1;
  return v.map((x) => x / norm);
}

/** `count` unit vectors around `clusters` random centres, and `queries` noisy copies of them. */
export function clusteredVectors(
  random: () => number,
  count: number,
  queries: number,
  clusters = 40,
): { data: number[][]; queries: number[][] } {
  const centre = () => normalise(Array.from({ length: DIMENSIONS }, () => gaussian(random)));
  const centres = Array.from({ length: clusters }, centre);
  const around = (base: number[], spread: number) =>
    normalise(base.map((c) => c + gaussian(random) * spread / Math.sqrt(DIMENSIONS)));
  const data = Array.from({ length: count }, (_, i) => around(centres[i % clusters]!, 3));
  const picked = Array.from(
    { length: queries },
    () => around(data[Math.floor(random() * count)]!, 1),
  );
  return { data, queries: picked };
}

export const vectorLiteral = (v: number[]) => `[${v.map((x) => x.toFixed(6)).join(",")}]`;

export function percentile(samples: number[], p: number): number {
  if (!samples.length) return NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index]!;
}

export function round(value: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/** Times each call; returns milliseconds per call. */
export async function timeEach<T>(items: readonly T[], fn: (item: T) => Promise<unknown>) {
  const samples: number[] = [];
  for (const item of items) {
    const started = performance.now();
    await fn(item);
    samples.push(performance.now() - started);
  }
  return samples;
}

export function latency(samples: number[]) {
  return { p50_ms: round(percentile(samples, 50), 3), p95_ms: round(percentile(samples, 95), 3) };
}

/** The product's database (every migration, no seed) in memory. */
export async function productDatabase(): Promise<Database> {
  return await openDatabase({
    migrationsDir: join(REPO_ROOT, "supabase", "migrations"),
    seedPaths: [],
  });
}

/** What the scenarios that can run on any Postgres use of a database session. */
export interface BenchSession {
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<{ rows: T[] }>;
  exec(sql: string): Promise<unknown>;
  close(): Promise<void>;
}

/**
 * The product's database for scenarios that can also measure a real Postgres: with
 * BENCH_DATABASE_URL, that database (which must have every migration applied, e.g. by
 * `supabase db push`; the scenario writes rows of its own and leaves them) over TCP with
 * postgres.js, as a function talks to it; otherwise PGlite in memory, as productDatabase().
 * `target` names which, for the report.
 */
export async function benchDatabase(): Promise<{ session: BenchSession; target: string }> {
  const url = Deno.env.get("BENCH_DATABASE_URL");
  if (!url) {
    const db = await productDatabase();
    return { session: db.session, target: "pglite" };
  }
  const { default: postgres } = await import("postgres");
  const sql = postgres(url, { max: 1, onnotice: () => {}, prepare: true });
  const [row] = await sql<{ version: string }[]>`select version()`;
  return {
    target: row!.version.split(" on ")[0]!,
    session: {
      query: async <T>(text: string, params: unknown[] = []) => ({
        rows: [...await sql.unsafe(text, params as never[])] as T[],
      }),
      exec: (text: string) => sql.unsafe(text),
      close: () => sql.end(),
    },
  };
}

/** Prints the scenario's one JSON object (the runner reads the last line of stdout). */
export async function report(result: Record<string, unknown>): Promise<void> {
  await Deno.stdout.write(new TextEncoder().encode(JSON.stringify(result) + "\n"));
}

/** A user (fresh unless `userId` is given) owning an organization with one document. */
export async function seedTenant(
  db: { session: Pick<BenchSession, "query"> },
  name: string,
  userId?: string,
): Promise<{ organizationId: string; documentId: string; userId: string }> {
  let user = userId;
  if (!user) {
    const { rows: [created] } = await db.session.query<{ id: string }>(
      `insert into auth.users (id, email, raw_app_meta_data, raw_user_meta_data)
       values (gen_random_uuid(), $1, '{}', '{}') returning id`,
      [`${name}-${crypto.randomUUID()}@bench.test`],
    );
    user = created!.id;
  }
  const { rows: [org] } = await db.session.query<{ id: string }>(
    `insert into public.organizations (name, slug, created_by) values ($1, $2, $3) returning id`,
    [name, `${name}-${crypto.randomUUID().slice(0, 8)}`, user],
  );
  await db.session.query(
    `insert into public.organization_members (organization_id, user_id, role)
     values ($1, $2, 'owner') on conflict do nothing`,
    [org!.id, user],
  );
  const { rows: [doc] } = await db.session.query<{ id: string }>(
    `insert into public.documents (organization_id, created_by, title) values ($1, $2, $3) returning id`,
    [org!.id, user, `${name} corpus`],
  );
  return { organizationId: org!.id, documentId: doc!.id, userId: user };
}

/** Runs `fn` in a transaction as the user, as a function's `asUser` does (RLS applies). */
export function asUser<T>(
  db: Database,
  userId: string,
  fn: (tx: Parameters<Parameters<Database["session"]["transaction"]>[0]>[0]) => Promise<T>,
): Promise<T> {
  return db.session.transaction(async (tx) => {
    const claims = JSON.stringify({ sub: userId, role: "authenticated", aud: "authenticated" });
    await tx.query(
      `select set_config('role', 'authenticated', true), set_config('request.jwt.claims', $1, true),
              set_config('request.jwt.claim.sub', $2, true)`,
      [claims, userId],
    );
    return await fn(tx);
  });
}
