/**
 * From an upload to stored sections: download the object, detect and extract, chunk, embed what
 * changed, write the document's sections in one statement, and mark the upload and its document
 * `processed`, or `failed` with the reason (a file failure, which no retry can fix).
 *
 * Idempotent, as queue work must be: the same bytes already processed are a no-op; the same bytes
 * as another processed document of the organization add no sections (the document is marked a
 * duplicate of it); changed bytes re-embed only the sections whose text changed. Transient
 * trouble (storage, database, a provider outage while extracting) is thrown for the queue to
 * retry; an embedding outage is not: sections are written without embeddings and the
 * `document_embeddings` queue fills them later.
 *
 * JSON and vector parameters are bound as text and cast (`$n::text::jsonb`): postgres.js would
 * JSON-encode a string bound to a jsonb parameter again.
 */
import type { Config } from "../_shared/config.ts";
import type { ProcessFileResponse } from "../_shared/contracts/file-processor.ts";
import type { Columns } from "../_shared/db/rows.ts";
import type { Deps } from "../_shared/deps.ts";
import { AppError } from "../_shared/errors.ts";
import { type Chunk, chunkBlocks, embeddingInput } from "../_shared/extract/chunk.ts";
import {
  checkSize,
  DEFAULT_EXTRACT_LIMITS,
  extractFile,
  type Extraction,
  type ExtractLimits,
  failureReason,
} from "../_shared/extract/mod.ts";
import type { Logger } from "../_shared/logger.ts";
import { embedInBatches, vectorText } from "./embed.ts";
import { downloadObject } from "./storage.ts";

/** A file_uploads row as UPLOAD_COLUMNS selects it (metadata: a jsonb object). */
export type UploadRow =
  & Columns<
    "file_uploads",
    | "id"
    | "organization_id"
    | "user_id"
    | "bucket"
    | "path"
    | "original_name"
    | "size_bytes"
    | "status"
    | "checksum"
    | "mime_type"
    | "document_id"
  >
  & { metadata: Record<string, unknown> };

export interface ProcessOutcome extends ProcessFileResponse {
  /** Why the file failed, for the direct route's 413/422. */
  failure?: AppError;
}

export interface ProcessOptions {
  logger: Logger;
  /** Stops extraction and embedding early (the worker's time budget or the request's end). */
  signal?: AbortSignal;
}

const UPLOAD_COLUMNS = `f.id, f.organization_id, f.user_id, f.bucket, f.path, f.original_name,
  f.size_bytes, f.status, f.checksum, f.mime_type, f.document_id, f.metadata`;

/** The limits from the config, or extraction's defaults. */
export function limitsOf(config: Config): ExtractLimits {
  return { ...DEFAULT_EXTRACT_LIMITS, ...config.files };
}

/**
 * Processes upload `uploadId`. Null when the upload, its document or its object is gone (nothing
 * to do). A file failure is recorded and returned in `failure`; anything else is thrown.
 */
export async function processUpload(
  uploadId: string,
  deps: Deps,
  options: ProcessOptions,
): Promise<ProcessOutcome | null> {
  const upload = await loadUpload(uploadId, deps);
  if (!upload || !upload.document_id) return null;
  const documentId = upload.document_id;
  const limits = limitsOf(deps.config);
  const logger = options.logger.child({ file_upload_id: upload.id, document_id: documentId });

  try {
    if (upload.size_bytes !== null) checkSize(upload.size_bytes, limits.maxBytes);
  } catch (error) {
    return await recordFailure(upload, error as AppError, null, deps);
  }
  const bytes = await downloadObject(deps.config, upload.bucket, upload.path);
  if (!bytes) return null;
  const checksum = await sha256Hex(bytes);

  if (upload.status === "processed" && upload.checksum === checksum) {
    return await currentOutcome(upload, deps);
  }
  await mark(upload, "processing", null, deps);

  const duplicate = await findDuplicate(upload, checksum, deps);
  if (duplicate) {
    logger.info("duplicate upload", { duplicate_of: duplicate.id });
    return await recordDuplicate(upload, checksum, duplicate, deps);
  }

  let extraction: Extraction;
  try {
    extraction = await extractFile(bytes, fileName(upload.path), {
      limits,
      ...(options.signal ? { signal: options.signal } : {}),
    });
  } catch (error) {
    if (!failureReason(error)) throw error;
    logger.info("file refused", { reason: failureReason(error) });
    return await recordFailure(upload, error as AppError, checksum, deps);
  }

  const chunks = chunkBlocks(extraction.blocks);
  const embeddings = await embedChanged(documentId, chunks, deps, logger, options.signal);
  const facts = factsOf(extraction, chunks.length);
  await deps.db.asService(async (tx) => {
    await tx.query("select private.write_document_sections($1, $2::text::jsonb)", [
      documentId,
      JSON.stringify(chunks.map((chunk) => sectionJson(chunk, embeddings.get(chunk.ordinal)))),
    ]);
    await tx.query(
      `update public.documents d
       set status = 'processed', error = null, checksum = $2, mime_type = $3,
           metadata = (d.metadata - 'duplicate_of') || $4::text::jsonb
       where d.id = $1`,
      [documentId, checksum, extraction.type.mime, JSON.stringify(facts)],
    );
    await tx.query(
      `update public.file_uploads f
       set status = 'processed', error = null, checksum = $2, mime_type = $3,
           metadata = (f.metadata - 'duplicate_of') || $4::text::jsonb
       where f.id = $1`,
      [upload.id, checksum, extraction.type.mime, JSON.stringify(facts)],
    );
  });
  logger.info("file processed", {
    sections: chunks.length,
    embedded: embeddings.size,
    characters: extraction.characters,
  });
  return {
    file_id: upload.id,
    document_id: documentId,
    status: "processed",
    sections: chunks.length,
    characters: extraction.characters,
    ...(extraction.pages ? { pages: extraction.pages } : {}),
    mime_type: extraction.type.mime,
  };
}

