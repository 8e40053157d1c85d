/**
 * Idempotency keys: a client that retries a request with the same `Idempotency-Key` gets the
 * first result; the same key with another body is a conflict. Requests are compared by a hash of
 * their canonical JSON (object keys sorted, so key order does not matter).
 */
import { AppError } from "./errors.ts";

/** The longest key accepted (the database column allows 200 characters). */
export const MAX_IDEMPOTENCY_KEY_LENGTH = 200;

const KEY_PATTERN = /^[\x21-\x7E]{1,200}$/;

/**
 * The `Idempotency-Key` header's value, or null when absent. Printable ASCII without spaces,
 * 1..200 characters; anything else is invalid_request (400).
 */
export function idempotencyKey(header: string | undefined | null): string | null {
  if (header === undefined || header === null) return null;
  const key = header.trim();
  if (!KEY_PATTERN.test(key)) {
    throw new AppError(
      "invalid_request",
      `Invalid Idempotency-Key: expected 1 to ${MAX_IDEMPOTENCY_KEY_LENGTH} printable ASCII characters`,
    );
  }
  return key;
}

/** JSON with object keys sorted at every level; `undefined` members are dropped, as JSON does. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

/** Lowercase hex SHA-256 of canonicalJson(value). */
export async function requestHash(value: unknown): Promise<string> {
  const bytes = new TextEncoder().encode(canonicalJson(value));
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return Object.fromEntries(entries.map(([k, v]) => [k, sortKeys(v)]));
  }
  return value;
}
