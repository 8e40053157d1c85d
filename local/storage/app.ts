/**
 * The Storage API emulator: the routes of supabase/storage that @supabase/storage-js calls, for
 * the gateway to mount with `gateway.route("/storage/v1", createStorageApp(deps))`. Routes only
 * say who may call (the JWT is required, or a missing/invalid one means anon, upstream's
 * allowInvalidJwt) and which operation runs; the work lives in objects.ts, signed.ts and
 * buckets.ts. Specific routes come before the catch-all `/object/:bucket/*` ones, as a bucket
 * named "list" or "sign" is shadowed upstream too.
 */
import { type Context, Hono } from "hono";
import type { LocalKeys } from "../keys.ts";
import type { Session } from "../postgres/session.ts";
import { BlobStore } from "./blobs.ts";
import {
  createBucket,
  deleteBucket,
  emptyBucket,
  getBucket,
  listBuckets,
  updateBucket,
} from "./buckets.ts";
import type { StorageContext } from "./context.ts";
import { errorResponse, ERRORS } from "./errors.ts";
import { readJson } from "./json.ts";
import { mustBeValidBucketName } from "./names.ts";
import {
  copyObject,
  findReadableObject,
  listObjects,
  moveObject,
  type ReadRoute,
  removeObject,
  removeObjects,
  uploadObject,
} from "./objects.ts";
import { listObjectsV2, ListV2Body } from "./list-v2.ts";
import { renderInfo, renderObject } from "./render.ts";
import {
  CopyBody,
  CreateBucketBody,
  ListBody,
  MoveBody,
  RemoveBody,
  SignBody,
  SignManyBody,
  UpdateBucketBody,
} from "./schemas.ts";
import { authenticate, type Call } from "./scope.ts";
import {
  signObjectUrl,
  signObjectUrls,
  signUploadUrl,
  verifyDownloadToken,
  verifyUploadToken,
} from "./signed.ts";

export interface StorageDeps {
  session: Session;
  keys: LocalKeys;
  /** Folder for object bytes. */
  storageDir: string;
  /** Global upload cap in bytes (config.toml [storage] file_size_limit). */
  fileSizeLimit: number;
  /** Sees the cause of every 500, for the stack's logger. */
  onInternalError?: (error: unknown) => void;
}

/** Upstream's operation names, readable in SQL as storage.operation(). */
const OP = {
  listBuckets: "storage.bucket.list",
  getBucket: "storage.bucket.get",
  createBucket: "storage.bucket.create",
  updateBucket: "storage.bucket.update",
  emptyBucket: "storage.bucket.empty",
  deleteBucket: "storage.bucket.delete",
  upload: "storage.object.upload",
  update: "storage.object.upload_update",
  getAuthenticated: "storage.object.get_authenticated",
  getPublic: "storage.object.get_public",
  getSigned: "storage.object.get_signed",
  headAuthenticated: "storage.object.head_authenticated_info",
  infoAuthenticated: "storage.object.info_authenticated",
  infoPublic: "storage.object.info_public",
  list: "storage.object.list",
  delete: "storage.object.delete",
  deleteMany: "storage.object.delete_many",
  move: "storage.object.move",
  copy: "storage.object.copy",
  sign: "storage.object.sign",
  signMany: "storage.object.sign_many",
  signUpload: "storage.object.sign_upload_url",
  uploadSigned: "storage.object.upload_signed",
} as const;

/** `required`: a valid JWT or AccessDenied; `optional`: no or an invalid JWT means anon. */
type Auth = "required" | "optional";

