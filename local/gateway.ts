/**
 * The local stack's HTTP gateway, the part of `supabase start` that Kong and the edge runtime
 * play: one port, `/health`, `/auth/v1` and `/storage/v1` (the emulators), and
 * `/functions/v1/<name>` routed to the function's app with the path the edge runtime gives it
 * (`/<name>/...`), enforcing the function's verify_jwt.
 *
 * Bodies of the gateway's own errors follow the hosted platform: 401
 * `{"code":401,"message":"Invalid JWT"}` or `"Missing authorization header"`, and 404
 * `{"code":"NOT_FOUND","message":"Requested function was not found"}`.
 */
import { type Context, Hono } from "hono";
import { cors } from "hono/cors";
import { AuthError, errorResponse as authErrorResponse } from "./auth/errors.ts";
import { authLimits, requireApiKey } from "./auth/limits.ts";
import type { LocalFunction } from "./functions.ts";
import type { LocalKeys } from "./keys.ts";
import type { WorkerLog } from "./workers/log.ts";

/**
 * The CLI's opaque local keys (docs/platform.md section 7.2), translated to the legacy JWTs as
 * Kong does.
 */
export const PUBLISHABLE_KEY = "sb_publishable_ACJWlzQHlZjBrEguHvfOxg_3BJgxAaH";
export const SECRET_KEY = "sb_secret_N7UND0UgjKTVK-Uodkm0Hg_xSvEMPvz";

export interface GatewayOptions {
  keys: LocalKeys;
  functions: ReadonlyMap<string, LocalFunction>;
  auth: Hono;
  storage: Hono;
  /** The local mailbox's API and pages (local/mailbox.ts), served at /mailbox. */
  mailbox?: Hono;
  /** The stack's own tools (`POST /_local/db/dump`, local/dump.ts). */
  local?: Hono;
  /** The Data API (`/rest/v1`). */
  rest?: Hono;
  /** The functions' OpenAPI document (docs/openapi.json), served at /docs/openapi.json. */
  openapi?: () => Promise<string | null>;
  /** Realtime (`/realtime/v1`: WebSocket and the broadcast REST API). */
  realtime?: { fetch(request: Request): Promise<Response> };
  /** False until the stack has finished booting; /health answers 503 until then. */
  ready: () => boolean;
  log?: WorkerLog;
}

export type Handler = (request: Request) => Promise<Response>;

