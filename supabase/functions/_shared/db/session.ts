/**
 * The local stack's driver: transactions on the in-process PGlite session (local/postgres), which
 * the stack hands to function apps in their deps. It is typed structurally so that deployed
 * functions never import PGlite: only the local stack constructs it.
 */
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
        }), owner),
    // The session belongs to the stack, which closes it.
    close: () => Promise.resolve(),
  };
}
