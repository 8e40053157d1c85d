/**
 * GoTrue's error contract, which auth-js depends on (docs/platform.md section 4.3): a closed set of error
 * codes (supabase/auth `apierrors/errorcode.go`), and two body shapes picked by the request's
 * `X-Supabase-Api-Version` header. auth-js reads `code` only when the response echoes that header,
 * so the echo is part of the contract, not decoration.
 */

/** The GoTrue error codes this emulator can return. */
export type AuthErrorCode =
  | "unexpected_failure"
  | "validation_failed"
  | "bad_json"
  | "email_exists"
  | "phone_exists"
  | "bad_jwt"
  | "not_admin"
  | "no_authorization"
  | "user_not_found"
  | "session_not_found"
  | "session_expired"
  | "refresh_token_not_found"
  | "refresh_token_already_used"
  | "signup_disabled"
  | "user_banned"
  | "email_provider_disabled"
  | "phone_provider_disabled"
  | "anonymous_provider_disabled"
  | "email_not_confirmed"
  | "phone_not_confirmed"
  | "user_already_exists"
  | "same_password"
  | "weak_password"
  | "invalid_credentials"
  | "unexpected_audience"
  /** The local database's one session is held by someone else (local/postgres/session.ts). */
  | "session_busy"
  | "otp_expired"
  | "otp_disabled"
  /** Rate limits and the body limit in front of the emulator (local/auth/limits.ts). */
  | "over_request_rate_limit"
  | "request_too_large"
  /** An endpoint the emulator does not implement (passkeys, OAuth server, Web3, ...). */
  | "not_found";

export type AuthErrorStatus = 400 | 401 | 403 | 404 | 405 | 413 | 422 | 429 | 500 | 503;

/** An error GoTrue would answer with: status, code and the message auth-js shows. */
export class AuthError extends Error {
  readonly status: AuthErrorStatus;
  readonly code: AuthErrorCode;
  /** `weak_password.reasons` for 422 weak_password. */
  readonly reasons?: string[];

  constructor(
    status: AuthErrorStatus,
    code: AuthErrorCode,
    message: string,
    options: { reasons?: string[]; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "AuthError";
    this.status = status;
    this.code = code;
    if (options.reasons) this.reasons = options.reasons;
  }
}

export const badRequest = (code: AuthErrorCode, message: string) =>
  new AuthError(400, code, message);
export const forbidden = (code: AuthErrorCode, message: string) =>
  new AuthError(403, code, message);
export const notFound = (code: AuthErrorCode, message: string) => new AuthError(404, code, message);
export const unprocessable = (code: AuthErrorCode, message: string) =>
  new AuthError(422, code, message);
/** A 500 for database failures caused by the project's own SQL (triggers, foreign keys). */
export const databaseError = (message: string, cause: unknown) =>
  new AuthError(500, "unexpected_failure", message, { cause });

export const API_VERSION_HEADER = "X-Supabase-Api-Version";
const API_VERSION_2024_01_01 = "2024-01-01";

/**
 * The API version a request asked for, as GoTrue's DetermineClosestAPIVersion decides it:
 * "2024-01-01" for any valid date on or after it, otherwise null (the initial version).
 */
export function requestedApiVersion(header: string | undefined | null): string | null {
  if (!header || !/^\d{4}-\d{2}-\d{2}$/.test(header)) return null;
  const date = Date.parse(`${header}T00:00:00Z`);
  if (Number.isNaN(date)) return null;
  return date >= Date.parse(`${API_VERSION_2024_01_01}T00:00:00Z`) ? API_VERSION_2024_01_01 : null;
}

/**
 * The response GoTrue's HandleResponseError writes: `{code, message}` (and the version echo) for
 * API version 2024-01-01, the legacy `{code: <status>, error_code, msg}` otherwise.
 */
export function errorResponse(error: AuthError, apiVersionHeader: string | undefined): Response {
  const version = requestedApiVersion(apiVersionHeader);
  const headers = new Headers({
    "Content-Type": "application/json",
    "x-sb-error-code": error.code,
  });
  let body: Record<string, unknown>;
  if (version) {
    headers.set(API_VERSION_HEADER, version);
    body = { code: error.code, message: error.message };
  } else {
    body = { code: error.status, error_code: error.code, msg: error.message };
  }
  if (error.reasons) body.weak_password = { reasons: error.reasons };
  return new Response(JSON.stringify(body), { status: error.status, headers });
}

/** Postgres errors as PGlite raises them (SQLSTATE in `code`). */
export interface PgError {
  code: string;
  message: string;
  constraint?: string;
}

export function isPgError(error: unknown): error is PgError {
  return typeof error === "object" && error !== null &&
    typeof (error as { code?: unknown }).code === "string" &&
    /^[0-9A-Z]{5}$/.test((error as { code: string }).code);
}

/** True for a unique violation, optionally on one constraint. */
export function isUniqueViolation(error: unknown, constraint?: string): boolean {
  return isPgError(error) && error.code === "23505" &&
    (constraint === undefined || error.constraint === constraint);
}

/**
 * Runs one database step of a request; a Postgres error in it (typically raised by the project's
 * own trigger or foreign key) becomes GoTrue's 500 `unexpected_failure` with `message`.
 */
export async function dbStep<T>(message: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    if (isPgError(error)) throw databaseError(message, error);
    throw error;
  }
}
