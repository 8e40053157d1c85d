/**
 * Storage API errors as the real server renders them (supabase/storage `src/internal/errors`):
 * body `{ statusCode: "<string>", code, error, message }`, and HTTP status 400 for every error
 * below 500 (the body's statusCode carries the "real" one: "403", "404", "409", ...).
 * storage-js reads `message`, `statusCode` and `code` from that body.
 */
import { AppError } from "../../supabase/functions/_shared/errors.ts";
import { isSessionBusy } from "../postgres/session.ts";

export type StorageErrorCode =
  | "AccessDenied"
  | "BucketAlreadyExists"
  | "DatabaseError"
  | "DatabaseTimeout"
  | "EntityTooLarge"
  | "ExpiredToken"
  | "FeatureNotEnabled"
  | "InternalError"
  | "InvalidBucketName"
  | "InvalidJWT"
  | "InvalidKey"
  | "InvalidMimeType"
  | "InvalidParameter"
  | "InvalidRange"
  | "InvalidRequest"
  | "InvalidSignature"
  | "KeyAlreadyExists"
  | "NoSuchBucket"
  | "NoSuchKey"
  | "NotFound"
  | "ResourceAlreadyExists"
  | "ResourceLocked"
  | "ResourceNotEmpty";

/** The JSON body of every Storage error response. */
export interface StorageErrorBody {
  statusCode: string;
  code: StorageErrorCode;
  error: string;
  message: string;
}

export class StorageError extends Error {
  constructor(
    readonly code: StorageErrorCode,
    /** The status the real server puts in the body (not the HTTP status). */
    readonly statusCode: number,
    message: string,
    /** The legacy `error` field; defaults to the code, as upstream. */
    readonly legacyError?: string,
    options: { cause?: unknown; httpStatus?: number } = {},
  ) {
    super(message, { cause: options.cause });
    this.name = "StorageError";
    this.httpStatus = options.httpStatus ?? (statusCode >= 500 ? statusCode : 400);
  }

  /** Upstream answers 400 for anything below 500 and keeps the real status in the body. */
  readonly httpStatus: number;

  toBody(): StorageErrorBody {
    return {
      statusCode: String(this.statusCode),
      code: this.code,
      error: this.legacyError ?? this.code,
      message: this.message,
    };
  }
}

/** The errors this emulator raises, with upstream's codes, statuses and messages. */
export const ERRORS = {
  accessDenied: (message: string, cause?: unknown) =>
    new StorageError("AccessDenied", 403, message || "Access denied", "Unauthorized", { cause }),
  noSuchBucket: () => new StorageError("NoSuchBucket", 404, "Bucket not found", "Bucket not found"),
  noSuchKey: () => new StorageError("NoSuchKey", 404, "Object not found", "not_found"),
  invalidKey: (key: string) => new StorageError("InvalidKey", 400, `Invalid key: ${key}`),
  invalidBucketName: () =>
    new StorageError("InvalidBucketName", 400, "Bucket name invalid", "Invalid Input"),
  keyAlreadyExists: (cause?: unknown) =>
    new StorageError("KeyAlreadyExists", 409, "The resource already exists", "Duplicate", {
      cause,
    }),
  bucketAlreadyExists: (cause?: unknown) =>
    new StorageError("BucketAlreadyExists", 409, "The resource already exists", "Duplicate", {
      cause,
    }),
  resourceAlreadyExists: (cause?: unknown) =>
    new StorageError("ResourceAlreadyExists", 409, "The resource already exists", "Duplicate", {
      cause,
    }),
  bucketNotEmpty: () =>
    new StorageError("ResourceNotEmpty", 409, "The bucket you tried to delete is not empty"),
  entityTooLarge: (entity = "object") =>
    new StorageError(
      "EntityTooLarge",
      413,
      `The ${entity} exceeded the maximum allowed size`,
      "Payload too large",
    ),
  invalidMimeType: (mimeType: string) =>
    new StorageError(
      "InvalidMimeType",
      415,
      `mime type ${mimeType} is not supported`,
      "invalid_mime_type",
    ),
  invalidJwt: (message: string) => new StorageError("InvalidJWT", 400, message || "Invalid JWT"),
  invalidSignature: () => new StorageError("InvalidSignature", 400, "Invalid signature"),
  expiredSignature: () => new StorageError("ExpiredToken", 400, "The provided token has expired."),
  invalidRequest: (message: string) => new StorageError("InvalidRequest", 400, message),
  /** What the local stack does not emulate (image transformations), refused rather than ignored. */
  notEmulated: (feature: string) =>
    new StorageError(
      "FeatureNotEnabled",
      400,
      `${feature} are not emulated by the local stack`,
      "Feature not enabled",
    ),
  noContentProvided: () => new StorageError("InvalidRequest", 400, "No content provided"),
  invalidRange: () =>
    new StorageError("InvalidRange", 400, "invalid range provided", "invalid_range"),
  routeNotFound: (method: string, path: string) =>
    new StorageError("NotFound", 404, `Route ${method}:${path} not found`, "Not Found", {
      httpStatus: 404,
    }),
  internal: (cause?: unknown) =>
    new StorageError("InternalError", 500, "Internal server error", undefined, { cause }),
};

