/**
 * Object responses with upstream's headers (supabase/storage `src/storage/renderer`): the bytes
 * with Content-Type, Content-Length, ETag, Last-Modified and Cache-Control (or Expires for signed
 * URLs), single byte ranges, If-None-Match, `?download=` as Content-Disposition; the same headers
 * without a body for HEAD; and the JSON of `GET /object/info/...`.
 */
import type { BlobStore } from "./blobs.ts";
import { ERRORS } from "./errors.ts";
import type { ObjectRow } from "./rows.ts";

export interface RenderOptions {
  /** The `download` query parameter: null when absent, "" for the object's own name. */
  download: string | null;
  /** For signed URLs: sent as Expires instead of the object's Cache-Control. */
  expires?: Date;
  /** HEAD: headers only. */
  head: boolean;
}

export async function renderObject(
  blobs: BlobStore,
  request: Request,
  row: ObjectRow,
  options: RenderOptions,
): Promise<Response> {
  const headers = objectHeaders(row);
  if (options.expires) {
    headers.delete("cache-control");
    headers.set("expires", options.expires.toUTCString());
  }
  if (options.download !== null) {
    headers.set(
      "content-disposition",
      options.download === "" ? "attachment;" : contentDisposition(options.download),
    );
  }
  const size = row.metadata?.size ?? 0;
  const eTag = headers.get("etag");
  if (eTag && request.headers.get("if-none-match") === eTag) {
    return new Response(null, { status: 304, headers });
  }
  if (options.head) {
    headers.set("content-length", String(size));
    return new Response(null, { status: 200, headers });
  }

  const file = row.version ? await blobs.open(row.version) : null;
  if (!file) throw ERRORS.noSuchKey();
  const { size: fileSize } = await file.stat();
  const range = parseRange(request.headers.get("range"), fileSize);
  if (range === "invalid") {
    file.close();
    throw ERRORS.invalidRange();
  }
  if (range) {
    headers.set("content-range", `bytes ${range.start}-${range.end}/${fileSize}`);
    headers.set("content-length", String(range.end - range.start + 1));
    return new Response(await sliceOf(file, range.start, range.end), { status: 206, headers });
  }
  headers.set("content-length", String(fileSize));
  return new Response(file.readable, { status: 200, headers });
}

/** The body of `GET /object/info/...`, with the object's headers. */
export function renderInfo(row: ObjectRow): Response {
  const headers = objectHeaders(row);
  headers.set("content-type", "application/json");
  headers.delete("accept-ranges");
  const body = {
    id: row.id,
    name: row.name,
    version: row.version,
    bucket_id: row.bucket_id,
    size: row.metadata?.size ?? null,
    content_type: row.metadata?.mimetype ?? null,
    cache_control: row.metadata?.cacheControl ?? null,
    etag: row.metadata?.eTag ?? null,
    metadata: row.user_metadata,
    last_modified: row.updated_at,
    created_at: row.created_at,
  };
  return new Response(JSON.stringify(body), { status: 200, headers });
}

function objectHeaders(row: ObjectRow): Headers {
  const meta = row.metadata ?? {};
  const headers = new Headers({
    "accept-ranges": "bytes",
    "content-type": safeContentType(meta.mimetype ?? "application/octet-stream"),
    "cache-control": meta.cacheControl ?? "no-cache",
    "last-modified": new Date(meta.lastModified ?? row.updated_at).toUTCString(),
  });
  if (meta.eTag) headers.set("etag", meta.eTag);
  return headers;
}

/** Upstream never serves HTML from storage, so an uploaded page cannot run in the API's origin. */
function safeContentType(mimetype: string): string {
  return mimetype.includes("text/html") ? "text/plain" : mimetype;
}

function contentDisposition(fileName: string): string {
  const encoded = encodeURIComponent(fileName);
  return `attachment; filename=${encoded}; filename*=UTF-8''${encoded};`;
}

/** A single `bytes=` range; null when there is none (or several), "invalid" when unsatisfiable. */
function parseRange(
  header: string | null,
  size: number,
): { start: number; end: number } | null | "invalid" {
  const match = header ? /^bytes=(\d*)-(\d*)$/.exec(header.trim()) : null;
  if (!match) return null;
  const [, from, to] = match;
  let start: number;
  let end: number;
  if (from === "") {
    if (to === "") return "invalid";
    start = Math.max(0, size - Number(to));
    end = size - 1;
  } else {
    start = Number(from);
    end = to === "" ? size - 1 : Math.min(Number(to), size - 1);
  }
  if (start > end || start >= size) return "invalid";
  return { start, end };
}

/** A stream of bytes start..end (inclusive) of `file`, which it closes when done. */
async function sliceOf(
  file: Deno.FsFile,
  start: number,
  end: number,
): Promise<ReadableStream<Uint8Array>> {
  await file.seek(start, Deno.SeekMode.Start);
  let remaining = end - start + 1;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const buffer = new Uint8Array(Math.min(remaining, 64 * 1024));
      const read = await file.read(buffer);
      if (read === null || read === 0) {
        file.close();
        controller.close();
        return;
      }
      remaining -= read;
      controller.enqueue(buffer.subarray(0, read));
      if (remaining <= 0) {
        file.close();
        controller.close();
      }
    },
    cancel() {
      file.close();
    },
  });
}
