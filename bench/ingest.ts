/**
 * Scenario `ingest`: sections per second through the product's batched write path
 * (`private.write_document_sections(document_id, sections)`, what file-processor calls: one
 * statement per document) vs one INSERT per section, for sections with embeddings.
 * ratio = batched sections/s / per-row sections/s.
 *
 * Every section carries its own vector: pgvector files a vector equal to one already in the
 * index as a duplicate of that element, without the graph search an insertion costs, so a
 * baseline that re-inserted the product side's vectors would be measured several times too fast
 * (an earlier version of this scenario did exactly that). The two sides alternate document by
 * document, so that both insert into an index of the same size.
 *
 * Besides the ratio:
 * - `without_index`: the same comparison with the HNSW index dropped (new documents): what the
 *   write path costs apart from the index maintenance, i.e. what batching can save at most.
 * - `reingest`: re-processing a document of which a tenth of the sections changed, the product's
 *   way (the same call: unchanged sections are left alone and keep their embeddings) vs deleting
 *   the document's sections and inserting them all again one by one.
 *
 * With BENCH_DATABASE_URL it measures that Postgres instead of PGlite (see benchDatabase()).
 *
 *   npx deno run -A bench/ingest.ts [--quick]
 */
import {
  benchDatabase,
  clusteredVectors,
  QUICK,
  report,
  round,
  seeded,
  seedTenant,
  size,
  vectorLiteral,
} from "./lib.ts";

const DOCUMENTS = size(10, 2);
const SECTIONS = size(50, 20);
const REINGESTED = size(4, 1);
const CHANGED = Math.max(1, Math.round(SECTIONS / 10));

interface Section {
  ordinal: number;
  heading: string;
  heading_path: string[];
  page: null;
  content: string;
  token_count: number;
  embedding: string;
  embedding_model: string;
}

