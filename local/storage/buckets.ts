/**
 * Bucket operations (supabase/storage `src/storage/storage.ts`, `src/http/routes/bucket`). They
 * run as the caller, so a plain user needs policies on storage.buckets to see or change buckets;
 * the service role bypasses RLS. Emptying a bucket is for the service role only, as upstream now
 * requires, and is done at once rather than queued.
 */
import type { StorageContext } from "./context.ts";
import { ERRORS, isPgError } from "./errors.ts";
import {
  isUuid,
  mustBeValidBucketName,
  mustBeValidMimeRules,
  parseBucketSizeLimit,
} from "./names.ts";
import { type BucketRow, findBucket } from "./rows.ts";
import type { CreateBucketBody, UpdateBucketBody } from "./schemas.ts";
import { type Call, withScope } from "./scope.ts";

const BUCKET_COLUMNS =
  "id, name, owner, owner_id, public, type, file_size_limit, allowed_mime_types, created_at, updated_at";

const SORT_COLUMNS = new Set(["id", "name", "created_at", "updated_at"]);

export interface ListBucketOptions {
  limit?: string;
  offset?: string;
  search?: string;
  sortColumn?: string;
  sortOrder?: string;
}

/** `GET /bucket`: the buckets the caller's SELECT policies show. */
export function listBuckets(
  ctx: StorageContext,
  call: Call,
  options: ListBucketOptions,
): Promise<BucketJson[]> {
  const limit = optionalCount(options.limit, "limit");
  const offset = optionalCount(options.offset, "offset") ?? 0;
  const column = options.sortColumn ?? "name";
  if (!SORT_COLUMNS.has(column)) {
    throw ERRORS.invalidRequest(`querystring/sortColumn must be one of ${[...SORT_COLUMNS]}`);
  }
  const order = options.sortOrder?.toLowerCase() === "desc" ? "desc" : "asc";
  return withScope(ctx.session, call, async (scope) => {
    const { rows } = await scope.tx.query<{ row: BucketRow }>(
      `select to_jsonb(b) as row from (
         select ${BUCKET_COLUMNS} from storage.buckets
         where $1 = '' or name ilike '%' || $1 || '%'
         order by ${column} ${order}
         limit $2 offset $3
       ) b`,
      [escapeLike(options.search ?? ""), limit ?? null, offset],
    );
    return rows.map((r) => bucketJson(r.row));
  });
}

/** A bucket as upstream answers it (storage-js's own snapshot): these fields, ISO timestamps. */
type BucketJson = Omit<BucketRow, "owner_id" | "type">;

function bucketJson(row: BucketRow): BucketJson {
  return {
    id: row.id,
    name: row.name,
    owner: row.owner,
    public: row.public,
    file_size_limit: row.file_size_limit,
    allowed_mime_types: row.allowed_mime_types,
    created_at: new Date(row.created_at).toISOString(),
    updated_at: new Date(row.updated_at).toISOString(),
  };
}

/** `GET /bucket/{id}`: NoSuchBucket when absent or hidden by RLS. */
export function getBucket(ctx: StorageContext, call: Call, id: string): Promise<BucketJson> {
  return withScope(ctx.session, call, async (scope) => {
    const bucket = await findBucket(scope.tx, id);
    if (!bucket) throw ERRORS.noSuchBucket();
    return bucketJson(bucket);
  });
}

/** `POST /bucket`: the caller's INSERT policy on storage.buckets decides. */
export async function createBucket(
  ctx: StorageContext,
  call: Call,
  body: CreateBucketBody,
): Promise<{ name: string }> {
  mustBeValidBucketName(body.name);
  const id = body.id || body.name;
  mustBeValidBucketName(id);
  if (body.type !== undefined && body.type.toUpperCase() !== "STANDARD") {
    throw ERRORS.invalidRequest(`Bucket type "${body.type}" is not supported by the local stack`);
  }
  const limit = sizeLimit(body.file_size_limit, ctx.fileSizeLimit);
  const mimeTypes = body.allowed_mime_types?.filter((mime) => mime) ?? body.allowed_mime_types;
  if (mimeTypes) mustBeValidMimeRules(mimeTypes);
  const owner = call.caller.sub;
  await withScope(ctx.session, call, async (scope) => {
    try {
      await scope.tx.query(
        `insert into storage.buckets
           (id, name, owner, owner_id, public, file_size_limit, allowed_mime_types)
         values ($1, $2, $3::uuid, $4, $5, $6, $7::text[])`,
        [
          id,
          body.name,
          owner && isUuid(owner) ? owner : null,
          owner ?? null,
          body.public ?? false,
          limit ?? null,
          mimeTypes ?? null,
        ],
      );
    } catch (error) {
      if (isPgError(error) && error.code === "23505") throw ERRORS.bucketAlreadyExists(error);
      throw error;
    }
  });
  return { name: body.name };
}

