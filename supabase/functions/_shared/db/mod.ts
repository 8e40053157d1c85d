/**
 * The database port. Functions never hold a bare connection: work for a user runs in
 * `asUser(claims, fn)`, a transaction that first does what PostgREST does for a request
 * (`set local role`, `request.jwt.claims` and the legacy `request.jwt.claim.*` settings), so RLS
 * decides what the user sees; work for machines (queue workers, cron) runs in `asService(fn)` as
 * the service role, and must filter by the ids it was given.
 *
 * Two drivers implement the one primitive the port needs, a transaction:
 * `postgres.ts` (postgres.js, hosted) and `session.ts` (the local stack's in-process PGlite).
 */
import type { Claims } from "../auth.ts";

export type Row = Record<string, unknown>;

/** Runs SQL with `$1..$n` parameters and returns the rows. */
export interface Queryable {
  query<T extends Row = Row>(text: string, params?: readonly unknown[]): Promise<T[]>;
}

/** What a driver provides: transactions, and a way to close. */
export interface SqlDriver {
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export interface Db {
  /** Runs `fn` in a transaction as the user the claims belong to; RLS applies. */
  asUser<T>(claims: Claims, fn: (tx: Queryable) => Promise<T>): Promise<T>;
  /** Runs `fn` in a transaction as the service role (bypasses RLS). */
  asService<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** The API roles a user token may carry; anything else is refused by asUser. */
const USER_ROLES = new Set(["authenticated", "anon"]);

const SET_REQUEST_CONTEXT = `select
  set_config('role', $1, true),
  set_config('request.jwt.claims', $2, true),
  set_config('request.jwt.claim.sub', $3, true),
  set_config('request.jwt.claim.role', $1, true),
  set_config('request.jwt.claim.email', $4, true)`;

export function createDb(driver: SqlDriver): Db {
  const withContext = <T>(claims: Claims, fn: (tx: Queryable) => Promise<T>) =>
    driver.transaction(async (tx) => {
      await tx.query(SET_REQUEST_CONTEXT, [
        claims.role,
        JSON.stringify(claims),
        claims.sub ?? "",
        claims.email ?? "",
      ]);
      return await fn(tx);
    });

  return {
    asUser(claims, fn) {
      if (!USER_ROLES.has(claims.role)) {
        return Promise.reject(
          new Error(`asUser() refuses role "${claims.role}"; use asService() for service work`),
        );
      }
      return withContext(claims, fn);
    },
    asService(fn) {
      return withContext({ role: "service_role" }, fn);
    },
    close: () => driver.close(),
  };
}
