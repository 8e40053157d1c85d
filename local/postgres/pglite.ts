/**
 * Opens the local stack's Postgres: PGlite (Postgres in WASM) with the extensions a Supabase
 * project has, persisted in a data folder (or in memory when no folder is given).
 *
 * Extensions that exist on hosted Supabase but cannot run in WASM (pg_cron, pg_net,
 * supabase_vault) are installed as *emulated* extensions: a control file and an SQL script
 * written into PGlite's virtual filesystem before the first query. `create extension pg_cron`
 * in a migration then behaves as it does on hosted Supabase: it creates the `cron` schema with
 * the real names and signatures, and the local workers (`local/workers`) give it life.
 */
import { PGlite } from "@electric-sql/pglite";
import { pgcrypto } from "@electric-sql/pglite/contrib/pgcrypto";
import { pg_trgm } from "@electric-sql/pglite/contrib/pg_trgm";
import { uuid_ossp } from "@electric-sql/pglite/contrib/uuid_ossp";
import { pgtap } from "@electric-sql/pglite-pgtap";
import { vector } from "@electric-sql/pglite-pgvector";
import { type EmscriptenModeFs, restrictFileModes, tightenTree } from "../data-dir.ts";

/** Emulated extensions: name, version, control-file settings and the script beside this file. */
const EMULATED_EXTENSIONS = [
  { name: "supabase_vault", version: "0.3.1", control: "schema = vault\nrelocatable = false" },
  { name: "pg_net", version: "0.20.4", control: "relocatable = false" },
  { name: "pg_cron", version: "1.6", control: "schema = pg_catalog\nrelocatable = false" },
] as const;

const EXTENSION_DIR = "/pglite/share/postgresql/extension";

/**
 * Postgres' recursion guard, as a start parameter so that RESET ALL / DISCARD ALL keep it.
 * Postgres measures its own (linear memory) stack, but in WASM most of each frame lives on the
 * JavaScript engine's stack, which overflows first: the RangeError is swallowed by PGlite and
 * leaves the session broken (the next statements hang or PANIC). At the minimum, 100kB, the
 * check fires first for recursive SQL and PL/pgSQL functions, deep expressions and subqueries
 * and JSON nested some thousand levels when V8's stack is 4 MB (`--v8-flags=--stack-size=4000`,
 * which `deno task start` and `db:dump` pass; `deno test` runs tests on 2 MB threads, where
 * only the PL/pgSQL case is covered). Ordinary statements use a small fraction of it. JSON
 * nested tens of thousands of levels still overflows inside the parser, so the emulators refuse
 * request JSON deeper than 64 levels before it reaches the database.
 */
const MAX_STACK_DEPTH = "100kB";

export interface OpenOptions {
  /** Folder for the database files; omitted means an in-memory database. */
  dataDir?: string;
}

export type Pg = PGlite;

/** Opens PGlite with Supabase's extensions available to `create extension`. */
export async function openPglite(options: OpenOptions = {}): Promise<PGlite> {
  const pg = await PGlite.create({
    ...(options.dataDir ? { dataDir: options.dataDir } : {}),
    extensions: { vector, pgtap, pgcrypto, uuid_ossp, pg_trgm },
    startParams: [...PGlite.defaultStartParams, "-c", `max_stack_depth=${MAX_STACK_DEPTH}`],
  });
  if (options.dataDir) {
    // Owner-only files (see local/data-dir.ts): PGlite creates them 0666.
    restrictFileModes(emscriptenFs(pg));
    await tightenTree(options.dataDir);
  }
  await installEmulatedExtensions(pg);
  return pg;
}

async function installEmulatedExtensions(pg: PGlite): Promise<void> {
  // PGlite exposes its Emscripten module; the extension folder lives in its in-memory FS and is
  // rebuilt on every boot, so the files are written each time (before any CREATE EXTENSION).
  const fs = emscriptenFs(pg);
  for (const ext of EMULATED_EXTENSIONS) {
    const script = await Deno.readTextFile(
      new URL(`../extensions/${ext.name}.sql`, import.meta.url),
    );
    fs.writeFile(
      `${EXTENSION_DIR}/${ext.name}.control`,
      `comment = 'emulated by the local stack'\ndefault_version = '${ext.version}'\n${ext.control}\n`,
    );
    fs.writeFile(`${EXTENSION_DIR}/${ext.name}--${ext.version}.sql`, script);
  }
}

interface EmscriptenFs extends EmscriptenModeFs {
  writeFile(path: string, data: string): void;
}

function emscriptenFs(pg: PGlite): EmscriptenFs {
  return (pg as unknown as { Module: { FS: EmscriptenFs } }).Module.FS;
}
