/**
 * Object operations, each one request in one transaction (supabase/storage `src/storage/object.ts`
 * and `uploader.ts` are the model):
 * - writes first ask the policies as the caller (a rolled-back INSERT or upsert), then write the
 *   row as the storage admin, as upstream does;
 * - reads, lists, deletes and moves run as the caller, so SELECT, DELETE and UPDATE policies
 *   decide; public buckets are read as the storage admin.
 * New bytes are on disk before the row points at them and are removed if the transaction fails;
 * bytes a committed change replaced or deleted are removed after the commit.
 */
import type { StorageContext } from "./context.ts";
import { ERRORS } from "./errors.ts";
import { isAllowedMimeType, isEmptyFolderPlaceholder, isUuid, mustBeValidKey } from "./names.ts";
import {
  type BucketRow,
  findBucket,
  findObject,
  lockCurrentVersion,
  type ObjectMetadata,
  type ObjectRow,
  writeObject,
} from "./rows.ts";
import type { CopyBody, ListBody, MoveBody } from "./schemas.ts";
import { type Call, withScope } from "./scope.ts";
import { type IncomingFile, receiveUpload, userMetadataHeader } from "./uploads.ts";

export interface UploadTarget {
  bucketId: string;
  name: string;
  upsert: boolean;
  /** The JWT sub recorded as owner. */
  owner: string | undefined;
  /** Signed upload URLs: the token already carries the permission, so RLS is not asked. */
  bypassRls?: boolean;
}

/** Stores an upload (POST/PUT /object/..., PUT /object/upload/sign/...). */
export async function uploadObject(
  ctx: StorageContext,
  call: Call,
  request: Request,
  target: UploadTarget,
): Promise<{ id: string; key: string }> {
  const { bucketId, name, upsert, owner } = target;
  mustBeValidKey(name);
  const limit = isEmptyFolderPlaceholder(name) ? 0 : ctx.fileSizeLimit;
  const file = await receiveUpload(request, ctx.blobs, limit);
  let written: { id: string; replaced: string | null };
  try {
    written = await withScope(ctx.session, call, async (scope) => {
      const bucket = await scope.asAdmin((tx) => findBucket(tx, bucketId));
      if (!bucket) throw ERRORS.noSuchBucket();
      if (!target.bypassRls) {
        await scope.testPermission((tx) =>
          writeObject(tx, { bucketId, name, owner, version: "1" }, { upsert, returning: upsert })
        );
      }
      checkUploadLimits(file, bucket, name, ctx.fileSizeLimit);
      return await scope.asAdmin(async (tx) => {
        const replaced = upsert ? await lockCurrentVersion(tx, bucketId, name) : null;
        const id = await writeObject(tx, {
          bucketId,
          name,
          owner,
          version: file.version,
          metadata: systemMetadata(file),
          userMetadata: file.userMetadata,
        }, { upsert, returning: true });
        return { id: id!, replaced };
      });
    });
  } catch (error) {
    await ctx.blobs.removeAll([file.version]);
    throw error;
  }
  await ctx.blobs.removeAll([written.replaced]);
  return { id: written.id, key: `${bucketId}/${name}` };
}

/** Bucket MIME rules first, then the size limits (the bucket's, capped by the global one). */
function checkUploadLimits(
  file: IncomingFile,
  bucket: BucketRow,
  name: string,
  globalLimit: number,
): void {
  const placeholder = isEmptyFolderPlaceholder(name);
  const allowed = bucket.allowed_mime_types ?? [];
  if (!placeholder && allowed.length > 0 && !isAllowedMimeType(file.mimetype, allowed)) {
    throw ERRORS.invalidMimeType(file.mimetype);
  }
  const limit = placeholder ? 0 : Math.min(globalLimit, bucket.file_size_limit ?? Infinity);
  if (file.tooLarge || file.size > limit) throw ERRORS.entityTooLarge();
}

function systemMetadata(file: IncomingFile): ObjectMetadata {
  return {
    eTag: file.eTag,
    size: file.size,
    mimetype: file.mimetype,
    cacheControl: file.cacheControl,
    lastModified: new Date().toISOString(),
    contentLength: file.size,
    httpStatusCode: 200,
  };
}

