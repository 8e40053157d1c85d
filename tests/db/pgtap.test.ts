/**
 * Runs the pgTAP suites of supabase/tests on the local stack's Postgres (PGlite), as
 * `supabase test db` runs them on the CLI's Postgres.
 *
 * One database for all suites: every migration plus supabase/seed.sql, then pgTAP in schema
 * `extensions` (the local stack puts `extensions` on the search_path, as Supabase does). Each
 * `supabase/tests/*.sql` file is one test step; a suite opens its own transaction and rolls it
 * back, so suites do not see each other's data. `_helpers.psql` is not a suite: suites include it
 * with `\ir`. A step fails when the file raises an error, a test fails (its name and diagnostics
 * are reported), or the number of tests run differs from the plan.
 */
import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Results } from "@electric-sql/pglite";
import { openDatabase } from "../../local/postgres/database.ts";
import { parseTap, readSuite, tapLines, tapProblems } from "./tap.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const TESTS_DIR = join(ROOT, "supabase/tests");

async function listSuites(): Promise<string[]> {
  const files: string[] = [];
  for await (const entry of Deno.readDir(TESTS_DIR)) {
    if (entry.isFile && entry.name.endsWith(".sql") && !entry.name.startsWith("_")) {
      files.push(join(TESTS_DIR, entry.name));
    }
  }
  return files.sort();
}

Deno.test({
  name: "pgTAP suites in supabase/tests pass on the local stack",
  // PGlite keeps its WASM instance and file handles for the process lifetime.
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const { session } = await openDatabase({
      migrationsDir: join(ROOT, "supabase/migrations"),
      seedPaths: [join(ROOT, "supabase/seed.sql")],
    });
    try {
      await session.exec("create extension if not exists pgtap with schema extensions");
      for (const path of await listSuites()) {
        await t.step(basename(path), async () => {
          const sql = await readSuite(path);
          const lease = await session.lease(`pgtap:${basename(path)}`);
          let results: Results[];
          try {
            results = await lease.exec(sql);
          } catch (error) {
            throw new Error(describeError(basename(path), sql, error));
          } finally {
            // A suite ends with rollback; after an error its transaction is still open.
            await lease.exec("rollback").catch(() => {});
            lease.release();
          }
          const problems = tapProblems(parseTap(tapLines(results)));
          if (problems.length > 0) {
            throw new Error(`${basename(path)} failed:\n${problems.join("\n")}`);
          }
        });
      }
    } finally {
      await session.close();
    }
  },
});

function describeError(file: string, sql: string, error: unknown): string {
  const e = error as { message?: string; code?: string; position?: string | number };
  const lines = [
    `${file} raised an error: ${e.message ?? String(error)}` +
    (e.code ? ` (SQLSTATE ${e.code})` : ""),
  ];
  const position = Number(e.position);
  if (Number.isInteger(position) && position > 0) {
    const line = sql.slice(0, position - 1).split("\n").length;
    lines.push(`  at line ${line} (includes inlined): ${sql.split("\n")[line - 1]?.trim() ?? ""}`);
  }
  return lines.join("\n");
}
