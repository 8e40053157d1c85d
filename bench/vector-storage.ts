/**
 * Compares vector(1536) and halfvec(1536) storage for the embeddings columns, on the local
 * stack's Postgres (PGlite + pgvector), and prints ONE JSON object:
 *
 *   npx deno run -A bench/vector-storage.ts [--rows 2500] [--queries 50] [--seed 7]
 *
 * Same synthetic data for both types: clustered, L2-normalised 1536-dimensional embeddings (real
 * embeddings are anisotropic, uniform noise would understate HNSW recall), the queries are noisy
 * copies of stored rows. For each type it measures table and index size, HNSW build time
 * (m = 16, ef_construction = 64, cosine), top-10 query latency through the index
 * (ef_search = 40) and recall@10 against exact search on the float32 values. `ratios` gives
 * halfvec's figures divided by vector's in the same run, and `choice` applies the rule below.
 * supabase/migrations/20261122150000_foundations.sql records the figures and the choice made.
 */
import { parseArgs } from "node:util";
import { openPglite } from "../local/postgres/pglite.ts";

const DIMENSIONS = 1536;
const TOP_K = 10;
const CLUSTERS = 40;

interface TypeFigures {
  table_bytes: number;
  index_bytes: number;
  build_ms: number;
  query_p50_ms: number;
  query_p95_ms: number;
  recall_at_10: number;
}

const { values: args } = parseArgs({
  args: Deno.args,
  options: {
    rows: { type: "string", default: "2500" },
    queries: { type: "string", default: "50" },
    seed: { type: "string", default: "7" },
  },
});
const rows = Number(args.rows);
const queryCount = Number(args.queries);
const random = mulberry32(Number(args.seed));

const started = performance.now();
const pg = await openPglite();
await pg.exec(`
  create schema if not exists extensions;
  create extension if not exists vector with schema extensions;
  set search_path = public, extensions;
  create table items_vector (id int primary key, embedding vector(${DIMENSIONS}) not null);
  create table items_halfvec (id int primary key, embedding halfvec(${DIMENSIONS}) not null);
`);

// Data: CLUSTERS random centres, each row a centre plus gaussian noise, normalised.
const centres = Array.from({ length: CLUSTERS }, () => normalise(gaussianVector(1)));
const data: number[][] = [];
for (let i = 0; i < rows; i++) {
  const centre = centres[i % CLUSTERS]!;
  const noise = gaussianVector(3 / Math.sqrt(DIMENSIONS));
  data.push(normalise(centre.map((c, d) => c + noise[d]!)));
}
const queries = Array.from({ length: queryCount }, () => {
  const base = data[Math.floor(random() * rows)]!;
  const noise = gaussianVector(1 / Math.sqrt(DIMENSIONS));
  return normalise(base.map((c, d) => c + noise[d]!));
});

for (let offset = 0; offset < rows; offset += 250) {
  const batch = data.slice(offset, offset + 250);
  await pg.query(
    `insert into items_vector (id, embedding)
     select offset_id + ordinality::int - 1, literal::vector
     from unnest($1::text[]) with ordinality as literal, (select $2::int as offset_id) o`,
    [batch.map(literal), offset],
  );
}
await pg.exec(
  "insert into items_halfvec (id, embedding) select id, embedding::halfvec from items_vector",
);
// VACUUM refuses multi-statement strings (an implicit transaction), so one call each.
await pg.exec("vacuum analyze items_vector");
await pg.exec("vacuum analyze items_halfvec");

// Ground truth: exact cosine top-10 on the float32 values, before any index exists.
const exact: number[][] = [];
for (const q of queries) {
  const result = await pg.query<{ id: number }>(
    `select id from items_vector order by embedding <=> $1::vector limit ${TOP_K}`,
    [literal(q)],
  );
  exact.push(result.rows.map((r) => r.id));
}

const figures: Record<"vector" | "halfvec", TypeFigures> = {
  vector: await measure("vector", "vector_cosine_ops"),
  halfvec: await measure("halfvec", "halfvec_cosine_ops"),
};
await pg.close();