/**
 * Which route an object is read through: `default` (`/object/{bucket}/...`: anon allowed),
 * `authenticated` (a valid JWT required), `public` (public buckets only, no RLS) or `signed`
 * (a verified signed-URL token, no RLS).
 */
export type ReadRoute = "default" | "authenticated" | "public" | "signed";

/**
 * The object a download, HEAD or info request asks for. As upstream: a public bucket is read as
 * the storage admin, a private one as the caller (SELECT policies), and a caller without a valid
 * JWT sees only public buckets.
 */
export function findReadableObject(
  ctx: StorageContext,
  call: Call,
  target: { bucketId: string; name: string; route: ReadRoute },
): Promise<ObjectRow> {
  const { bucketId, name, route } = target;
  mustBeValidKey(name);
  return withScope(ctx.session, call, async (scope) => {
    if (route === "signed") {
      // The token is the permission: read as the storage admin, whatever the bucket.
      const row = await scope.asAdmin((tx) => findObject(tx, bucketId, name));
      if (!row) throw ERRORS.noSuchKey();
      return row;
    }
    const bucket = await scope.asAdmin((tx) => findBucket(tx, bucketId));
    const anonymous = route === "public" || !call.caller.authenticated;
    if (!bucket || (anonymous && !bucket.public)) throw ERRORS.noSuchBucket();
    const row = bucket.public
      ? await scope.asAdmin((tx) => findObject(tx, bucketId, name))
      : await findObject(scope.tx, bucketId, name);
    if (!row) throw ERRORS.noSuchKey();
    return row;
  });
}

/** `DELETE /object/{bucket}` with `{prefixes}`: deletes what the DELETE and SELECT policies allow. */
export async function removeObjects(
  ctx: StorageContext,
  call: Call,
  bucketId: string,
  names: string[],
): Promise<ObjectRow[]> {
  const rows = await withScope(ctx.session, call, async (scope) => {
    const { rows } = await scope.tx.query<{ row: ObjectRow }>(
      `delete from storage.objects o where o.bucket_id = $1 and o.name = any($2::text[])
       returning to_jsonb(o) as row`,
      [bucketId, names],
    );
    return rows.map((r) => r.row);
  });
  await ctx.blobs.removeAll(rows.map((row) => row.version));
  return rows;
}

/** `DELETE /object/{bucket}/{path}`: one object, NoSuchKey when the caller may not delete it. */
export async function removeObject(
  ctx: StorageContext,
  call: Call,
  bucketId: string,
  name: string,
): Promise<void> {
  mustBeValidKey(name);
  const version = await withScope(ctx.session, call, async (scope) => {
    const found = await scope.asAdmin((tx) => findObject(tx, bucketId, name, { forUpdate: true }));
    if (!found) throw ERRORS.noSuchKey();
    const { rows } = await scope.tx.query<{ version: string | null }>(
      "delete from storage.objects where bucket_id = $1 and name = $2 returning version",
      [bucketId, name],
    );
    if (rows.length === 0) throw ERRORS.noSuchKey();
    return rows[0]!.version;
  });
  await ctx.blobs.removeAll([version]);
}

/** The rows `storage.search` returns: one level below the prefix, folders first. */
export interface ListEntry {
  name: string;
  id: string | null;
  updated_at: string | null;
  created_at: string | null;
  last_accessed_at: string | null;
  metadata: Record<string, unknown> | null;
}

/**
 * `POST /object/list/{bucket}`: storage.search as the caller, with the prefix taken as a folder
 * and `levels` = its depth, as upstream's searchObjects.
 */
export function listObjects(
  ctx: StorageContext,
  call: Call,
  bucketId: string,
  body: ListBody,
): Promise<ListEntry[]> {
  let prefix = body.prefix;
  if (prefix.length > 0 && !prefix.endsWith("/")) prefix = `${prefix}/`;
  return withScope(ctx.session, call, async (scope) => {
    const { rows } = await scope.tx.query<{ row: ListEntry }>(
      "select to_jsonb(s) as row from storage.search($1, $2, $3, $4, $5, $6, $7, $8) s",
      [
        prefix,
        bucketId,
        body.limit ?? 100,
        prefix.split("/").length,
        body.offset ?? 0,
        body.search ?? "",
        body.sortBy?.column ?? "name",
        body.sortBy?.order.toLowerCase() ?? "asc",
      ],
    );
    return rows.map((r) => r.row);
  });
}