export function createStorageApp(deps: StorageDeps): Hono {
  const ctx: StorageContext = {
    session: deps.session,
    keys: deps.keys,
    blobs: new BlobStore(deps.storageDir),
    fileSizeLimit: deps.fileSizeLimit,
  };
  const app = new Hono();
  app.onError((error) => errorResponse(error, deps.onInternalError));

  const callOf = async (c: Context, operation: string, auth: Auth): Promise<Call> => ({
    caller: await authenticate(c.req.raw, ctx.keys, { allowAnon: auth === "optional" }),
    operation,
    method: c.req.method,
    path: apiPath(c.req.url),
    headers: c.req.raw.headers,
  });
  const object = (c: Context) => ({ bucketId: bucketOf(c), name: c.req.param("name")! });

  // Buckets
  app.get("/bucket", async (c) => {
    const call = await callOf(c, OP.listBuckets, "required");
    return c.json(await listBuckets(ctx, call, c.req.query()));
  });
  app.get("/bucket/:id", async (c) => {
    const call = await callOf(c, OP.getBucket, "required");
    return c.json(await getBucket(ctx, call, c.req.param("id")));
  });
  app.post("/bucket", async (c) => {
    const call = await callOf(c, OP.createBucket, "required");
    return c.json(await createBucket(ctx, call, await readJson(c.req.raw, CreateBucketBody)));
  });
  app.put("/bucket/:id", async (c) => {
    const call = await callOf(c, OP.updateBucket, "required");
    await updateBucket(ctx, call, c.req.param("id"), await readJson(c.req.raw, UpdateBucketBody));
    return c.json({ message: "Successfully updated" });
  });
  app.post("/bucket/:id/empty", async (c) => {
    const call = await callOf(c, OP.emptyBucket, "required");
    await emptyBucket(ctx, call, c.req.param("id"));
    return c.json({ message: "Empty bucket has been queued. Completion may take up to an hour." });
  });
  app.delete("/bucket/:id", async (c) => {
    const call = await callOf(c, OP.deleteBucket, "required");
    await deleteBucket(ctx, call, c.req.param("id"));
    return c.json({ message: "Successfully deleted" });
  });

  // Objects: fixed paths first
  app.post("/object/move", async (c) => {
    const call = await callOf(c, OP.move, "required");
    await moveObject(ctx, call, await readJson(c.req.raw, MoveBody));
    return c.json({ message: "Successfully moved" });
  });
  app.post("/object/copy", async (c) => {
    const call = await callOf(c, OP.copy, "required");
    const body = await readJson(c.req.raw, CopyBody);
    const row = await copyObject(ctx, call, c.req.raw, body);
    return c.json({ Id: row.id, Key: `${row.bucket_id}/${row.name}`, ...row });
  });
  app.post("/object/list/:bucket", async (c) => {
    const call = await callOf(c, OP.list, "required");
    const body = await readJson(c.req.raw, ListBody);
    return c.json(await listObjects(ctx, call, bucketOf(c), body));
  });
  app.post("/object/list-v2/:bucket", async (c) => {
    const call = await callOf(c, OP.list, "required");
    const body = await readJson(c.req.raw, ListV2Body);
    return c.json(await listObjectsV2(ctx, call, bucketOf(c), body));
  });

  // Signed URLs
  app.post("/object/sign/:bucket/:name{[\\s\\S]+}", async (c) => {
    const call = await callOf(c, OP.sign, "required");
    const { expiresIn, transform } = await readJson(c.req.raw, SignBody);
    if (transform && Object.keys(transform).length > 0) {
      throw ERRORS.notEmulated("Image transformations");
    }
    return c.json(await signObjectUrl(ctx, call, { ...object(c), expiresIn }));
  });
  app.post("/object/sign/:bucket", async (c) => {
    const call = await callOf(c, OP.signMany, "required");
    const { expiresIn, paths } = await readJson(c.req.raw, SignManyBody);
    const bucketId = bucketOf(c);
    return c.json(await signObjectUrls(ctx, call, { bucketId, paths, expiresIn }));
  });
  app.get("/object/sign/:bucket/:name{[\\s\\S]+}", async (c) => {
    const expires = await verifyDownloadToken(ctx, { ...object(c), token: tokenOf(c) });
    const call = await callOf(c, OP.getSigned, "optional");
    const row = await findReadableObject(ctx, call, { ...object(c), route: "signed" });
    return await renderObject(ctx.blobs, c.req.raw, row, {
      download: c.req.query("download") ?? null,
      expires,
      head: c.req.method === "HEAD",
    });
  });
  app.post("/object/upload/sign/:bucket/:name{[\\s\\S]+}", async (c) => {
    const call = await callOf(c, OP.signUpload, "required");
    const upsert = c.req.header("x-upsert") === "true";
    return c.json(await signUploadUrl(ctx, call, { ...object(c), upsert }));
  });
  app.put("/object/upload/sign/:bucket/:name{[\\s\\S]+}", async (c) => {
    const { owner, upsert } = await verifyUploadToken(ctx, { ...object(c), token: tokenOf(c) });
    const call = await callOf(c, OP.uploadSigned, "optional");
    const { key } = await uploadObject(ctx, call, c.req.raw, {
      ...object(c),
      upsert,
      owner,
      bypassRls: true,
    });
    return c.json({ Key: key });
  });

  // Object info and downloads (Hono answers HEAD with the GET route and drops the body)
  const info = (route: ReadRoute, operation: string, auth: Auth) => async (c: Context) => {
    const call = await callOf(c, operation, auth);
    return renderInfo(await findReadableObject(ctx, call, { ...object(c), route }));
  };
  app.get(
    "/object/info/public/:bucket/:name{[\\s\\S]+}",
    info("public", OP.infoPublic, "optional"),
  );
  app.get(
    "/object/info/authenticated/:bucket/:name{[\\s\\S]+}",
    info("authenticated", OP.infoAuthenticated, "required"),
  );
  app.get(
    "/object/info/:bucket/:name{[\\s\\S]+}",
    info("default", OP.infoAuthenticated, "optional"),
  );

  const download = (route: ReadRoute, operation: string, auth: Auth) => async (c: Context) => {
    const head = c.req.method === "HEAD";
    const call = await callOf(c, head ? OP.headAuthenticated : operation, auth);
    const row = await findReadableObject(ctx, call, { ...object(c), route });
    return await renderObject(ctx.blobs, c.req.raw, row, {
      download: c.req.query("download") ?? null,
      head,
    });
  };
  app.get("/object/public/:bucket/:name{[\\s\\S]+}", download("public", OP.getPublic, "optional"));
  app.get(
    "/object/authenticated/:bucket/:name{[\\s\\S]+}",
    download("authenticated", OP.getAuthenticated, "required"),
  );
  app.get("/object/:bucket/:name{[\\s\\S]+}", download("default", OP.getAuthenticated, "optional"));

  // Uploads and deletes
  app.post("/object/:bucket/:name{[\\s\\S]+}", async (c) => {
    const call = await callOf(c, OP.upload, "required");
    const upsert = c.req.header("x-upsert") === "true";
    const owner = call.caller.sub;
    const { id, key } = await uploadObject(ctx, call, c.req.raw, { ...object(c), upsert, owner });
    return c.json({ Id: id, Key: key });
  });
  app.put("/object/:bucket/:name{[\\s\\S]+}", async (c) => {
    const call = await callOf(c, OP.update, "required");
    const owner = call.caller.sub;
    const { id, key } = await uploadObject(ctx, call, c.req.raw, {
      ...object(c),
      upsert: true,
      owner,
    });
    return c.json({ Id: id, Key: key });
  });
  app.delete("/object/:bucket/:name{[\\s\\S]+}", async (c) => {
    const call = await callOf(c, OP.delete, "required");
    const { bucketId, name } = object(c);
    await removeObject(ctx, call, bucketId, name);
    return c.json({ message: "Successfully deleted" });
  });
  app.delete("/object/:bucket", async (c) => {
    const call = await callOf(c, OP.deleteMany, "required");
    const { prefixes } = await readJson(c.req.raw, RemoveBody);
    return c.json(await removeObjects(ctx, call, bucketOf(c), prefixes));
  });

  app.all("/render/image/*", () => {
    throw ERRORS.notEmulated("Image transformations");
  });
  app.all("*", (c) => {
    throw ERRORS.routeNotFound(c.req.method, apiPath(c.req.url));
  });
  return app;
}

/** The `:bucket` of an object route, checked as upstream's `storage.from(bucket)` does. */
function bucketOf(c: Context): string {
  const bucketId = c.req.param("bucket") ?? "";
  mustBeValidBucketName(bucketId);
  return bucketId;
}

function tokenOf(c: Context): string {
  const token = c.req.query("token");
  if (!token) throw ERRORS.invalidRequest("querystring must have required property 'token'");
  return token;
}

/** The path as upstream sees it: behind the gateway, without the `/storage/v1` mount point. */
function apiPath(url: string): string {
  const { pathname } = new URL(url);
  return pathname.startsWith("/storage/v1/") ? pathname.slice("/storage/v1".length) : pathname;
}
