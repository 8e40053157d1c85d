/**
 * Scenario `embedding_pipeline`: sections embedded per second end to end on the local stack with
 * its pg_cron and pg_net workers running and the local AI provider: sections written without
 * embeddings -> the insert trigger enqueues a `document_embeddings` job per document -> pg_cron
 * runs the dispatcher -> pg_net POSTs the batch to file-processor's /jobs -> the worker embeds the
 * sections and stores the vectors. Timed from the insert's commit until every section has its
 * embedding.
 *
 * The product's queue settings (the queue row and the dispatcher's cron schedule as the
 * migrations register them) vs those of Supabase's automatic-embeddings guide: batches of 10, at
 * most 10 batches per run, a run every 10 seconds (set on the same queue for the baseline). The
 * same workload on both: documents of 50 sections, as an upload of a few pages makes.
 * ratio = product sections/s / guide sections/s.
 *
 *   npx deno run -A bench/embedding-pipeline.ts [--quick]
 */
import type { Stack } from "../local/stack.ts";
import { QUICK, report, round, size } from "./lib.ts";
import { ACME, ALICE, benchStack } from "./stack-lib.ts";

const DOCUMENTS = size(20, 4);
const SECTIONS = QUICK ? 25 : 50;
const JOB = "dispatch_document_embeddings";

async function settings(stack: Stack) {
  const { rows: [queue] } = await stack.session.query<
    { batch_size: number; max_batches: number }
  >("select batch_size, max_batches from private.job_queues where name = 'document_embeddings'");
  const { rows: [cron] } = await stack.session.query<{ schedule: string }>(
    "select schedule from cron.job where jobname = $1",
    [JOB],
  );
  return {
    batch_size: queue!.batch_size,
    max_batches: queue!.max_batches,
    schedule: cron!.schedule,
  };
}

/** Writes DOCUMENTS documents of SECTIONS sections; returns sections/s until all are embedded. */
async function run(stack: Stack, label: string) {
  const ids: string[] = [];
  for (let d = 0; d < DOCUMENTS; d++) {
    const { rows: [doc] } = await stack.session.query<{ id: string }>(
      `insert into public.documents (organization_id, created_by, title) values ($1, $2, $3)
       returning id`,
      [ACME, ALICE, `${label} ${d}`],
    );
    ids.push(doc!.id);
  }
  const started = performance.now();
  // One statement per document, as file-processor writes a file's sections.
  for (const id of ids) {
    await stack.session.query(
      `insert into public.document_sections (document_id, ordinal, heading, content, token_count)
       select $1, g, 'Part ' || g,
              'Section ' || g || ' of ' || $2 || ': the anvil warranty covers dents, cracks and '
              || 'rust for two years from delivery; claims need the order number and photos.',
              30
       from generate_series(0, $3 - 1) g`,
      [id, label, SECTIONS],
    );
  }
  const total = DOCUMENTS * SECTIONS;
  const deadline = Date.now() + 240_000;
  for (;;) {
    const { rows: [row] } = await stack.session.query<{ n: number }>(
      `select count(*)::int as n from public.document_sections
       where document_id = any($1) and embedding is not null`,
      [ids],
    );
    if (row!.n === total) break;
    if (Date.now() > deadline) throw new Error(`${label}: ${row!.n}/${total} embedded in 240 s`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const seconds = (performance.now() - started) / 1000;
  return { sections: total, seconds: round(seconds, 1), sections_per_s: round(total / seconds, 1) };
}

const stack = await benchStack({ workers: true });
try {
  // Let the seed's own embedding jobs drain first.
  const drainDeadline = Date.now() + 60_000;
  while (Date.now() < drainDeadline) {
    const { rows: [row] } = await stack.session.query<{ n: number }>(
      "select count(*)::int as n from private.jobs where status <> 'completed'",
    );
    if (row!.n === 0) break;
    await new Promise((r) => setTimeout(r, 250));
  }

  const productSettings = await settings(stack);
  const product = await run(stack, "product");

  await stack.session.query(
    `update private.job_queues set batch_size = 10, max_batches = 10
     where name = 'document_embeddings'`,
  );
  await stack.session.query("update cron.job set schedule = '10 seconds' where jobname = $1", [
    JOB,
  ]);
  const guideSettings = await settings(stack);
  const guide = await run(stack, "guide");

  await report({
    embedding_pipeline: {
      ratio: round(product.sections_per_s / guide.sections_per_s, 2),
      documents: DOCUMENTS,
      sections_per_document: SECTIONS,
      quick: QUICK,
      provider: "local",
      product: { ...productSettings, ...product },
      guide_settings: { ...guideSettings, ...guide },
    },
  });
} finally {
  await stack.stop();
}