/** What the upload's and the document's metadata record about the file. */
function factsOf(extraction: Extraction, sections: number): Record<string, unknown> {
  const image = extraction.metadata.image as Record<string, unknown> | undefined;
  const { image: _image, ...rest } = extraction.metadata;
  return {
    ...rest,
    ...(image ?? {}),
    detected_type: extraction.type.ext,
    characters: extraction.characters,
    sections,
  };
}

function sectionJson(chunk: Chunk, embedding: { vector: number[]; model: string } | undefined) {
  return {
    ordinal: chunk.ordinal,
    heading: chunk.heading,
    heading_path: chunk.headingPath,
    page: chunk.page ?? null,
    content: chunk.content,
    token_count: chunk.tokenCount,
    embedding: embedding ? vectorText(embedding.vector) : null,
    embedding_model: embedding?.model ?? null,
  };
}

/**
 * Embeddings for the chunks no existing section already has one for (same content hash and
 * heading), by ordinal. A provider failure or the end of the time budget leaves the rest to the
 * `document_embeddings` queue.
 */
async function embedChanged(
  documentId: string,
  chunks: readonly Chunk[],
  deps: Deps,
  logger: Logger,
  signal: AbortSignal | undefined,
): Promise<Map<number, { vector: number[]; model: string }>> {
  const existing = await deps.db.asService((tx) =>
    tx.query<Columns<"document_sections", "content_hash" | "heading">>(
      `select s.content_hash, s.heading from public.document_sections s
       where s.document_id = $1 and s.embedding is not null`,
      [documentId],
    )
  );
  const known = new Set(existing.map((s) => `${s.content_hash}:${s.heading ?? ""}`));
  const missing: Chunk[] = [];
  for (const chunk of chunks) {
    if (!known.has(`${await sha256Hex(chunk.content)}:${chunk.heading ?? ""}`)) {
      missing.push(chunk);
    }
  }
  const embedded = new Map<number, { vector: number[]; model: string }>();
  if (missing.length === 0) return embedded;
  try {
    const vectors = await embedInBatches(deps, missing.map(embeddingInput), signal);
    vectors.forEach((vector, i) => {
      embedded.set(missing[i]!.ordinal, { vector, model: deps.ai.embeddingModel });
    });
  } catch (error) {
    logger.warn("embedding deferred to the queue", { error });
  }
  return embedded;
}

async function loadUpload(uploadId: string, deps: Deps): Promise<UploadRow | undefined> {
  const [row] = await deps.db.asService((tx) =>
    tx.query<UploadRow>(
      `select ${UPLOAD_COLUMNS} from public.file_uploads f where f.id = $1`,
      [uploadId],
    )
  );
  return row;
}

/** Another processed, non-duplicate document of the organization with the same bytes. */
async function findDuplicate(upload: UploadRow, checksum: string, deps: Deps) {
  const [row] = await deps.db.asService((tx) =>
    tx.query<Columns<"documents", "id" | "mime_type"> & { metadata: Record<string, unknown> }>(
      `select d.id, d.mime_type, d.metadata from public.documents d
       where d.organization_id = $1 and d.checksum = $2 and d.id <> $3
         and d.status = 'processed' and not (d.metadata ? 'duplicate_of')
       order by d.created_at, d.id
       limit 1`,
      [upload.organization_id, checksum, upload.document_id],
    )
  );
  return row;
}

