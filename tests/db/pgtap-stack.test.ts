/**
 * The pgTAP suites of supabase/tests against a running local stack, not only a fresh database:
 * the stack boots with its workers, pg_cron ticks and the dispatchers claim the seed's jobs, and
 * only then do the suites run, twice, in the stack's one long-lived session (so plans that the
 * first round cached are reused by the second, as on any long-lived connection). A suite that
 * passes only on a fresh database at boot time (jobs not yet claimed, the API on port 54321, no
 * cached plans) fails here, as it would under `supabase test db` on a hosted-like database.
 */
import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Results } from "@electric-sql/pglite";
import { startStack } from "../../local/stack.ts";
import { parseTap, readSuite, tapLines, tapProblems } from "./tap.ts";

const TESTS_DIR = fileURLToPath(new URL("../../supabase/tests", import.meta.url));

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
  name: "pgTAP suites pass against a running local stack whose cron has claimed jobs",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const stack = await startStack({
      apiPort: 0,
      dbPort: null,
      dataDir: null,
      functionLogLevel: "error",
      functionLogSink: () => {},
    });
    const { session } = stack;
    try {
      // The dispatchers need Vault's job_secret (the stack sets it; make sure of it here).
      await session.query(
        `select vault.create_secret(gen_random_uuid()::text || gen_random_uuid()::text, 'job_secret')
         where not exists (select 1 from vault.secrets where name = 'job_secret')`,
      );
      // A cron tick ran a dispatcher, which claimed seed jobs (the worker functions may not
      // exist yet, so the jobs may come back or be dead-lettered: either way they left 'queued').
      const deadline = Date.now() + 60_000;
      for (;;) {
        const { rows } = await session.query<{ claimed: boolean }>(
          `select exists (select 1 from cron.job_run_details where command like '%dispatch_jobs%')
              and (exists (select 1 from private.jobs where attempts > 0)
                   or exists (select 1 from private.dead_jobs)) as claimed`,
        );
        if (rows[0]?.claimed) break;
        if (Date.now() > deadline) throw new Error("No dispatcher claimed a job within 60 s");
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
      await session.exec("create extension if not exists pgtap with schema extensions");
      for (const round of [1, 2]) {
        for (const path of await listSuites()) {
          await t.step(`round ${round}: ${basename(path)}`, async () => {
            const sql = await readSuite(path);
            const lease = await session.lease(`pgtap:${basename(path)}`);
            let results: Results[];
            try {
              results = await lease.exec(sql);
            } catch (error) {
              throw new Error(`${basename(path)} raised: ${(error as Error).message}`);
            } finally {
              await lease.exec("rollback").catch(() => {});
              lease.release();
            }
            const problems = tapProblems(parseTap(tapLines(results)));
            if (problems.length > 0) {
              throw new Error(`${basename(path)} failed:\n${problems.join("\n")}`);
            }
          });
        }
      }
    } finally {
      await stack.stop();
    }
  },
});
