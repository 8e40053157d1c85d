/**
 * Embeddings for sections and agents, in provider-sized batches. Work is written batch by batch,
 * so a worker that runs out of time keeps what it did and the job resumes where it stopped.
 */
import type { Columns } from "../_shared/db/rows.ts";
import type { Deps } from "../_shared/deps.ts";
import { embeddingInput } from "../_shared/extract/chunk.ts";
import { RetryLater } from "../_shared/jobs.ts";

/** Texts per embedding request: well under OpenAI's 2,048 inputs and 300k tokens per request. */
export const EMBED_BATCH_SIZE = 64;

/** pgvector's text form of a vector, for a `::extensions.halfvec` parameter. */
export function vectorText(vector: readonly number[]): string {
  return `[${vector.join(",")}]`;
}

/** Embeds `texts` in batches of EMBED_BATCH_SIZE, in order; stops early when `signal` aborts. */
export async function embedInBatches(
  deps: Pick<Deps, "ai">,
  texts: readonly string[],
  signal?: AbortSignal,
): Promise<number[][]> {
  const vectors: number[][] = [];
  for (let at = 0; at < texts.length; at += EMBED_BATCH_SIZE) {
    if (signal?.aborted) break;
    const batch = texts.slice(at, at + EMBED_BATCH_SIZE);
    const result = await deps.ai.embed(batch, signal ? { signal } : {});
    vectors.push(...result.embeddings);
  }
  return vectors;
}

type PendingSection = Columns<"document_sections", "id" | "heading" | "content" | "content_hash">;

/**
 * The `document_embeddings` job: embeds every section of the document that has no embedding,
 * a batch at a time. A section whose content changed meanwhile is skipped (its hash no longer
 * matches; the change queued another job). Throws RetryLater when the time budget ends first.
 */
export async function embedDocumentSections(
  documentId: string,
  deps: Deps,
  signal: AbortSignal,
): Promise<{ embedded: number }> {
  let embedded = 0;
  const skipped = new Set<string>();
  while (true) {
    const pending = await deps.db.asService((tx) =>
      tx.query<PendingSection>(
        `select s.id, s.heading, s.content, s.content_hash
         from public.document_sections s
         where s.document_id = $1 and s.embedding is null and not (s.id = any($2::uuid[]))
         order by s.ordinal
         limit $3`,
        [documentId, [...skipped], EMBED_BATCH_SIZE],
      )
    );
    if (pending.length === 0) return { embedded };
    if (signal.aborted) {
      throw new RetryLater(`Time budget spent with sections left to embed (${embedded} done)`, 0);
    }
    const { embeddings, model } = await deps.ai.embed(pending.map(embeddingInput), { signal });
    const written = await deps.db.asService((tx) =>
      tx.query<Columns<"document_sections", "id">>(
        `update public.document_sections s
         set embedding = v.embedding::extensions.halfvec, embedding_model = $4
         from unnest($1::uuid[], $2::text[], $3::text[]) as v (id, embedding, content_hash)
         where s.id = v.id and s.document_id = $5 and s.content_hash = v.content_hash
           and s.embedding is null
         returning s.id`,
        [
          pending.map((s) => s.id),
          embeddings.map(vectorText),
          pending.map((s) => s.content_hash),
          model,
          documentId,
        ],
      )
    );
    embedded += written.length;
    const writtenIds = new Set(written.map((r) => r.id));
    for (const section of pending) if (!writtenIds.has(section.id)) skipped.add(section.id);
  }
}

/**
 * The `agent_embeddings` job: embeds the agent's description, unless it changed meanwhile (the
 * change queued another job) or the agent is gone. Returns whether an embedding was written.
 */
export async function embedAgentDescription(
  agentId: string,
  deps: Deps,
  signal: AbortSignal,
): Promise<boolean> {
  const [agent] = await deps.db.asService((tx) =>
    tx.query<Columns<"agents", "description"> & { has_embedding: boolean }>(
      `select a.description, a.description_embedding is not null as has_embedding
       from public.agents a where a.id = $1`,
      [agentId],
    )
  );
  if (!agent || agent.has_embedding || agent.description.trim() === "") return false;
  const { embeddings } = await deps.ai.embed([agent.description], { signal });
  const rows = await deps.db.asService((tx) =>
    tx.query(
      `update public.agents a set description_embedding = $2::text::extensions.halfvec
       where a.id = $1 and a.description = $3 and a.description_embedding is null
       returning a.id`,
      [agentId, vectorText(embeddings[0]!), agent.description],
    )
  );
  return rows.length > 0;
}
