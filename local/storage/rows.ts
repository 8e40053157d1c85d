/**
 * The rows of storage.buckets and storage.objects, read and written with plain SQL. Rows come
 * back through to_jsonb so values look as upstream sends them (timestamps as Postgres renders them
 * in JSON, bigint limits as numbers). Whether RLS applies depends on the role the scope is in.
 */
import type { SessionHandle } from "../postgres/session.ts";
import { ERRORS, isPgError } from "./errors.ts";
import { isUuid } from "./names.ts";

export interface BucketRow {
  id: string;
  name: string;
  owner: string | null;
  owner_id: string | null;
  public: boolean | null;
  type: string;
  file_size_limit: number | null;
  allowed_mime_types: string[] | null;
  created_at: string;
  updated_at: string;
}

/** The system metadata upstream keeps per object (`src/storage/backend/adapter.ts`). */
export interface ObjectMetadata {
  eTag: string;
  size: number;
  mimetype: string;
  cacheControl: string;
  lastModified: string;
  contentLength: number;
  httpStatusCode: number;
}

export interface ObjectRow {
  id: string;
  bucket_id: string;
  name: string;
  owner: string | null;
  owner_id: string | null;
  version: string | null;
  metadata: Partial<ObjectMetadata> | null;
  user_metadata: Record<string, unknown> | null;
  created_at: string;
  updated_at: string;
  last_accessed_at: string;
  path_tokens?: string[];
}

export async function findBucket(tx: SessionHandle, id: string): Promise<BucketRow | undefined> {
  const { rows } = await tx.query<{ row: BucketRow }>(
    "select to_jsonb(b) as row from storage.buckets b where b.id = $1",
    [id],
  );
  return rows[0]?.row;
}

export async function findObject(
  tx: SessionHandle,
  bucketId: string,
  name: string,
  options: { forUpdate?: boolean } = {},
): Promise<ObjectRow | undefined> {
  const { rows } = await tx.query<{ row: ObjectRow }>(
    `select to_jsonb(o) - 'path_tokens' as row from storage.objects o
     where o.bucket_id = $1 and o.name = $2${options.forUpdate ? " for update" : ""}`,
    [bucketId, name],
  );
  return rows[0]?.row;
}

/** A row to insert; `owner` is the writer's JWT sub. */
export interface NewObject {
  bucketId: string;
  name: string;
  owner: string | undefined;
  version: string;
  metadata?: Partial<ObjectMetadata> | null;
  userMetadata?: Record<string, unknown> | null;
}

/**
 * Inserts an object row, or with `upsert` replaces the row of the same name, with the statements
 * upstream uses (`src/storage/database/knex.ts`): a plain INSERT for a new object (so only INSERT
 * policies apply) and INSERT ... ON CONFLICT DO UPDATE ... RETURNING for an upsert (so INSERT,
 * UPDATE and SELECT policies apply). `owner` is set only when the sub is a uuid; an upsert keeps
 * the previous owner when the writer has none. Returns the row id when `returning`.
 */
export async function writeObject(
  tx: SessionHandle,
  object: NewObject,
  options: { upsert: boolean; returning: boolean },
): Promise<string | undefined> {
  const owner = object.owner && isUuid(object.owner) ? object.owner : null;
  const merged = ["version = excluded.version"];
  if (object.metadata !== undefined) merged.push("metadata = excluded.metadata");
  if (object.userMetadata !== undefined) merged.push("user_metadata = excluded.user_metadata");
  if (owner) merged.push("owner = excluded.owner");
  if (object.owner !== undefined) merged.push("owner_id = excluded.owner_id");
  const sql = `insert into storage.objects as o
      (bucket_id, name, owner, owner_id, version, metadata, user_metadata)
    values ($1, $2, $3::uuid, $4, $5, $6::jsonb, $7::jsonb)` +
    (options.upsert ? ` on conflict (bucket_id, name) do update set ${merged.join(", ")}` : "") +
    (options.returning ? " returning o.id" : "");
  try {
    const { rows } = await tx.query<{ id: string }>(sql, [
      object.bucketId,
      object.name,
      owner,
      object.owner ?? null,
      object.version,
      jsonOrNull(object.metadata),
      jsonOrNull(object.userMetadata),
    ]);
    return rows[0]?.id;
  } catch (error) {
    if (!options.upsert && isPgError(error) && error.code === "23505") {
      throw ERRORS.keyAlreadyExists(error);
    }
    throw error;
  }
}

/** The version of the row a write is about to replace, locked until the end of the request. */
export async function lockCurrentVersion(
  tx: SessionHandle,
  bucketId: string,
  name: string,
): Promise<string | null> {
  const { rows } = await tx.query<{ version: string | null }>(
    "select version from storage.objects where bucket_id = $1 and name = $2 for update",
    [bucketId, name],
  );
  return rows[0]?.version ?? null;
}

function jsonOrNull(value: unknown): string | null {
  return value === undefined || value === null ? null : JSON.stringify(value);
}
