/**
 * What stands in front of GoTrue on hosted Supabase, for the local `/auth/v1`: a body limit and
 * GoTrue's own per-IP rate limits.
 *
 * - Bodies over 1 MiB are refused with 413 before they are read (a 200 MB body used to be
 *   buffered whole). GoTrue's JSON bodies are a few hundred bytes.
 * - Rate limits per client IP (X-Forwarded-For's first address, else one bucket for the loopback
 *   clients), in windows of 5 minutes as GoTrue counts them, with the defaults of the CLI's
 *   config.toml `[auth.rate_limit]`: sign_in_sign_ups 30 (POST /signup, POST /token with a
 *   password, id_token or pkce grant, POST /otp, POST /magiclink), token_refresh 150 (POST /token
 *   with a refresh_token grant), token_verifications 30 (/verify). Over the limit: 429 with
 *   GoTrue's body, error code `over_request_rate_limit`. Refusing early also keeps a flood of
 *   password guesses from queueing bcrypt work on the shared database session.
 */
import type { Context, MiddlewareHandler, Next } from "hono";
import { AuthError, errorResponse } from "./errors.ts";

export const AUTH_BODY_LIMIT_BYTES = 1024 * 1024;
const WINDOW_MS = 5 * 60 * 1000;

export interface AuthRateLimits {
  signInSignUps: number;
  tokenRefresh: number;
  tokenVerifications: number;
}

export const GOTRUE_RATE_LIMITS: AuthRateLimits = {
  signInSignUps: 30,
  tokenRefresh: 150,
  tokenVerifications: 30,
};

type Bucket = keyof AuthRateLimits;

/** Which limit a request counts against, if any (GoTrue's api.go routes). */
function bucketOf(method: string, path: string, grantType: string | undefined): Bucket | null {
  if (path === "/verify") return "tokenVerifications";
  if (method !== "POST") return null;
  if (path === "/signup" || path === "/otp" || path === "/magiclink") return "signInSignUps";
  if (path === "/token") {
    return grantType === "refresh_token" ? "tokenRefresh" : "signInSignUps";
  }
  return null;
}

/** The middleware, for `/auth/v1/*`; `now` is injectable for tests of the window. */
export function authLimits(
  limits: AuthRateLimits = GOTRUE_RATE_LIMITS,
  now: () => number = Date.now,
): MiddlewareHandler {
  const windows = new Map<string, { start: number; count: number }>();
  return async (c: Context, next: Next) => {
    const version = c.req.header("x-supabase-api-version");
    const length = Number(c.req.header("content-length") ?? "0");
    if (length > AUTH_BODY_LIMIT_BYTES) {
      return errorResponse(tooLarge(), version);
    }
    const path = c.req.path.replace(/^\/auth\/v1/, "");
    const bucket = bucketOf(c.req.method, path, c.req.query("grant_type"));
    if (bucket) {
      const ip = c.req.header("x-forwarded-for")?.split(",")[0]?.trim() || "local";
      const key = `${bucket}:${ip}`;
      const at = now();
      let window = windows.get(key);
      if (!window || at - window.start >= WINDOW_MS) {
        window = { start: at, count: 0 };
        windows.set(key, window);
      }
      window.count += 1;
      if (window.count > limits[bucket]) {
        const response = errorResponse(
          new AuthError(429, "over_request_rate_limit", "Request rate limit reached"),
          version,
        );
        const retryAfter = Math.max(1, Math.ceil((window.start + WINDOW_MS - at) / 1000));
        response.headers.set("retry-after", String(retryAfter));
        return response;
      }
    }
    if (c.req.raw.body && !c.req.header("content-length")) {
      // A chunked body: read up to the limit here, refused once it passes it.
      const bytes = await readCapped(c.req.raw.body, AUTH_BODY_LIMIT_BYTES);
      if (!bytes) return errorResponse(tooLarge(), version);
      c.req.raw = new Request(c.req.raw, { body: bytes });
    }
    await next();
    return undefined;
  };
}

function tooLarge(): AuthError {
  return new AuthError(
    413,
    "request_too_large",
    `Request body is larger than ${AUTH_BODY_LIMIT_BYTES} bytes`,
  );
}

/** The whole body, or null (reading stops) once it is longer than `limit` bytes. */
async function readCapped(
  body: ReadableStream<Uint8Array>,
  limit: number,
): Promise<Uint8Array<ArrayBuffer> | null> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.byteLength;
    if (size > limit) return null;
    chunks.push(chunk);
  }
  const bytes = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, at);
    at += chunk.byteLength;
  }
  return bytes;
}

/** Routes hosted Kong serves without an API key (browser redirects and the public JWKS). */
const OPEN_PATHS = new Set(["/verify", "/callback", "/authorize", "/.well-known/jwks.json"]);

/**
 * Hosted Kong's key check in front of `/auth/v1`: every other route needs an `apikey` header (or
 * `?apikey=`) holding one of the project's keys, else 401 with Kong's body. The CLI's local Kong
 * skips this check; the local stack does what hosted does, so a client that forgets the key
 * fails here as it would in production. `isValid` decides what a project key is.
 */
export function requireApiKey(isValid: (key: string) => Promise<boolean>): MiddlewareHandler {
  return async (c: Context, next: Next) => {
    const path = c.req.path.replace(/^\/auth\/v1/, "");
    if (c.req.method === "OPTIONS" || OPEN_PATHS.has(path)) return await next();
    const key = c.req.header("apikey") ?? c.req.query("apikey");
    if (!key) {
      return c.json({
        message: "No API key found in request",
        hint: "No `apikey` request header or url param was found.",
      }, 401);
    }
    if (!(await isValid(key))) {
      return c.json({
        message: "Invalid API key",
        hint: "Double check your Supabase `anon` or `service_role` API key.",
      }, 401);
    }
    return await next();
  };
}