/** The fields of a Postgres error that PGlite (and node-postgres) expose. */
interface PgError {
  code: string;
  message: string;
  severity?: string;
}

export function isPgError(error: unknown): error is PgError {
  if (typeof error !== "object" || error === null) return false;
  const { code, severity } = error as Record<string, unknown>;
  return typeof code === "string" && /^[0-9A-Z]{5}$/.test(code) && typeof severity === "string";
}

/**
 * Maps a Postgres error by SQLSTATE as upstream's `DBError.fromDBError` does. Errors raised by a
 * project's own triggers and checks (P0001, classes 22 and 23) are caused by the caller's input,
 * so they leave as 400 with Postgres's message rather than upstream's 500 "database error".
 */
export function fromPgError(error: PgError): StorageError {
  switch (error.code) {
    case "42501":
      return ERRORS.accessDenied(
        error.message.includes("row-level security")
          ? "new row violates row-level security policy"
          : error.message,
        error,
      );
    case "23505":
      return ERRORS.resourceAlreadyExists(error);
    case "23503":
      return new StorageError(
        "InvalidRequest",
        404,
        "The related resource does not exist",
        undefined,
        {
          cause: error,
        },
      );
    case "55P03":
      return new StorageError("ResourceLocked", 423, "The resource is locked", undefined, {
        cause: error,
      });
    case "57014":
      return new StorageError(
        "DatabaseTimeout",
        544,
        "The connection to the database timed out",
        undefined,
        { cause: error },
      );
    case "22P02":
      return new StorageError("InvalidParameter", 400, error.message, undefined, { cause: error });
  }
  if (error.code === "P0001" || error.code.startsWith("22") || error.code.startsWith("23")) {
    return new StorageError("DatabaseError", 400, error.message, undefined, { cause: error });
  }
  return new StorageError(
    "DatabaseError",
    500,
    `database error, code: ${error.code}`,
    undefined,
    { cause: error },
  );
}

/** Any thrown value as a StorageError; unknown errors become a generic 500. */
export function toStorageError(error: unknown): StorageError {
  if (error instanceof StorageError) return error;
  if (isSessionBusy(error)) {
    // The local database's one session is held by someone else (local/postgres/session.ts).
    return new StorageError("DatabaseTimeout", 503, error.message, "session_busy", {
      cause: error,
    });
  }
  if (isPgError(error)) return fromPgError(error);
  if (error instanceof AppError) {
    // Only the JWT verifier throws AppError here; upstream reports bad tokens as AccessDenied.
    return ERRORS.accessDenied(error.message, error);
  }
  return ERRORS.internal(error);
}

/** The HTTP response for a thrown value; `onInternal` sees the cause of every 500. */
export function errorResponse(error: unknown, onInternal?: (error: unknown) => void): Response {
  const storageError = toStorageError(error);
  if (storageError.statusCode >= 500 && onInternal) onInternal(storageError.cause ?? error);
  return Response.json(storageError.toBody(), { status: storageError.httpStatus });
}
