/**
 * Search over the caller's organizations' documents, through the search RPCs as the user, so
 * row-level security decides what can be found. `hybrid` fuses keyword and semantic ranks (and
 * falls back to keywords alone when the embedding provider is down), `semantic` ranks by cosine
 * similarity, `keyword` by full-text rank. The tracked variants of the RPCs (same arguments and
 * results) record one `search.*` analytics event per call.
 */
import type { Claims } from "../_shared/auth.ts";
import type { SearchInput, SearchResponse } from "../_shared/contracts/file-processor.ts";
import type { Columns } from "../_shared/db/rows.ts";
import type { Deps } from "../_shared/deps.ts";
import type { Logger } from "../_shared/logger.ts";
import { checkText } from "../_shared/text/sanitize.ts";
import { MAX_SEARCH_QUERY_CHARS } from "../_shared/contracts/file-processor.ts";
import { vectorText } from "./embed.ts";

interface Hit {
  id: string;
  document_id: string;
  heading: string | null;
  content: string;
  score: number;
}

export async function searchDocuments(
  claims: Claims,
  input: SearchInput,
  deps: Deps,
  options: { logger: Logger; signal?: AbortSignal },
): Promise<SearchResponse> {
  const query = checkText(input.query, { maxChars: MAX_SEARCH_QUERY_CHARS, field: "query" });
  const filter = input.filter;
  let mode = input.mode;
  let embedding: string | null = null;
  if (mode !== "keyword") {
    try {
      const { embeddings } = await deps.ai.embed(
        [query],
        options.signal ? { signal: options.signal } : {},
      );
      embedding = vectorText(embeddings[0]!);
    } catch (error) {
      if (mode === "semantic") throw error;
      options.logger.warn("search fell back to keywords", { error });
      mode = "keyword";
    }
  }

  return await deps.db.asUser(claims, async (tx) => {
    const hits = mode === "semantic"
      ? await tx.query<Hit & Record<string, unknown>>(
        `select m.id, m.document_id, m.heading, m.content, m.similarity as score
         from public.match_document_sections_tracked(
           query_embedding => $1::text::extensions.halfvec, match_count => $2,
           filter => $3::text::jsonb
         ) m`,
        [embedding, input.match_count, JSON.stringify(filter)],
      )
      : await tx.query<Hit & Record<string, unknown>>(
        `select h.id, h.document_id, h.heading, h.content, h.score
         from public.hybrid_search_tracked(
           query_text => $1, query_embedding => $2::text::extensions.halfvec, match_count => $3,
           filter => $4::text::jsonb
         ) h`,
        [query, mode === "keyword" ? null : embedding, input.match_count, JSON.stringify(filter)],
      );
    if (hits.length === 0) return { results: [] };
    const details = await tx.query<
      Columns<"document_sections", "id" | "page"> & Columns<"documents", "title">
    >(
      `select s.id, s.page, d.title
       from public.document_sections s join public.documents d on d.id = s.document_id
       where s.id = any($1::uuid[])`,
      [hits.map((h) => h.id)],
    );
    const byId = new Map(details.map((d) => [d.id, d]));
    return {
      results: hits.flatMap((hit) => {
        const detail = byId.get(hit.id);
        if (!detail) return [];
        return [{
          document_id: hit.document_id,
          section_id: hit.id,
          title: detail.title,
          heading: hit.heading,
          content: hit.content,
          ...(detail.page ? { page: detail.page } : {}),
          score: Number(hit.score),
        }];
      }),
    };
  });
}