/** `PUT /bucket/{id}`: changes only the fields sent; NoSuchBucket when no row could be updated. */
export async function updateBucket(
  ctx: StorageContext,
  call: Call,
  id: string,
  body: UpdateBucketBody,
): Promise<void> {
  mustBeValidBucketName(id);
  const sets = ["updated_at = now()"];
  const params: unknown[] = [id];
  if (body.public !== undefined) {
    params.push(body.public);
    sets.push(`public = $${params.length}`);
  }
  if (body.file_size_limit !== undefined) {
    params.push(sizeLimit(body.file_size_limit, ctx.fileSizeLimit) ?? null);
    sets.push(`file_size_limit = $${params.length}`);
  }
  if (body.allowed_mime_types !== undefined) {
    const mimeTypes = body.allowed_mime_types?.filter((mime) => mime) ?? null;
    if (mimeTypes) mustBeValidMimeRules(mimeTypes);
    params.push(mimeTypes);
    sets.push(`allowed_mime_types = $${params.length}::text[]`);
  }
  await withScope(ctx.session, call, async (scope) => {
    const { affectedRows } = await scope.tx.query(
      `update storage.buckets set ${sets.join(", ")} where id = $1`,
      params,
    );
    if (!affectedRows) throw ERRORS.noSuchBucket();
  });
}

/** `POST /bucket/{id}/empty`: service role only; deletes every object and its bytes. */
export async function emptyBucket(ctx: StorageContext, call: Call, id: string): Promise<void> {
  if (call.caller.role !== "service_role") {
    throw ERRORS.accessDenied("Emptying a bucket requires the service_role key");
  }
  const versions = await withScope(ctx.session, call, async (scope) => {
    if (!(await findBucket(scope.tx, id))) throw ERRORS.noSuchBucket();
    const { rows } = await scope.tx.query<{ version: string | null }>(
      "delete from storage.objects where bucket_id = $1 returning version",
      [id],
    );
    return rows.map((r) => r.version);
  });
  await ctx.blobs.removeAll(versions);
}

/** `DELETE /bucket/{id}`: ResourceNotEmpty while objects remain; the DELETE policy decides. */
export async function deleteBucket(ctx: StorageContext, call: Call, id: string): Promise<void> {
  await withScope(ctx.session, call, async (scope) => {
    const found = await scope.asAdmin(async (tx) => {
      const { rows } = await tx.query<{ found: boolean; empty: boolean }>(
        `select exists (select 1 from storage.buckets where id = $1) as found,
                not exists (select 1 from storage.objects where bucket_id = $1) as empty`,
        [id],
      );
      return rows[0]!;
    });
    if (!found.found) throw ERRORS.noSuchBucket();
    if (!found.empty) throw ERRORS.bucketNotEmpty();
    const { affectedRows } = await scope.tx.query("delete from storage.buckets where id = $1", [
      id,
    ]);
    if (!affectedRows) throw ERRORS.noSuchBucket();
  });
}

function sizeLimit(
  value: number | string | null | undefined,
  globalLimit: number,
): number | null | undefined {
  if (value === null || value === undefined) return value;
  return parseBucketSizeLimit(value, globalLimit);
}

function optionalCount(value: string | undefined, name: string): number | undefined {
  if (value === undefined || value === "") return undefined;
  const number = Number(value);
  if (!Number.isSafeInteger(number) || number < 0) {
    throw ERRORS.invalidRequest(`querystring/${name} must be a non-negative integer`);
  }
  return number;
}

function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}
