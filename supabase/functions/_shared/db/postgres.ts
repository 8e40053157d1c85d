/**
 * The hosted driver: postgres.js against Supabase's transaction pooler (Supavisor, port 6543).
 * The pooler hands a connection to a client for one transaction only, so prepared statements
 * cannot survive between transactions: `prepare: false`. A small pool per isolate (3 by default)
 * keeps many function instances under the pooler's client limit (supabase/supabase#49577).
 */
import postgres from "postgres";
import type { Queryable, Row, SqlDriver } from "./mod.ts";

export interface PostgresDriverOptions {
  max?: number;
  /** Seconds a connection may stay idle before it is closed. */
  idleTimeout?: number;
  /** Seconds to wait for a connection. */
  connectTimeout?: number;
}

export function createPostgresDriver(
  url: string,
  options: PostgresDriverOptions = {},
): SqlDriver {
  const sql = postgres(url, {
    prepare: false,
    max: options.max ?? 3,
    idle_timeout: options.idleTimeout ?? 20,
    connect_timeout: options.connectTimeout ?? 10,
    onnotice: () => {},
    // int8 as number, as the in-process driver returns it: counts and ids here stay far below
    // 2^53, and one shape for both drivers keeps function code driver-agnostic.
    types: {
      bigint: {
        to: 20,
        from: [20],
        serialize: (value: number | bigint) => String(value),
        parse: (value: string) => Number(value),
      },
      // A string given for a json/jsonb parameter is JSON text, as the in-process driver takes it;
      // postgres.js would encode it again, as a JSON string (`'"[...]"'`). Other values are
      // encoded as JSON, as before.
      json: {
        to: 114,
        from: [114, 3802],
        serialize: (value: unknown) => typeof value === "string" ? value : JSON.stringify(value),
        parse: (value: string) => JSON.parse(value),
      },
    },
  });

  return {
    async transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
      const result = await sql.begin((tx) =>
        fn({
          query: async <R extends Row = Row>(text: string, params: readonly unknown[] = []) => {
            const rows = await tx.unsafe(text, params as postgres.ParameterOrJSON<never>[]);
            return Array.from(rows) as unknown as R[];
          },
        })
      );
      return result as T;
    },
    close: () => sql.end({ timeout: 5 }),
  };
}