export function createGateway(options: GatewayOptions): Handler {
  const { keys, functions } = options;
  const log = options.log ?? (() => {});
  const gateway = new Hono();

  gateway.get(
    "/health",
    (c) =>
      options.ready()
        ? c.json({ status: "ok", services: ["db", "auth", "storage", "functions", "workers"] })
        : c.json({ status: "starting" }, 503),
  );

  const platformCors = cors({
    origin: "*",
    allowHeaders: [
      "authorization",
      "x-client-info",
      "apikey",
      "content-type",
      "x-upsert",
      "x-supabase-api-version",
      "cache-control",
      "x-metadata",
      // the Data API's (postgrest-js)
      "prefer",
      "range",
      "range-unit",
      "accept-profile",
      "content-profile",
    ],
    allowMethods: ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
    exposeHeaders: [
      "x-supabase-api-version",
      "x-sb-error-code",
      "content-length",
      "etag",
      "content-range",
      "location",
      "preference-applied",
    ],
  });
  gateway.use("/auth/v1/*", platformCors);
  // Hosted Kong's API key check, the body limit and GoTrue's rate limits (local/auth/limits.ts).
  gateway.use(
    "/auth/v1/*",
    requireApiKey(async (key) =>
      key === PUBLISHABLE_KEY || key === SECRET_KEY ||
      await keys.verifySignature(key).then(() => true, () => false)
    ),
  );
  gateway.use("/auth/v1/*", authLimits());
  gateway.use("/storage/v1/*", platformCors);
  gateway.route("/auth/v1", options.auth);
  gateway.route("/storage/v1", options.storage);
  if (options.mailbox) gateway.route("/mailbox", options.mailbox);
  if (options.local) gateway.route("/_local", options.local);
  if (options.openapi) {
    const read = options.openapi;
    gateway.get("/docs/openapi.json", async (c) => {
      const text = await read();
      if (text === null) return c.json({ message: "No docs/openapi.json in this project" }, 404);
      c.header("access-control-allow-origin", "*");
      return c.body(text, 200, { "content-type": "application/json" });
    });
  }
  if (options.realtime) {
    const realtime = options.realtime;
    gateway.use("/realtime/v1/api/*", platformCors);
    gateway.all("/realtime/v1/*", (c) => realtime.fetch(c.req.raw));
  }
  if (options.rest) {
    gateway.use("/rest/v1/*", platformCors);
    gateway.route("/rest/v1", options.rest);
  }
  // An auth endpoint the emulator lacks answers in GoTrue's error shape, not the gateway's.
  gateway.all("/auth/v1/*", (c) => {
    const path = c.req.path.slice("/auth/v1".length);
    const error = new AuthError(
      404,
      "not_found",
      `The local stack does not emulate the auth endpoint "${c.req.method} ${path}"`,
    );
    return authErrorResponse(error, c.req.header("x-supabase-api-version"));
  });

  const invoke = async (c: Context) => {
    const name = c.req.param("name")!;
    const fn = functions.get(name);
    if (!fn) {
      return c.json({ code: "NOT_FOUND", message: "Requested function was not found" }, 404);
    }
    if (fn.verifyJwt && c.req.method !== "OPTIONS") {
      const header = c.req.header("authorization");
      const token = /^Bearer\s+(\S+)$/i.exec(header ?? "")?.[1];
      if (!token) return c.json({ code: 401, message: "Missing authorization header" }, 401);
      try {
        // The edge runtime checks the signature and expiry only, not the claims.
        await keys.verifySignature(token);
      } catch {
        return c.json({ code: 401, message: "Invalid JWT" }, 401);
      }
    }
    const url = new URL(c.req.url);
    url.pathname = `/${name}${url.pathname.slice(`/functions/v1/${name}`.length)}`;
    try {
      return await fn.fetch(forward(c.req.raw, { url }));
    } catch (error) {
      log({ level: "error", msg: "function crashed", fn: name, error: String(error) });
      return c.json({ code: "WORKER_ERROR", message: "Function exited due to an error" }, 500);
    }
  };
  gateway.all("/functions/v1/:name", invoke);
  gateway.all("/functions/v1/:name/*", invoke);

  gateway.notFound((c) => c.json({ message: "no Route matched with those values" }, 404));
  gateway.onError((error, c) => {
    log({ level: "error", msg: "gateway error", path: c.req.path, error: String(error) });
    return c.json({ message: "An unexpected error occurred" }, 500);
  });
  return async (request) => await gateway.fetch(translateApiKeys(request, keys));
}

/**
 * What Kong does with keys: an Authorization header that is not an opaque `sb_` key passes
 * through; otherwise the `apikey` header becomes the bearer, the opaque secret and publishable
 * keys replaced by the service_role and anon JWTs.
 */
export function translateApiKeys(request: Request, keys: LocalKeys): Request {
  const authorization = request.headers.get("authorization");
  if (authorization && !/^Bearer sb_/i.test(authorization)) return request;
  const apikey = request.headers.get("apikey");
  const token = apikey === SECRET_KEY
    ? keys.serviceRoleKey
    : apikey === PUBLISHABLE_KEY
    ? keys.anonKey
    : apikey;
  if (!token) return request;
  const headers = new Headers(request.headers);
  headers.set("authorization", `Bearer ${token}`);
  return forward(request, { headers });
}

/**
 * A copy of a request with another URL or headers. Built field by field: copying the incoming
 * request whole would carry over its abort signal, which Deno.serve aborts once the response is
 * sent (and warns about reading).
 */
function forward(request: Request, changes: { url?: URL; headers?: Headers }): Request {
  const hasBody = request.body !== null && !["GET", "HEAD"].includes(request.method);
  return new Request(changes.url ?? request.url, {
    method: request.method,
    headers: changes.headers ?? request.headers,
    ...(hasBody ? { body: request.body, duplex: "half" } : {}),
    redirect: "manual",
  } as RequestInit);
}
