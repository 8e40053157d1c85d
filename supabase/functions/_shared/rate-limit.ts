/**
 * Per-user rate limits kept in the database (private.consume_rate_limit), with limits per
 * organization plan (private.rate_limit_policies). One call takes `cost` units of the user's
 * window for `bucket`; over the limit it throws AppError rate_limited (429) with Retry-After.
 *
 * Call it with a service_role transaction (`deps.db.asService`) after the user is verified and
 * before any other write, ideally in the transaction that does the work, so a request that fails
 * later gives its units back with the rollback.
 */
import type { Queryable } from "./db/mod.ts";
import { AppError } from "./errors.ts";

export interface RateLimitKey {
  userId: string;
  /** The organization the work is for; its plan picks the limit (none: the free plan's). */
  organizationId?: string | null;
  /** The limit's name, e.g. "execute-agent"; buckets without limits of their own use "default". */
  bucket: string;
  /** Units this call takes (default 1). */
  cost?: number;
}

interface RateLimitRow extends Record<string, unknown> {
  allowed: boolean;
  max_cost: number;
  remaining: number;
  retry_after_seconds: number;
}

/** Takes `cost` units of the user's window, or throws rate_limited (429, Retry-After). */
export async function enforceRateLimit(tx: Queryable, key: RateLimitKey): Promise<void> {
  const [row] = await tx.query<RateLimitRow>(
    `select allowed, max_cost, remaining, retry_after_seconds
     from private.consume_rate_limit($1::uuid, $2::uuid, $3, $4)`,
    [key.userId, key.organizationId ?? null, key.bucket, key.cost ?? 1],
  );
  if (!row || row.allowed) return;
  const retryAfter = Math.max(1, Number(row.retry_after_seconds));
  throw new AppError(
    "rate_limited",
    `Rate limit of ${row.max_cost} for "${key.bucket}" reached; retry in ${retryAfter} seconds`,
    {
      details: { bucket: key.bucket, limit: row.max_cost, retry_after_seconds: retryAfter },
      headers: { "Retry-After": String(retryAfter) },
    },
  );
}
