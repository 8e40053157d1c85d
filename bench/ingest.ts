/**
 * Scenario `ingest`: sections per second through the product's batched write path
 * (`private.write_document_sections(document_id, sections)`, what file-processor calls: one
 * statement per document) vs one INSERT per section, for the same sections with embeddings.
 * ratio = batched sections/s / per-row sections/s.
 *
 *   npx deno run -A bench/ingest.ts [--quick]
 */
import {
  clusteredVectors,
  productDatabase,
  QUICK,
  report,
  round,
  seeded,
  seedTenant,
  size,
  vectorLiteral,
} from "./lib.ts";

const DOCUMENTS = size(20, 2);
const SECTIONS_PER_DOCUMENT = 100;

const db = await productDatabase();
const { session } = db;
try {
  const random = seeded(7);
  const total = DOCUMENTS * SECTIONS_PER_DOCUMENT;
  const { data } = clusteredVectors(random, total, 0);
  const tenant = await seedTenant(db, "ingest");
  const newDocument = async (title: string) =>
    (await session.query<{ id: string }>(
      `insert into public.documents (organization_id, created_by, title) values ($1, $2, $3)
       returning id`,
      [tenant.organizationId, tenant.userId, title],
    )).rows[0]!.id;
  const section = (i: number) => ({
    ordinal: i % SECTIONS_PER_DOCUMENT,
    heading: `Heading ${i}`,
    heading_path: ["Guide", `Heading ${i}`],
    page: null,
    content: `Section ${i}: ${"lorem ipsum dolor sit amet ".repeat(20)}`,
    token_count: 120,
    embedding: vectorLiteral(data[i]!),
    embedding_model: "local-embed-v1",
  });

  // Product: one call per document.
  const batchedStarted = performance.now();
  for (let d = 0; d < DOCUMENTS; d++) {
    const id = await newDocument(`batched ${d}`);
    const sections = Array.from(
      { length: SECTIONS_PER_DOCUMENT },
      (_, j) => section(d * SECTIONS_PER_DOCUMENT + j),
    );
    await session.query("select private.write_document_sections($1, $2::jsonb)", [
      id,
      JSON.stringify(sections),
    ]);
  }
  const batchedMs = performance.now() - batchedStarted;

  // Baseline: one INSERT statement per section.
  const perRowStarted = performance.now();
  for (let d = 0; d < DOCUMENTS; d++) {
    const id = await newDocument(`per-row ${d}`);
    for (let j = 0; j < SECTIONS_PER_DOCUMENT; j++) {
      const s = section(d * SECTIONS_PER_DOCUMENT + j);
      await session.query(
        `insert into public.document_sections
           (document_id, ordinal, heading, heading_path, content, token_count, embedding, embedding_model)
         values ($1, $2, $3, $4, $5, $6, $7::extensions.halfvec, $8)`,
        [
          id,
          s.ordinal,
          s.heading,
          s.heading_path,
          s.content,
          s.token_count,
          s.embedding,
          s.embedding_model,
        ],
      );
    }
  }
  const perRowMs = performance.now() - perRowStarted;

  const { rows: [count] } = await session.query<{ n: number }>(
    "select count(*)::int as n from public.document_sections where embedding is not null",
  );
  if (count!.n !== 2 * total) throw new Error(`expected ${2 * total} sections, found ${count!.n}`);
  const batchedRate = total / (batchedMs / 1000);
  const perRowRate = total / (perRowMs / 1000);
  await report({
    ingest: {
      ratio: round(batchedRate / perRowRate, 2),
      sections: total,
      quick: QUICK,
      batched: {
        sections_per_s: round(batchedRate, 1),
        ms: round(batchedMs, 0),
        statements: DOCUMENTS,
      },
      per_row: { sections_per_s: round(perRowRate, 1), ms: round(perRowMs, 0), statements: total },
    },
  });
} finally {
  await session.close();
}
