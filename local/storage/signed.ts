/**
 * Signed URLs. A signed download URL carries an HS256 token over the JWT secret (upstream's
 * default URL-signing key) with `{url: "<bucket>/<path>", iat, exp}`; whoever holds it may read
 * that one object without any other credential. A signed upload URL carries `{owner, url,
 * upsert}` and lets its holder upload that one path as the owner who asked for it, for two hours.
 * A `scope` claim ("download" or "upload") keeps one kind of token from being used as the other.
 */
import { errors as joseErrors, jwtVerify } from "jose";
import type { StorageContext } from "./context.ts";
import { ERRORS } from "./errors.ts";
import { mustBeValidKey } from "./names.ts";
import { findBucket, findObject, writeObject } from "./rows.ts";
import { type Call, withScope } from "./scope.ts";

/** Upstream's lifetime of a signed upload URL (uploadSignedUrlExpirationTime). */
const UPLOAD_URL_SECONDS = 2 * 60 * 60;

/** `POST /object/sign/{bucket}/{path}`: the caller must be able to read the object (SELECT). */
export async function signObjectUrl(
  ctx: StorageContext,
  call: Call,
  target: { bucketId: string; name: string; expiresIn: number },
): Promise<{ signedURL: string }> {
  const { bucketId, name } = target;
  mustBeValidKey(name);
  await withScope(ctx.session, call, async (scope) => {
    if (!(await findObject(scope.tx, bucketId, name))) throw ERRORS.noSuchKey();
  });
  const url = `${bucketId}/${name}`;
  const token = await sign(ctx, { url, scope: "download" }, target.expiresIn);
  return { signedURL: `/object/sign/${url}?token=${token}` };
}

export interface SignedUrlResult {
  error: string | null;
  path: string;
  signedURL: string | null;
}

/** `POST /object/sign/{bucket}` with `{paths}`: one entry per path, an error for the unreadable. */
export async function signObjectUrls(
  ctx: StorageContext,
  call: Call,
  target: { bucketId: string; paths: string[]; expiresIn: number },
): Promise<SignedUrlResult[]> {
  const { bucketId, paths } = target;
  const readable = await withScope(ctx.session, call, async (scope) => {
    const { rows } = await scope.tx.query<{ name: string }>(
      "select name from storage.objects where bucket_id = $1 and name = any($2::text[])",
      [bucketId, paths],
    );
    return new Set(rows.map((r) => r.name));
  });
  return await Promise.all(paths.map(async (path) => {
    if (!readable.has(path)) {
      return {
        error: "Either the object does not exist or you do not have access to it",
        path,
        signedURL: null,
      };
    }
    const url = `${bucketId}/${path}`;
    const token = await sign(ctx, { url, scope: "download" }, target.expiresIn);
    return { error: null, path, signedURL: `/object/sign/${url}?token=${token}` };
  }));
}

/** `GET /object/sign/{bucket}/{path}?token=`: the token's expiry, once it is found valid. */
export async function verifyDownloadToken(
  ctx: StorageContext,
  target: { bucketId: string; name: string; token: string },
): Promise<Date> {
  const payload = await verify(ctx, target);
  if (payload.scope !== undefined && payload.scope !== "download") throw ERRORS.invalidSignature();
  return new Date(payload.exp * 1000);
}

/**
 * `POST /object/upload/sign/{bucket}/{path}`: the caller must be allowed to upload there now
 * (INSERT, or upsert with `x-upsert: true`), as upstream checks before signing.
 */
export async function signUploadUrl(
  ctx: StorageContext,
  call: Call,
  target: { bucketId: string; name: string; upsert: boolean },
): Promise<{ url: string; token: string }> {
  const { bucketId, name, upsert } = target;
  mustBeValidKey(name);
  const owner = call.caller.sub;
  await withScope(ctx.session, call, async (scope) => {
    if (!(await scope.asAdmin((tx) => findBucket(tx, bucketId)))) throw ERRORS.noSuchBucket();
    await scope.testPermission((tx) =>
      writeObject(tx, { bucketId, name, owner, version: "1" }, { upsert, returning: upsert })
    );
  });
  const url = `${bucketId}/${name}`;
  const token = await sign(ctx, { owner, url, upsert, scope: "upload" }, UPLOAD_URL_SECONDS);
  return { url: `/object/upload/sign/${url}?token=${token}`, token };
}

/** `PUT /object/upload/sign/{bucket}/{path}?token=`: who the upload is for, and whether it may replace. */
export async function verifyUploadToken(
  ctx: StorageContext,
  target: { bucketId: string; name: string; token: string },
): Promise<{ owner: string | undefined; upsert: boolean }> {
  const payload = await verify(ctx, target);
  if (payload.scope !== "upload") throw ERRORS.invalidSignature();
  return {
    owner: typeof payload.owner === "string" ? payload.owner : undefined,
    upsert: payload.upsert === true,
  };
}

function sign(
  ctx: StorageContext,
  claims: Record<string, unknown>,
  expiresIn: number,
): Promise<string> {
  const iat = Math.floor(Date.now() / 1000);
  return ctx.keys.signHs256({ ...claims, iat, exp: iat + expiresIn });
}

interface SignedPayload {
  url: string;
  exp: number;
  scope?: string;
  owner?: unknown;
  upsert?: unknown;
}

/** Verifies a URL token and that it was signed for this very object; messages as upstream's. */
async function verify(
  ctx: StorageContext,
  target: { bucketId: string; name: string; token: string },
): Promise<SignedPayload> {
  let payload: Record<string, unknown>;
  try {
    ({ payload } = await jwtVerify(target.token, new TextEncoder().encode(ctx.keys.jwtSecret), {
      algorithms: ["HS256"],
    }));
  } catch (error) {
    throw ERRORS.invalidJwt(describeTokenError(error));
  }
  if (typeof payload.url !== "string" || typeof payload.exp !== "number") {
    throw ERRORS.invalidSignature();
  }
  if (payload.url !== `${target.bucketId}/${target.name}`) throw ERRORS.invalidSignature();
  if (payload.exp * 1000 < Date.now()) throw ERRORS.expiredSignature();
  return payload as unknown as SignedPayload;
}

function describeTokenError(error: unknown): string {
  if (error instanceof joseErrors.JWTExpired) return "jwt expired";
  if (error instanceof joseErrors.JWSSignatureVerificationFailed) return "invalid signature";
  if (error instanceof joseErrors.JOSEAlgNotAllowed) return "invalid algorithm";
  return "jwt malformed";
}
