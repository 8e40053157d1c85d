/**
 * Scenarios `vector_search` and `filtered_search` (one data set, built once): 10,000 synthetic
 * 1536-d sections (clustered, seeded) in the product's `document_sections`, 10% of them in one
 * organization and the rest in another, with the product's HNSW index (halfvec, cosine).
 *
 * - vector_search: p50/p95 of `match_document_sections` (the product's RPC, through the index) vs
 *   an exact scan of the same table; `recall_at_10` of the RPC against the exact top 10.
 *   ratio = exact p50 / RPC p50.
 * - filtered_search: the RPC filtered to the 10% organization (the product's settings:
 *   `hnsw.iterative_scan = relaxed_order`) vs the same index query with iterative scans off;
 *   `rows` each returns for k = 10 and `recall_at_10` against the exact filtered top 10.
 *   ratio = baseline p50 / product p50 (below 1: iterative scans cost time to return the full k).
 *
 *   npx deno run -A bench/vector-search.ts [--quick]
 */
import {
  asUser,
  clusteredVectors,
  latency,
  productDatabase,
  QUICK,
  report,
  round,
  seeded,
  seedTenant,
  size,
  timeEach,
  vectorLiteral,
} from "./lib.ts";

const ROWS = size(10_000, 500);
const QUERIES = size(100, 20);
const K = 10;

const db = await productDatabase();
const { session } = db;
try {
  const random = seeded(42);
  const { data, queries } = clusteredVectors(random, ROWS, QUERIES);
  const small = await seedTenant(db, "small");
  const large = await seedTenant(db, "large", small.userId);

  // Load without the index, then build it once (a bulk build is how a restore or a backfill runs).
  await session.exec("drop index if exists public.document_sections_embedding_idx");
  const loadStarted = performance.now();
  for (let offset = 0; offset < ROWS; offset += 500) {
    const batch = data.slice(offset, offset + 500);
    await session.query(
      `insert into public.document_sections (document_id, ordinal, content, token_count, embedding)
       select case when (o.start + b.n) % 10 = 0 then $3::uuid else $4::uuid end,
              o.start + b.n::int, 'section ' || (o.start + b.n), 2, b.v::extensions.halfvec
       from unnest($1::text[]) with ordinality as b(v, n), (select $2::int as start) o`,
      [batch.map(vectorLiteral), offset, small.documentId, large.documentId],
    );
  }
  const loadMs = performance.now() - loadStarted;
  const buildStarted = performance.now();
  await session.exec(
    `create index document_sections_embedding_idx on public.document_sections
     using hnsw (embedding extensions.halfvec_cosine_ops) with (m = 16, ef_construction = 64)`,
  );
  const buildMs = performance.now() - buildStarted;
  await session.exec("analyze public.document_sections");

  // The product's way: the RPC as the owner of both organizations, under RLS.
  const asOwner = <T>(sql: string, params: unknown[]) =>
    asUser(db, small.userId, async (tx) => (await tx.query<T>(sql, params)).rows);
  const exactIds = async (q: string, org?: string) =>
    (await session.query<{ id: string }>(
      `select id from public.document_sections
       where embedding is not null ${org ? "and organization_id = $2" : ""}
       order by (embedding operator(extensions.<=>) $1::extensions.halfvec) + 0 limit ${K}`,
      org ? [q, org] : [q],
    )).rows.map((r) => r.id);
  const rpcIds = async (q: string, org?: string) =>
    (await asOwner<{ id: string }>(
      `select id from public.match_document_sections($1::extensions.halfvec, ${K}, $2::jsonb)`,
      [q, JSON.stringify(org ? { organization_id: org } : {})],
    )).map((r) => r.id);
  const plainIndexIds = async (q: string, org: string) =>
    await session.transaction(async (tx) => {
      await tx.exec("set local hnsw.iterative_scan = off");
      return (await tx.query<{ id: string }>(
        `select id from public.document_sections where organization_id = $2
         order by embedding operator(extensions.<=>) $1::extensions.halfvec limit ${K}`,
        [q, org],
      )).rows.map((r) => r.id);
    });

  const literals = queries.map(vectorLiteral);
  // Warm up caches once per query shape.
  for (const q of literals.slice(0, 3)) {
    await rpcIds(q);
    await exactIds(q);
    await rpcIds(q, small.organizationId);
    await plainIndexIds(q, small.organizationId);
  }

  const recall = (got: string[][], truth: string[][]) =>
    round(
      got.reduce((sum, ids, i) => sum + ids.filter((id) => truth[i]!.includes(id)).length, 0) /
        truth.reduce((sum, ids) => sum + ids.length, 0),
      3,
    );

  const rpcResults: string[][] = [];
  const rpcTimes = await timeEach(literals, async (q) => rpcResults.push(await rpcIds(q)));
  const exactResults: string[][] = [];
  const exactTimes = await timeEach(literals, async (q) => exactResults.push(await exactIds(q)));

  const org = small.organizationId;
  const filteredResults: string[][] = [];
  const filteredTimes = await timeEach(
    literals,
    async (q) => filteredResults.push(await rpcIds(q, org)),
  );
  const plainResults: string[][] = [];
  const plainTimes = await timeEach(
    literals,
    async (q) => plainResults.push(await plainIndexIds(q, org)),
  );
  const exactFiltered: string[][] = [];
  for (const q of literals) exactFiltered.push(await exactIds(q, org));

  const rpc = latency(rpcTimes);
  const exact = latency(exactTimes);
  const filtered = latency(filteredTimes);
  const plain = latency(plainTimes);
  const mean = (lists: string[][]) =>
    round(lists.reduce((s, l) => s + l.length, 0) / lists.length, 2);
  await report({
    vector_search: {
      ratio: round(exact.p50_ms / rpc.p50_ms, 2),
      rows: ROWS,
      queries: QUERIES,
      quick: QUICK,
      hnsw: rpc,
      exact,
      recall_at_10: recall(rpcResults, exactResults),
      load_ms: round(loadMs, 0),
      index_build_ms: round(buildMs, 0),
    },
    filtered_search: {
      ratio: round(plain.p50_ms / filtered.p50_ms, 2),
      rows_in_organization: Math.round(ROWS / 10),
      k: K,
      product: {
        ...filtered,
        rows: mean(filteredResults),
        recall_at_10: recall(filteredResults, exactFiltered),
      },
      without_iterative_scan: {
        ...plain,
        rows: mean(plainResults),
        recall_at_10: recall(plainResults, exactFiltered),
      },
    },
  });
} finally {
  await session.close();
}