const db = await benchDatabase();
const { session, target } = db;
try {
  // Vectors for: both sides with the index, both without, and the re-ingest's changed sections.
  const needed = 4 * DOCUMENTS * SECTIONS + 2 * REINGESTED * CHANGED;
  const { data } = clusteredVectors(seeded(7), needed, 0);
  let nextVector = 0;
  const tenant = await seedTenant(db, "ingest");

  const newDocument = async (title: string) =>
    (await session.query<{ id: string }>(
      `insert into public.documents (organization_id, created_by, title) values ($1, $2, $3)
       returning id`,
      [tenant.organizationId, tenant.userId, title],
    )).rows[0]!.id;
  const section = (ordinal: number, text: string): Section => ({
    ordinal,
    heading: `Heading ${ordinal}`,
    heading_path: ["Guide", `Heading ${ordinal}`],
    page: null,
    content: `${text} ${ordinal}: ${"lorem ipsum dolor sit amet ".repeat(20)}`,
    token_count: 120,
    embedding: vectorLiteral(data[nextVector++]!),
    embedding_model: "local-embed-v1",
  });
  const sections = (text: string) =>
    Array.from({ length: SECTIONS }, (_, ordinal) => section(ordinal, text));

  /** The product's way: one call per document. */
  const writeBatched = async (documentId: string, list: Section[]) =>
    await session.query("select private.write_document_sections($1, $2::text::jsonb)", [
      documentId,
      JSON.stringify(list),
    ]);
  /** The baseline: one INSERT statement per section. */
  const insertEach = async (documentId: string, list: Section[]) => {
    for (const s of list) {
      await session.query(
        `insert into public.document_sections
           (document_id, ordinal, heading, heading_path, content, token_count, embedding, embedding_model)
         values ($1, $2, $3, $4, $5, $6, $7::extensions.halfvec, $8)`,
        [
          documentId,
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
  };

  /** Both ways, alternating document by document; milliseconds spent by each. */
  const compare = async (label: string) => {
    let batchedMs = 0;
    let perRowMs = 0;
    const documents: { batched: string; perRow: string; text: string }[] = [];
    for (let d = 0; d < DOCUMENTS; d++) {
      const text = `${label} ${d}`;
      const batched = await newDocument(`batched ${text}`);
      const perRow = await newDocument(`per-row ${text}`);
      let started = performance.now();
      await writeBatched(batched, sections(text));
      batchedMs += performance.now() - started;
      started = performance.now();
      await insertEach(perRow, sections(text));
      perRowMs += performance.now() - started;
      documents.push({ batched, perRow, text });
    }
    const total = DOCUMENTS * SECTIONS;
    const batchedRate = total / (batchedMs / 1000);
    const perRowRate = total / (perRowMs / 1000);
    return {
      documents,
      figures: {
        ratio: round(batchedRate / perRowRate, 2),
        batched: {
          sections_per_s: round(batchedRate, 1),
          ms: round(batchedMs, 0),
          statements: DOCUMENTS,
        },
        per_row: {
          sections_per_s: round(perRowRate, 1),
          ms: round(perRowMs, 0),
          statements: total,
        },
      },
    };
  };

  const withIndex = await compare("indexed");

  // Re-processing edited documents (index in place): a tenth of each document's sections changed.
  let productMs = 0;
  let naiveMs = 0;
  let written = 0;
  for (const doc of withIndex.documents.slice(0, REINGESTED)) {
    const current = (id: string) =>
      session.query<Section>(
        `select ordinal, heading, heading_path, page, content, token_count,
                embedding::text as embedding, embedding_model
         from public.document_sections where document_id = $1 order by ordinal`,
        [id],
      );
    const revise = (list: Section[]) =>
      list.map((s, i) =>
        i < CHANGED
          ? {
            ...s,
            content: `${s.content} (edited)`,
            embedding: vectorLiteral(data[nextVector++]!),
          }
          : s
      );

    const productNew = revise((await current(doc.batched)).rows);
    let started = performance.now();
    const { rows: [result] } = await session.query<
      { result: { inserted: number; updated: number } }
    >(
      "select private.write_document_sections($1, $2::text::jsonb) as result",
      [doc.batched, JSON.stringify(productNew)],
    );
    productMs += performance.now() - started;
    written += result!.result.inserted + result!.result.updated;

    const naiveNew = revise((await current(doc.perRow)).rows);
    started = performance.now();
    await session.query("delete from public.document_sections where document_id = $1", [
      doc.perRow,
    ]);
    await insertEach(doc.perRow, naiveNew);
    naiveMs += performance.now() - started;
  }
  const reingestTotal = REINGESTED * SECTIONS;

  // The same comparison without the HNSW index: the write path's own cost.
  // Without the index, inside a transaction that is rolled back: a real database keeps its index
  // (and PGlite in memory is thrown away anyway).
  await session.exec("begin");
  await session.exec("drop index public.document_sections_embedding_idx");
  const withoutIndex = await compare("unindexed");
  const { rows: [count] } = await session.query<{ n: number }>(
    `select count(*)::int as n from public.document_sections
     where organization_id = $1 and embedding is not null`,
    [tenant.organizationId],
  );
  await session.exec("rollback");
  const expected = 4 * DOCUMENTS * SECTIONS;
  if (count!.n !== expected) throw new Error(`expected ${expected} sections, found ${count!.n}`);
  if (written !== REINGESTED * CHANGED) {
    throw new Error(`re-ingest wrote ${written} sections, expected ${REINGESTED * CHANGED}`);
  }

  await report({
    ingest: {
      ...withIndex.figures,
      database: target,
      sections: DOCUMENTS * SECTIONS,
      sections_per_document: SECTIONS,
      quick: QUICK,
      without_index: withoutIndex.figures,
      reingest: {
        ratio: round(naiveMs / productMs, 2),
        documents: REINGESTED,
        sections: reingestTotal,
        changed: REINGESTED * CHANGED,
        product: { ms: round(productMs, 0), sections_written: written },
        delete_and_insert_each: { ms: round(naiveMs, 0), sections_written: reingestTotal },
      },
    },
  });
} finally {
  await session.close();
}
