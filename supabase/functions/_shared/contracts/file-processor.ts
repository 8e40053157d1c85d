/**
 * `file-processor`'s requests and responses: process an upload now, and search the caller's
 * organizations' documents. The queue payloads its `/jobs` route accepts are here too.
 */
import { z } from "zod";

export const FILE_STATUSES = ["pending", "processing", "processed", "failed"] as const;
export const SEARCH_MODES = ["hybrid", "semantic", "keyword"] as const;

/** Longest search query accepted, in characters (the search RPCs refuse past 4,000). */
export const MAX_SEARCH_QUERY_CHARS = 2_000;

/** `POST /functions/v1/file-processor`: process the caller's own upload now. */
export const ProcessFileRequest = z.strictObject({
  /** file_uploads.id of an upload of the caller's. */
  file_id: z.uuid(),
});
export type ProcessFileRequest = z.infer<typeof ProcessFileRequest>;

export const ProcessFileResponse = z.object({
  file_id: z.uuid(),
  document_id: z.uuid(),
  status: z.enum(FILE_STATUSES),
  /** Sections the document has now (0 for images and for a duplicate of another upload). */
  sections: z.int().nonnegative(),
  /** Characters of extracted text. */
  characters: z.int().nonnegative(),
  pages: z.int().positive().optional(),
  /** The type the bytes are (never the client's claim). */
  mime_type: z.string(),
  /** Set when the same bytes were already processed in the organization: that document. */
  duplicate_of: z.uuid().optional(),
});
export type ProcessFileResponse = z.infer<typeof ProcessFileResponse>;

/** `POST /functions/v1/file-processor/search`. */
export const SearchRequest = z.strictObject({
  /** Words or a question; cleaned, 1..2,000 characters. */
  query: z.string().min(1).max(MAX_SEARCH_QUERY_CHARS),
  /** 1..50, default 10. */
  match_count: z.int().min(1).max(50).default(10),
  /** `hybrid` (default: keywords and meaning), `semantic` (meaning) or `keyword`. */
  mode: z.enum(SEARCH_MODES).default("hybrid"),
  filter: z.strictObject({
    /** Only these documents. */
    document_ids: z.array(z.uuid()).min(1).max(100).optional(),
    /** Only documents having all of these tags. */
    tags: z.array(z.string().min(1).max(100)).min(1).max(20).optional(),
    /** Only this organization of the caller's (default: all of them). */
    organization_id: z.uuid().optional(),
  }).default({}),
});
export type SearchRequest = z.input<typeof SearchRequest>;
export type SearchInput = z.output<typeof SearchRequest>;

export const SearchResult = z.object({
  document_id: z.uuid(),
  section_id: z.uuid(),
  title: z.string(),
  heading: z.string().nullable(),
  content: z.string(),
  page: z.int().positive().optional(),
  /** Higher is better: fused rank (hybrid, keyword) or cosine similarity (semantic). */
  score: z.number(),
});
export type SearchResult = z.infer<typeof SearchResult>;

export const SearchResponse = z.object({ results: z.array(SearchResult) });
export type SearchResponse = z.infer<typeof SearchResponse>;

/** Queue payloads (ids only), as the triggers enqueue them. */
export const FileProcessingPayload = z.object({
  file_upload_id: z.uuid(),
  document_id: z.uuid().optional(),
});
export const DocumentEmbeddingsPayload = z.object({ document_id: z.uuid() });
export const AgentEmbeddingsPayload = z.object({ agent_id: z.uuid() });