const v = figures.vector;
const h = figures.halfvec;
const ratios = {
  table_bytes: round(h.table_bytes / v.table_bytes, 3),
  index_bytes: round(h.index_bytes / v.index_bytes, 3),
  build_ms: round(h.build_ms / v.build_ms, 3),
  query_p50_ms: round(h.query_p50_ms / v.query_p50_ms, 3),
  query_p95_ms: round(h.query_p95_ms / v.query_p95_ms, 3),
  recall_at_10: round(h.recall_at_10 / v.recall_at_10, 3),
};
// halfvec wins when it saves a third or more of the space and loses at most one point of recall.
const smaller = ratios.table_bytes + ratios.index_bytes < 2 * (2 / 3);
const recallKept = v.recall_at_10 - h.recall_at_10 <= 0.01;
const choice = smaller && recallKept ? "halfvec" : "vector";

const report = JSON.stringify({
  bench: "vector-storage",
  engine: "pglite + pgvector",
  rows,
  queries: queryCount,
  dimensions: DIMENSIONS,
  index: { method: "hnsw", opclass: "cosine", m: 16, ef_construction: 64, ef_search: 40 },
  vector: v,
  halfvec: h,
  ratios,
  choice,
  reason: `halfvec/vector: table ${ratios.table_bytes}, index ${ratios.index_bytes}, ` +
    `recall ${h.recall_at_10} vs ${v.recall_at_10}`,
  total_ms: Math.round(performance.now() - started),
});
// The report is the bench's output, so it goes straight to stdout (no logger here).
await Deno.stdout.write(new TextEncoder().encode(report + "\n"));

async function measure(type: "vector" | "halfvec", opclass: string): Promise<TypeFigures> {
  const table = `items_${type}`;
  const buildStart = performance.now();
  await pg.exec(
    `create index ${table}_hnsw on ${table} using hnsw (embedding ${opclass})
     with (m = 16, ef_construction = 64)`,
  );
  const buildMs = performance.now() - buildStart;
  const sizes = await pg.query<{ table_bytes: number; index_bytes: number }>(
    `select pg_table_size('${table}')::float8 as table_bytes,
            pg_relation_size('${table}_hnsw')::float8 as index_bytes`,
  );
  await pg.exec("set hnsw.ef_search = 40; set enable_seqscan = off");
  const plan = await pg.query<{ "QUERY PLAN": string }>(
    `explain select id from ${table} order by embedding <=> $1::${type} limit ${TOP_K}`,
    [literal(queries[0]!)],
  );
  if (!plan.rows.some((r) => r["QUERY PLAN"].includes(`${table}_hnsw`))) {
    throw new Error(`The ${type} query does not use its HNSW index`);
  }
  const latencies: number[] = [];
  let found = 0;
  for (const [i, q] of queries.entries()) {
    const t0 = performance.now();
    const result = await pg.query<{ id: number }>(
      `select id from ${table} order by embedding <=> $1::${type} limit ${TOP_K}`,
      [literal(q)],
    );
    latencies.push(performance.now() - t0);
    const truth = new Set(exact[i]);
    found += result.rows.filter((r) => truth.has(r.id)).length;
  }
  await pg.exec("reset hnsw.ef_search; reset enable_seqscan");
  latencies.sort((a, b) => a - b);
  return {
    table_bytes: sizes.rows[0]!.table_bytes,
    index_bytes: sizes.rows[0]!.index_bytes,
    build_ms: Math.round(buildMs),
    query_p50_ms: round(percentile(latencies, 0.5), 2),
    query_p95_ms: round(percentile(latencies, 0.95), 2),
    recall_at_10: round(found / (queries.length * TOP_K), 4),
  };
}

function literal(v: number[]): string {
  return `[${v.map((x) => x.toFixed(6)).join(",")}]`;
}

function gaussianVector(sigma: number): number[] {
  const v = new Array<number>(DIMENSIONS);
  for (let d = 0; d < DIMENSIONS; d += 2) {
    // Box-Muller: two independent standard normals per pair of uniforms.
    const u = Math.max(random(), 1e-12);
    const r = Math.sqrt(-2 * Math.log(u)) * sigma;
    const theta = 2 * Math.PI * random();
    v[d] = r * Math.cos(theta);
    if (d + 1 < DIMENSIONS) v[d + 1] = r * Math.sin(theta);
  }
  return v;
}

function normalise(v: number[]): number[] {
  const norm = Math.sqrt(v.reduce((sum, x) => sum + x * x, 0));
  return v.map((x) => x / norm);
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? 0;
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** A small seeded PRNG, so every run measures the same data. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return function next() {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
