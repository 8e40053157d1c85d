/**
 * Why a file cannot be processed, as an AppError whose message a person can act on. The reason
 * travels in `details.reason` and the message is what file_uploads.error and documents.error hold.
 */
import { AppError } from "../errors.ts";

export type FailureReason =
  | "executable"
  | "unsupported"
  | "mismatch"
  | "corrupt"
  | "truncated"
  | "encrypted"
  | "empty"
  | "too_large"
  | "too_many_pages"
  | "too_long"
  | "too_slow";

/** A file refused for `reason`: 413 when too large, else 422 `unprocessable`. */
export function fileFailure(
  reason: FailureReason,
  message: string,
  details: Record<string, unknown> = {},
): AppError {
  const code = reason === "too_large" ? "payload_too_large" : "unprocessable";
  return new AppError(code, message, { details: { reason, ...details } });
}

/** The failure reason an error carries, when it is a file failure. */
export function failureReason(error: unknown): FailureReason | undefined {
  if (!(error instanceof AppError)) return undefined;
  const details = error.details as { reason?: unknown } | undefined;
  return typeof details?.reason === "string" ? details.reason as FailureReason : undefined;
}

/** `1536` -> "1.5 KB", `25 * 1024 * 1024` -> "25 MB". */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} bytes`;
  const units = ["KB", "MB", "GB"];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${Number(value.toFixed(1))} ${units[unit]}`;
}
