/**
 * Brings the local database to the state `supabase start` would: the platform (local/platform.sql)
 * on a fresh database, then every file in supabase/migrations in file-name order, each once, each
 * in its own transaction and recorded in supabase_migrations.schema_migrations, then the seed
 * files on a fresh database. A failing file stops the boot, names the file and the Postgres error,
 * and leaves nothing of that file behind.
 */
import { basename, join } from "node:path";
import { openPglite } from "./pglite.ts";
import { Session, type SessionHandle } from "./session.ts";

export type BootEvent =
  | { kind: "platform"; ms: number }
  | { kind: "migration"; file: string; ms: number }
  | { kind: "seed"; file: string; ms: number };

export interface DatabaseOptions {
  /** Folder for the database files; omitted means in memory. */
  dataDir?: string;
  migrationsDir: string;
  /** Applied on a fresh database only, in order. Missing files are skipped, as the CLI does. */
  seedPaths?: readonly string[];
  /** config.toml [api] auto_expose_new_tables; false emulates the new hosted default. */
  autoExposeNewTables?: boolean;
  onProgress?: (event: BootEvent) => void;
}

export interface Database {
  session: Session;
  /** True when this boot created the database (platform and seed were applied). */
  fresh: boolean;
  /** Migration files applied by this boot. */
  applied: string[];
}

/** A migration or seed file that Postgres refused. */
export class SqlFileError extends Error {
  constructor(
    readonly file: string,
    readonly pgError: PgErrorLike,
    sql: string,
  ) {
    super(describeSqlError(basename(file), pgError, sql));
    this.name = "SqlFileError";
  }
}

interface PgErrorLike {
  message: string;
  code?: string;
  detail?: string;
  hint?: string;
  position?: string | number;
}

const PLATFORM_SQL = new URL("../platform.sql", import.meta.url);
const MIGRATION_FILE = /^(\d+)_(.+)\.sql$/;

export async function openDatabase(options: DatabaseOptions): Promise<Database> {
  const pg = await openPglite(options.dataDir ? { dataDir: options.dataDir } : {});
  const session = new Session(pg);
  try {
    const progress = options.onProgress ?? (() => {});
    // The search_path hosted Supabase gives `postgres` (platform.sql also sets it on the role,
    // which only takes effect for sessions that start later, and PGlite's already has).
    await session.exec(`set search_path = "$user", public, extensions`);
    const fresh = !(await platformInstalled(session));
    if (fresh) {
      const started = performance.now();
      const sql = await Deno.readTextFile(PLATFORM_SQL);
      await runFile(session, PLATFORM_SQL.pathname, sql, async (tx) => {
        await tx.query("select set_config('local_stack.auto_expose_new_tables', $1, true)", [
          String(options.autoExposeNewTables ?? false),
        ]);
      });
      progress({ kind: "platform", ms: performance.now() - started });
    }
    const applied = await applyMigrations(session, options.migrationsDir, progress);
    if (fresh) await applySeeds(session, options.seedPaths ?? [], progress);
    // What every party returns to when a wire client's session state is set aside (session.ts).
    await session.markBaseline();
    return { session, fresh, applied };
  } catch (error) {
    await session.close();
    throw error;
  }
}

/** Applies the migrations not yet recorded; returns the files applied. */
export async function applyMigrations(
  session: Session,
  dir: string,
  progress: (event: BootEvent) => void = () => {},
): Promise<string[]> {
  const done = new Set(
    (await session.query<{ version: string }>(
      "select version from supabase_migrations.schema_migrations",
    )).rows.map((r) => r.version),
  );
  const applied: string[] = [];
  for (const file of await listMigrations(dir)) {
    const [, version, name] = MIGRATION_FILE.exec(file)!;
    if (done.has(version!)) continue;
    const started = performance.now();
    const path = join(dir, file);
    const sql = await Deno.readTextFile(path);
    await runFile(session, path, sql, async (tx) => {
      await tx.exec("set local local_stack.migrating = 'on'");
    }, async (tx) => {
      await tx.query(
        "insert into supabase_migrations.schema_migrations (version, name, statements) values ($1, $2, $3)",
        [version, name, [sql]],
      );
    });
    applied.push(file);
    progress({ kind: "migration", file, ms: performance.now() - started });
  }
  return applied;
}

/** Migration files in apply order: `<digits>_<name>.sql`, sorted by name as the CLI does. */
export async function listMigrations(dir: string): Promise<string[]> {
  const files: string[] = [];
  try {
    for await (const entry of Deno.readDir(dir)) {
      if (entry.isFile && MIGRATION_FILE.test(entry.name)) files.push(entry.name);
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  return files.sort();
}

async function applySeeds(
  session: Session,
  paths: readonly string[],
  progress: (event: BootEvent) => void,
): Promise<void> {
  for (const path of paths) {
    let sql: string;
    try {
      sql = await Deno.readTextFile(path);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) continue;
      throw error;
    }
    const started = performance.now();
    await runFile(session, path, sql, undefined, async (tx) => {
      await tx.query(
        "insert into supabase_migrations.seed_files (path, hash) values ($1, $2) " +
          "on conflict (path) do update set hash = excluded.hash",
        [basename(path), await sha256(sql)],
      );
    });
    progress({ kind: "seed", file: basename(path), ms: performance.now() - started });
  }
}

async function platformInstalled(session: Session): Promise<boolean> {
  const { rows } = await session.query<{ installed: boolean }>(
    "select to_regclass('supabase_migrations.schema_migrations') is not null as installed",
  );
  return rows[0]?.installed === true;
}

/** Runs one SQL file in one transaction, with optional steps before and after it. */
async function runFile(
  session: Session,
  path: string,
  sql: string,
  before?: (tx: SessionHandle) => Promise<void>,
  after?: (tx: SessionHandle) => Promise<void>,
): Promise<void> {
  await session.transaction(async (tx) => {
    if (before) await before(tx);
    try {
      await tx.exec(sql);
    } catch (error) {
      throw new SqlFileError(path, error as PgErrorLike, sql);
    }
    if (after) await after(tx);
  }, `sql-file:${basename(path)}`);
}

function describeSqlError(file: string, error: PgErrorLike, sql: string): string {
  const lines = [
    `${file} failed: ${error.message}${error.code ? ` (SQLSTATE ${error.code})` : ""}`,
  ];
  const position = Number(error.position);
  if (Number.isInteger(position) && position > 0) {
    const before = sql.slice(0, position - 1);
    const line = before.split("\n").length;
    lines.push(`  at line ${line}: ${sql.split("\n")[line - 1]?.trim() ?? ""}`);
  }
  if (error.detail) lines.push(`  DETAIL: ${error.detail}`);
  if (error.hint) lines.push(`  HINT: ${error.hint}`);
  return lines.join("\n");
}

async function sha256(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}
