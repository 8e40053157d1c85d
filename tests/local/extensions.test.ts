/**
 * The local database starts with the extensions a fresh hosted project has and nothing more:
 * pg_net, pg_cron and vector are available but exist only once a migration creates them, so a
 * migration that forgets one fails here as it would on `supabase db push`. The project's own
 * migrations then create every extension they use, and every cron job they schedule runs.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { openDatabase } from "../../local/postgres/database.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
/** A fresh hosted project's extensions that PGlite can load (pg_graphql and pg_stat_statements cannot). */
const HOSTED_FRESH = ["pgcrypto", "plpgsql", "supabase_vault", "uuid-ossp"];

const dbTest = (name: string, fn: () => Promise<void>) =>
  Deno.test({ name, sanitizeOps: false, sanitizeResources: false, fn });

dbTest("a database with no migrations has only what a fresh hosted project has", async () => {
  const empty = await Deno.makeTempDir({ prefix: "no-migrations-" });
  const { session } = await openDatabase({ migrationsDir: empty });
  try {
    const installed = await session.query<{ extname: string }>(
      "select extname from pg_extension order by extname",
    );
    assert.deepEqual(installed.rows.map((r) => r.extname), HOSTED_FRESH);
    const available = await session.query<{ name: string }>(
      `select name from pg_available_extensions
       where name in ('pg_net', 'pg_cron', 'vector') and installed_version is null order by name`,
    );
    assert.deepEqual(available.rows.map((r) => r.name), ["pg_cron", "pg_net", "vector"]);
    await assert.rejects(
      session.query("select net.http_get('http://127.0.0.1:9/')"),
      /schema "net" does not exist/,
    );
  } finally {
    await session.close();
    await Deno.remove(empty, { recursive: true });
  }
});

dbTest(
  "the project's migrations create the extensions they use, and the dispatchers run",
  async () => {
    const { session } = await openDatabase({ migrationsDir: join(ROOT, "supabase/migrations") });
    try {
      const installed = await session.query<{ extname: string; schema: string }>(
        `select e.extname, n.nspname as schema from pg_extension e
       join pg_namespace n on n.oid = e.extnamespace
       where e.extname in ('pg_net', 'pg_cron', 'vector') order by e.extname`,
      );
      assert.deepEqual(installed.rows, [
        { extname: "pg_cron", schema: "pg_catalog" },
        { extname: "pg_net", schema: "extensions" },
        { extname: "vector", schema: "extensions" },
      ]);

      // What pg_cron runs every 5 seconds on hosted: each queue's dispatcher, with a job due.
      await session.query(
        "select vault.create_secret('http://127.0.0.1:9', 'project_url'), " +
          "vault.create_secret('job-secret-of-at-least-32-characters', 'job_secret')",
      );
      const jobs = await session.query<{ command: string; jobname: string }>(
        "select jobname, command from cron.job order by jobname",
      );
      assert.ok(jobs.rows.length > 0, "The migrations schedule dispatcher cron jobs");
      await session.exec(
        `select private.enqueue_job(name, '{"probe": true}') from private.job_queues`,
      );
      for (const job of jobs.rows) {
        await session.exec(job.command).catch((error) => {
          throw new Error(`cron job ${job.jobname} failed: ${(error as Error).message}`);
        });
      }
      const sent = await session.query<{ n: number }>(
        "select count(*)::int as n from net.http_request_queue",
      );
      assert.ok(sent.rows[0]!.n > 0, "The dispatchers POST through pg_net");
    } finally {
      await session.close();
    }
  },
);
