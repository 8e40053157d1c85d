/**
 * What the e2e tests share for looking at the stack's database and waiting on it.
 */
import type { Stack } from "../../local/stack.ts";

/** The rows of a query on the stack's session (as postgres, RLS bypassed). */
export async function rows<T = Record<string, unknown>>(
  stack: Stack,
  sql: string,
  params: unknown[] = [],
): Promise<T[]> {
  return (await stack.session.query<T>(sql, params)).rows;
}

/** How many rows a query returns. */
export async function count(stack: Stack, sql: string, params: unknown[] = []): Promise<number> {
  const [row] = await rows<{ n: number }>(
    stack,
    `select count(*)::integer as n from (${sql}) q`,
    params,
  );
  return row!.n;
}

/**
 * Polls `probe` every `everyMs` until it returns something other than undefined, and returns
 * that; throws naming `what` after `ms`.
 */
export async function eventually<T>(
  what: string,
  probe: () => T | undefined | Promise<T | undefined>,
  ms = 60_000,
  everyMs = 100,
): Promise<T> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`Timed out waiting for ${what}`);
}
