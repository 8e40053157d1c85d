/**
 * The app factory every function uses: a Hono app under `basePath('/<name>')` (the path the edge
 * runtime hands a function) with CORS, a request id, a body-size limit, one JSON log line per
 * request and the one place where errors become responses.
 *
 * Every failure leaves as `{ "error": { "code", "message", "details"? }, "request_id" }`:
 * AppError by its code, Hono's HTTPException by its status, Postgres errors by SQLSTATE, and
 * anything else as a 500 with a generic message (the cause is logged, never echoed).
 */
import { type Context, Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { cors } from "hono/cors";
import { HTTPException } from "hono/http-exception";
import { requestId } from "hono/request-id";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { AppError, codeForStatus, errorBody, STATUS_BY_CODE } from "../errors.ts";
import type { Logger } from "../logger.ts";

export interface AppVariables {
  requestId: string;
  logger: Logger;
}

export type AppEnv = { Variables: AppVariables };

export interface AppOptions {
  logger: Logger;
  /** Origins allowed by CORS; `["*"]` allows any. */
  corsOrigins?: string[];
  /** Largest request body accepted, in bytes (default 1 MiB). */
  maxBodyBytes?: number;
}

/** Headers supabase-js sends (functions-js, auth, storage), allowed by CORS. */
const CORS_HEADERS = [
  "authorization",
  "x-client-info",
  "apikey",
  "content-type",
  "x-region",
  "x-request-id",
  "idempotency-key",
  "x-supabase-api-version",
];

export function createFunctionApp(name: string, options: AppOptions): Hono<AppEnv> {
  const app = new Hono<AppEnv>().basePath(`/${name}`);
  const fnLogger = options.logger.child({ fn: name });
  const origins = options.corsOrigins ?? ["*"];

  app.use(
    "*",
    requestId({ headerName: "x-request-id", limitLength: 128 }),
    async function logRequests(c, next) {
      const logger = fnLogger.child({ request_id: c.get("requestId") });
      c.set("logger", logger);
      const started = performance.now();
      await next();
      logger.info("request", {
        method: c.req.method,
        path: c.req.path,
        status: c.res.status,
        ms: Math.round(performance.now() - started),
      });
    },
    cors({
      origin: origins.includes("*") ? "*" : origins,
      allowHeaders: CORS_HEADERS,
      allowMethods: ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
      exposeHeaders: ["x-request-id", "retry-after"],
      maxAge: 86400,
    }),
    bodyLimit({
      maxSize: options.maxBodyBytes ?? 1024 * 1024,
      onError: () => {
        throw new AppError("payload_too_large", "Request body is too large", {
          details: { max_bytes: options.maxBodyBytes ?? 1024 * 1024 },
        });
      },
    }),
  );

  app.notFound((c) =>
    respond(c, new AppError("not_found", `No route for ${c.req.method} ${c.req.path}`))
  );
  app.onError((error, c) => respond(c, toAppError(error, c)));
  return app;
}

function respond(c: Context, error: AppError): Response {
  const id = (c.get("requestId") as string | undefined) ?? crypto.randomUUID();
  for (const [key, value] of Object.entries(error.headers ?? {})) c.header(key, value);
  return c.json(errorBody(error, id), error.status as ContentfulStatusCode);
}

/** Maps any thrown value to the AppError the caller sees; logs what is not theirs to see. */
export function toAppError(error: unknown, c?: Context): AppError {
  if (error instanceof AppError) return error;
  // An AppError from another copy of this module (the local stack's hot reload loads functions
  // from fresh copies while the stack's own deps keep theirs): same shape, another class.
  if (isForeignAppError(error)) {
    return new AppError(error.code, error.message, {
      details: error.details,
      ...(error.headers ? { headers: error.headers } : {}),
      cause: error,
    });
  }
  if (error instanceof HTTPException) {
    const code = codeForStatus(error.status) ?? "invalid_request";
    const message = error.status === 400 && /JSON/i.test(error.message)
      ? "Malformed JSON in request body"
      : error.message || "Invalid request";
    return new AppError(code, message, { cause: error });
  }
  const pg = postgresError(error);
  if (pg) {
    const mapped = fromSqlState(pg);
    if (mapped) return mapped;
  }
  const logger = c?.get("logger") as Logger | undefined;
  logger?.error("unhandled error", { error });
  return new AppError("internal", "Internal error", { cause: error });
}

interface PostgresErrorLike {
  code: string;
  message: string;
  severity?: string;
}

function postgresError(error: unknown): PostgresErrorLike | null {
  if (typeof error !== "object" || error === null) return null;
  const { code, severity, message } = error as Record<string, unknown>;
  if (typeof code !== "string" || !/^[0-9A-Z]{5}$/.test(code)) return null;
  if (typeof severity !== "string" || typeof message !== "string") return null;
  return { code, message, severity };
}

/** Errors a caller can cause, by SQLSTATE; their Postgres messages are about the caller's data. */
function fromSqlState(error: PostgresErrorLike): AppError | null {
  const code = error.code;
  if (code === "23505") return new AppError("conflict", error.message, { cause: error });
  if (code === "42501") {
    return new AppError("forbidden", error.message, { cause: error });
  }
  // cannot_connect_now: the database cannot serve now (the local stack's session is held by
  // someone else past the wait bound, or a server starting up): retry later.
  if (code === "57P03") {
    return new AppError("unavailable", error.message, {
      cause: error,
      headers: { "Retry-After": "5" },
    });
  }
  if (code === "57014") {
    return new AppError("upstream_timeout", "The database query timed out", { cause: error });
  }
  if (code.startsWith("22") || code.startsWith("23") || code === "P0001") {
    return new AppError("invalid_request", error.message, { cause: error });
  }
  return null;
}

function isForeignAppError(
  error: unknown,
): error is AppError {
  return error instanceof Error && error.name === "AppError" &&
    Object.hasOwn(STATUS_BY_CODE, (error as { code?: unknown }).code as string);
}
