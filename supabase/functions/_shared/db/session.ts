/**
 * The local stack's driver: transactions on the in-process PGlite session (local/postgres), which
 * the stack hands to function apps in their deps. It is typed structurally so that deployed
 * functions never import PGlite: only the local stack constructs it.
 */
import { AppError } from "../errors.ts";
import type { Queryable, Row, SqlDriver } from "./mod.ts";

/** The slice of the local session gate this driver uses. */
export interface TransactionalSession {
  transaction<T>(
    fn: (tx: {
      query<R>(text: string, params?: readonly unknown[]): Promise<{ rows: R[] }>;
    }) => Promise<T>,
    owner?: string,
  ): Promise<T>;
}

export function createSessionDriver(session: TransactionalSession, owner = "function"): SqlDriver {
  return {
    transaction: <T>(fn: (tx: Queryable) => Promise<T>) =>
      session.transaction((tx) =>
        fn({
          query: async <R extends Row = Row>(text: string, params?: readonly unknown[]) =>
            (await tx.query<R>(text, params)).rows,
        }), owner).catch((error: unknown) => {
          throw busy(error) ?? error;
        }),
    // The session belongs to the stack, which closes it.
    close: () => Promise.resolve(),
  };
}

/**
 * The local session gate gave up waiting (its error has code "session_busy": someone, often psql
 * left in BEGIN, holds the one local session): a 503 the caller may retry, not a 500.
 */
function busy(error: unknown): AppError | null {
  if (!(error instanceof Error) || (error as { code?: unknown }).code !== "session_busy") {
    return null;
  }
  return new AppError("unavailable", error.message, {
    details: { reason: "session_busy" },
    headers: { "Retry-After": "5" },
    cause: error,
  });
}