async function recordDuplicate(
  upload: UploadRow,
  checksum: string,
  original: { id: string; mime_type: string | null; metadata: Record<string, unknown> },
  deps: Deps,
): Promise<ProcessOutcome> {
  const facts = { duplicate_of: original.id, sections: 0 };
  await deps.db.asService(async (tx) => {
    await tx.query("delete from public.document_sections s where s.document_id = $1", [
      upload.document_id,
    ]);
    for (const table of ["documents", "file_uploads"]) {
      await tx.query(
        `update public.${table} t
         set status = 'processed', error = null, checksum = $2, mime_type = $3,
             metadata = t.metadata || $4::text::jsonb
         where t.id = $1`,
        [
          table === "documents" ? upload.document_id : upload.id,
          checksum,
          original.mime_type,
          JSON.stringify(facts),
        ],
      );
    }
  });
  const characters = Number(original.metadata.characters ?? 0);
  const pages = Number(original.metadata.pages ?? 0);
  return {
    file_id: upload.id,
    document_id: upload.document_id!,
    status: "processed",
    sections: 0,
    characters: Number.isFinite(characters) ? characters : 0,
    ...(pages > 0 ? { pages } : {}),
    mime_type: original.mime_type ?? "application/octet-stream",
    duplicate_of: original.id,
  };
}

async function recordFailure(
  upload: UploadRow,
  failure: AppError,
  checksum: string | null,
  deps: Deps,
): Promise<ProcessOutcome> {
  await deps.db.asService(async (tx) => {
    for (const table of ["documents", "file_uploads"]) {
      await tx.query(
        `update public.${table} t
         set status = 'failed', error = $2, checksum = coalesce($3, t.checksum)
         where t.id = $1`,
        [table === "documents" ? upload.document_id : upload.id, failure.message, checksum],
      );
    }
  });
  return {
    file_id: upload.id,
    document_id: upload.document_id!,
    status: "failed",
    sections: 0,
    characters: 0,
    mime_type: upload.mime_type ?? "application/octet-stream",
    failure,
  };
}

/** Sets the upload's and its document's status (and error). */
export async function mark(
  upload: Pick<UploadRow, "id" | "document_id">,
  status: "pending" | "processing" | "failed",
  error: string | null,
  deps: Deps,
): Promise<void> {
  await deps.db.asService(async (tx) => {
    await tx.query("update public.file_uploads set status = $2, error = $3 where id = $1", [
      upload.id,
      status,
      error,
    ]);
    await tx.query("update public.documents set status = $2, error = $3 where id = $1", [
      upload.document_id,
      status,
      error,
    ]);
  });
}

/** The outcome of an upload already processed with these bytes. */
async function currentOutcome(upload: UploadRow, deps: Deps): Promise<ProcessOutcome> {
  const [row] = await deps.db.asService((tx) =>
    tx.query<
      Columns<"documents", "mime_type"> & { sections: number; metadata: Record<string, unknown> }
    >(
      `select (select count(*)::int from public.document_sections s where s.document_id = d.id)
                as sections,
              d.metadata, d.mime_type
       from public.documents d where d.id = $1`,
      [upload.document_id],
    )
  );
  const metadata = row?.metadata ?? {};
  const pages = Number(metadata.pages ?? 0);
  const duplicateOf = typeof metadata.duplicate_of === "string" ? metadata.duplicate_of : undefined;
  return {
    file_id: upload.id,
    document_id: upload.document_id!,
    status: "processed",
    sections: row?.sections ?? 0,
    characters: Number(metadata.characters ?? 0) || 0,
    ...(pages > 0 ? { pages } : {}),
    mime_type: row?.mime_type ?? upload.mime_type ?? "application/octet-stream",
    ...(duplicateOf ? { duplicate_of: duplicateOf } : {}),
  };
}

/** The file's own name: the last segment of the object path. */
function fileName(path: string): string {
  return path.split("/").pop() || path;
}

/** Hex SHA-256 of bytes or of a string's UTF-8, as Postgres's sha256(convert_to(..., 'UTF8')). */
export async function sha256Hex(data: Uint8Array | string): Promise<string> {
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  const digest = await crypto.subtle.digest("SHA-256", bytes as BufferSource);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** A refusal for a file the caller may not process (not theirs, or unknown). */
export function unknownFile(fileId: string): AppError {
  return new AppError("not_found", `Unknown file: "${fileId}"`);
}
