/**
 * One error type for every function: a closed set of codes, one status table, one body.
 * The app factory's onError is the only place errors become HTTP responses.
 */

export const STATUS_BY_CODE = {
  invalid_request: 400,
  unauthenticated: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  unprocessable: 422,
  rate_limited: 429,
  internal: 500,
  upstream_error: 502,
  unavailable: 503,
  upstream_timeout: 504,
} as const;

export type ErrorCode = keyof typeof STATUS_BY_CODE;

const CODE_BY_STATUS = new Map(
  Object.entries(STATUS_BY_CODE).map(([code, status]) => [status as number, code as ErrorCode]),
);

/** The code that stands for an HTTP status (STATUS_BY_CODE read backwards), if one does. */
export function codeForStatus(status: number): ErrorCode | undefined {
  return CODE_BY_STATUS.get(status);
}

export interface AppErrorOptions {
  details?: unknown;
  cause?: unknown;
  /** Extra response headers, e.g. Retry-After for rate_limited. */
  headers?: Record<string, string>;
}

/** An error a caller can act on: its code picks the status, its message is shown as is. */
export class AppError extends Error {
  readonly code: ErrorCode;
  readonly details?: unknown;
  readonly headers?: Record<string, string>;

  constructor(code: ErrorCode, message: string, options: AppErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "AppError";
    this.code = code;
    if (options.details !== undefined) this.details = options.details;
    if (options.headers !== undefined) this.headers = options.headers;
  }

  get status(): number {
    return STATUS_BY_CODE[this.code];
  }
}

/** The JSON body every error response carries. */
export interface ErrorBody {
  error: { code: ErrorCode; message: string; details?: unknown };
  request_id: string;
}

export function errorBody(error: AppError, requestId: string): ErrorBody {
  return {
    error: {
      code: error.code,
      message: error.message,
      ...(error.details === undefined ? {} : { details: error.details }),
    },
    request_id: requestId,
  };
}
