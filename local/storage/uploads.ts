/**
 * Reading an upload body the way upstream's uploader does (supabase/storage
 * `src/storage/uploader.ts`), into a new blob on disk:
 * - multipart/form-data (what storage-js sends for Blob, File and FormData bodies): the first
 *   file part is the object; fields `cacheControl` (seconds), `metadata` (JSON user metadata) and
 *   `contentType` (overrides the part's type);
 * - anything else is the raw bytes, typed by `content-type`, with `cache-control` and
 *   `x-metadata` (base64 of the JSON user metadata) headers.
 * The body is read before the request's transaction starts, so a slow client never holds the
 * shared database session.
 */
import { Buffer } from "node:buffer";
import {
  getMultipartBoundary,
  MultipartParseError,
  type MultipartPart,
  parseMultipart,
} from "@remix-run/multipart-parser";
import type { BlobStore } from "./blobs.ts";
import { ERRORS } from "./errors.ts";
import { checkJsonValue } from "./json.ts";

/** An upload received and stored as a blob, not yet recorded in storage.objects. */
export interface IncomingFile {
  version: string;
  size: number;
  eTag: string;
  tooLarge: boolean;
  mimetype: string;
  cacheControl: string;
  userMetadata: Record<string, unknown>;
}

/** Upstream's cap on the user metadata of one object. */
const MAX_USER_METADATA_BYTES = 1024 * 1024;

/** Room for the multipart framing and fields around the file itself. */
const MULTIPART_OVERHEAD = 1024 * 1024 + 64 * 1024;

/** Stores the body of an upload request, reading at most `limit` bytes of content. */
export async function receiveUpload(
  request: Request,
  blobs: BlobStore,
  limit: number,
): Promise<IncomingFile> {
  const contentType = request.headers.get("content-type") ?? "";
  if (contentType.toLowerCase().startsWith("multipart/form-data")) {
    return await receiveMultipart(request, blobs, limit);
  }
  const userMetadata = userMetadataHeader(request);
  const stored = await blobs.write(request.body, limit);
  return {
    ...stored,
    mimetype: contentType || "application/octet-stream",
    cacheControl: request.headers.get("cache-control") ?? "no-cache",
    userMetadata,
  };
}

async function receiveMultipart(
  request: Request,
  blobs: BlobStore,
  limit: number,
): Promise<IncomingFile> {
  const boundary = getMultipartBoundary(request.headers.get("content-type")!);
  if (!boundary) throw ERRORS.invalidRequest("Invalid Content-Type header: missing boundary");
  // The body is capped before parsing, so an oversized upload is drained and refused as 413
  // instead of being cut off mid-stream.
  const cap = limit + MULTIPART_OVERHEAD;
  const bytes = await readCapped(request.body, cap);
  if (bytes === null) return tooLargeFile(limit);

  // The Web FormData parser drops parts with an empty name, and storage-js sends the file as
  // the part named "", so the parts are read with a multipart parser instead.
  let file: MultipartPart | undefined;
  const fields = new Map<string, string>();
  try {
    for (const part of parseMultipart(bytes, { boundary, maxFileSize: cap, maxTotalSize: cap })) {
      if (part.isFile) file ??= part;
      else if (part.name !== undefined) fields.set(part.name, part.text);
    }
  } catch (error) {
    if (error instanceof MultipartParseError) throw ERRORS.noContentProvided();
    throw error;
  }
  if (!file) throw ERRORS.noContentProvided();

  const userMetadata = parseUserMetadata(fields.get("metadata") ?? fields.get("userMetadata"));
  const cacheTime = fields.get("cacheControl");
  const stored = await blobs.write(ReadableStream.from([file.bytes]), limit);
  return {
    ...stored,
    mimetype: fields.get("contentType") || file.headers["content-type"] ||
      "application/octet-stream",
    cacheControl: cacheTime ? `max-age=${cacheTime}` : "no-cache",
    userMetadata,
  };
}

function tooLargeFile(limit: number): IncomingFile {
  return {
    version: crypto.randomUUID(),
    size: limit + 1,
    eTag: "",
    tooLarge: true,
    mimetype: "application/octet-stream",
    cacheControl: "no-cache",
    userMetadata: {},
  };
}

/** The whole stream, or null (after draining it) when it is longer than `cap` bytes. */
async function readCapped(
  body: ReadableStream<Uint8Array> | null,
  cap: number,
): Promise<Uint8Array<ArrayBuffer> | null> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  if (body) {
    for await (const chunk of body) {
      size += chunk.byteLength;
      if (size <= cap) chunks.push(chunk);
    }
  }
  if (size > cap) return null;
  const bytes = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, at);
    at += chunk.byteLength;
  }
  return bytes;
}

/** The user metadata in an `x-metadata` header (base64 of JSON); `{}` when absent. */
export function userMetadataHeader(request: Request): Record<string, unknown> {
  return parseUserMetadata(decodeBase64(request.headers.get("x-metadata")));
}

/** Upstream ignores metadata that is not valid JSON; an oversized one is refused. */
function parseUserMetadata(json: string | null | undefined): Record<string, unknown> {
  if (!json) return {};
  if (new TextEncoder().encode(json).length > MAX_USER_METADATA_BYTES) {
    throw ERRORS.entityTooLarge("user_metadata");
  }
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    return {};
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) return {};
  // Deeper than upstream would matter: here it reaches PGlite, whose stack it can exhaust.
  checkJsonValue(value, "user_metadata");
  return value as Record<string, unknown>;
}

function decodeBase64(value: string | null): string | null {
  if (!value) return null;
  try {
    return Buffer.from(value, "base64").toString("utf8");
  } catch {
    return null;
  }
}
