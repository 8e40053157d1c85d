/**
 * `npx deno task db:dump`'s engine: pg_dump itself, compiled to WASM (@electric-sql/pglite-tools),
 * run against the local stack's PGlite under an exclusive lease (the API waits meanwhile). PGlite's
 * own `dumpDataDir` is a tarball of its files; this is plain SQL that psql restores into a fresh
 * stack. Debian's pg_dump cannot be used: it refuses a server newer than itself (Postgres 18).
 *
 * The two kinds follow `supabase db dump`:
 * - schema (the default): the project's own schemas, without what the platform manages (auth,
 *   storage, extensions, vault, cron, net, supabase_functions, supabase_migrations, graphql...),
 *   which a fresh stack already has, nor the platform's event triggers. No owners, no grants,
 *   no publications (supabase_realtime
 *   exists in every stack; add tables to it again in a migration).
 * - data (`--data-only`): the rows of every table, auth users and storage objects' rows included,
 *   except the stack's own bookkeeping (supabase_migrations, net's queue, realtime_local).
 *   Written as INSERT ... ON CONFLICT DO NOTHING with triggers disabled while restoring, so a
 *   fresh stack (migrations
 *   applied, no seed) takes it as is: rows its migrations already made (buckets, cron jobs, Vault
 *   secrets) are kept, and signup triggers do not fire twice.
 */
import type { PGlite } from "@electric-sql/pglite";
import { pgDump } from "@electric-sql/pglite-tools/pg_dump";
import { Hono } from "hono";
import { z } from "zod";
import type { LocalKeys } from "./keys.ts";
import type { Session } from "./postgres/session.ts";

export interface DumpOptions {
  /** Rows instead of the schema (`--data-only`). */
  dataOnly?: boolean;
  /** Only these schemas (`--schema`); default: the project's schemas (schema) or all (data). */
  schemas?: readonly string[];
}

/** Schemas the platform creates and manages; a schema dump leaves them out, as the CLI does. */
export const MANAGED_SCHEMAS = [
  "auth",
  "storage",
  "extensions",
  "graphql",
  "graphql_public",
  "realtime",
  "_realtime",
  "realtime_local",
  "supabase_functions",
  "supabase_migrations",
  "vault",
  "cron",
  "net",
  "pgsodium",
  "pgsodium_masks",
  "pgbouncer",
  "pgtle",
  "_analytics",
  "information_schema",
] as const;

/** pg_dump's arguments for a kind of dump. */
export function dumpArgs(options: DumpOptions): string[] {
  const only = (options.schemas ?? []).flatMap((schema) => ["--schema", schema]);
  if (options.dataOnly) {
    return [
      "--data-only",
      "--disable-triggers",
      "--on-conflict-do-nothing",
      "--exclude-schema=supabase_migrations",
      "--exclude-schema=net",
      "--exclude-schema=realtime_local",
      ...only,
    ];
  }
  return [
    "--schema-only",
    "--no-owner",
    "--no-privileges",
    // The stack makes supabase_realtime itself; a table's membership is not dumped.
    "--no-publications",
    "--no-subscriptions",
    ...(only.length > 0 ? only : MANAGED_SCHEMAS.map((schema) => `--exclude-schema=${schema}`)),
  ];
}

export async function dumpDatabase(session: Session, options: DumpOptions = {}): Promise<string> {
  const args = dumpArgs(options);
  return await session.withPglite("pg_dump", async (pg) => {
    const before = await preparedStatements(pg);
    try {
      const file = await pgDump({ pg: keepPreparedStatements(pg), args });
      const sql = await file.text();
      return options.dataOnly ? sql : withoutPlatformObjects(sql);
    } finally {
      // pg_dump PREPAREs statements of its own; drop those, and only those.
      for (const name of await preparedStatements(pg)) {
        if (!before.has(name)) await pg.exec(`deallocate "${name.replaceAll('"', '""')}"`);
      }
    }
  });
}

const DumpRequest = z.object({
  dataOnly: z.boolean().default(false),
  schemas: z.array(z.string().min(1).max(63)).max(100).default([]),
});

/**
 * `POST /_local/db/dump` on the API port, for `deno task db:dump` while the stack runs (the data
 * folder is then locked): body `{ dataOnly?, schemas? }`, service_role only, answers the SQL.
 */
export function createDumpApp(session: Session, keys: LocalKeys): Hono {
  const app = new Hono();
  app.post("/db/dump", async (c) => {
    const token = /^Bearer\s+(\S+)$/i.exec(c.req.header("authorization") ?? "")?.[1];
    const claims = token ? await keys.verify(token).catch(() => null) : null;
    if (claims?.role !== "service_role") {
      return c.json({ code: "forbidden", message: "The service_role key is required" }, 403);
    }
    const body = DumpRequest.safeParse(await c.req.json().catch(() => null));
    if (!body.success) {
      return c.json({ code: "invalid_request", message: z.prettifyError(body.error) }, 400);
    }
    const sql = await dumpDatabase(session, body.data);
    return c.body(sql, 200, { "content-type": "application/sql; charset=utf-8" });
  });
  return app;
}

/**
 * Drops the sections of pg_dump's output for objects every stack makes itself (the platform's
 * event triggers), so the schema restores into a fresh stack. pg_dump heads each object with
 * `-- Name: <name>; Type: <type>; Schema: ...`.
 */
export function withoutPlatformObjects(sql: string): string {
  const sections = sql.split(/(?=^--\n-- (?:Name|Data for Name): )/m);
  return sections.filter((section) => !/^--\n-- Name: [^;]*; Type: EVENT TRIGGER;/.test(section))
    .join("");
}

async function preparedStatements(pg: PGlite): Promise<Set<string>> {
  const { rows } = await pg.query<{ name: string }>(
    "select name from pg_catalog.pg_prepared_statements where from_sql",
  );
  return new Set(rows.map((r) => r.name));
}

/** pgDump ends with DEALLOCATE ALL, which would drop wire clients' statements too. */
function keepPreparedStatements(pg: PGlite): PGlite {
  return new Proxy(pg, {
    get(target, property, receiver) {
      if (property === "exec") {
        return (sql: string) =>
          /^\s*deallocate\s+all\s*;?\s*$/i.test(sql) ? Promise.resolve([]) : target.exec(sql);
      }
      const value = Reflect.get(target, property, receiver);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}