/**
 * `POST /object/move`: renames the row. The caller needs SELECT on the source and UPDATE on both
 * the old and the new row (USING and WITH CHECK), tested as upstream does; the mover becomes the
 * owner. The bytes stay where they are: they are keyed by version, not by name, so unlike upstream
 * (whose S3 keys contain the name) a move keeps its version.
 */
export async function moveObject(ctx: StorageContext, call: Call, body: MoveBody): Promise<void> {
  const { bucketId, sourceKey, destinationKey } = body;
  const destinationBucket = body.destinationBucket || bucketId;
  mustBeValidKey(destinationKey);
  const owner = call.caller.sub;
  await withScope(ctx.session, call, async (scope) => {
    const bucket = await scope.asAdmin((tx) => findBucket(tx, destinationBucket));
    if (!bucket) throw ERRORS.noSuchBucket();
    const sets = ["name = $3", "bucket_id = $4"];
    const params: unknown[] = [bucketId, sourceKey, destinationKey, destinationBucket];
    if (owner) {
      params.push(owner);
      if (isUuid(owner)) sets.push("owner = $5::uuid");
      sets.push("owner_id = $5");
    }
    const rename = `update storage.objects set ${
      sets.join(", ")
    } where bucket_id = $1 and name = $2`;
    await scope.testPermission(async (tx) => {
      if (!(await findObject(tx, bucketId, sourceKey))) throw ERRORS.noSuchKey();
      const { affectedRows } = await tx.query(rename, params);
      if (!affectedRows) throw ERRORS.noSuchKey();
    });
    if (bucketId === destinationBucket && sourceKey === destinationKey) return;
    await scope.asAdmin(async (tx) => {
      await tx.query(rename, params);
    });
  });
}

/**
 * `POST /object/copy`: the caller must be able to read the source (SELECT) and to upload the
 * destination (INSERT, or upsert with `x-upsert: true`). The copy gets new bytes on disk, a new
 * version and the caller as owner; metadata comes from the source unless `copyMetadata` is false.
 */
export async function copyObject(
  ctx: StorageContext,
  call: Call,
  request: Request,
  body: CopyBody,
): Promise<ObjectRow> {
  const { bucketId, sourceKey, destinationKey } = body;
  const destinationBucket = body.destinationBucket || bucketId;
  mustBeValidKey(destinationKey);
  const upsert = request.headers.get("x-upsert") === "true";
  const copyMetadata = body.copyMetadata ?? true;
  const owner = call.caller.sub;
  let version: string | undefined;
  let result: { row: ObjectRow; replaced: string | null };
  try {
    result = await withScope(ctx.session, call, async (scope) => {
      const source = await findObject(scope.tx, bucketId, sourceKey);
      if (!source?.version) throw ERRORS.noSuchKey();
      const bucket = await scope.asAdmin((tx) => findBucket(tx, destinationBucket));
      if (!bucket) throw ERRORS.noSuchBucket();
      await scope.testPermission((tx) =>
        writeObject(tx, {
          bucketId: destinationBucket,
          name: destinationKey,
          owner,
          version: "1",
        }, { upsert, returning: upsert })
      );
      version = await copyBytes(ctx, source.version);
      const metadata = {
        ...(source.metadata ?? {}),
        ...(copyMetadata ? {} : body.metadata ?? {}),
        lastModified: new Date().toISOString(),
      };
      return await scope.asAdmin(async (tx) => {
        const replaced = await lockCurrentVersion(tx, destinationBucket, destinationKey);
        await writeObject(tx, {
          bucketId: destinationBucket,
          name: destinationKey,
          owner,
          version: version!,
          metadata,
          userMetadata: copyMetadata ? source.user_metadata : userMetadataHeader(request),
        }, { upsert: true, returning: true });
        const row = await findObject(tx, destinationBucket, destinationKey);
        return { row: row!, replaced };
      });
    });
  } catch (error) {
    await ctx.blobs.removeAll([version]);
    throw error;
  }
  await ctx.blobs.removeAll([result.replaced]);
  return result.row;
}

async function copyBytes(ctx: StorageContext, version: string): Promise<string> {
  try {
    return await ctx.blobs.copy(version);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) throw ERRORS.noSuchKey();
    throw error;
  }
}
