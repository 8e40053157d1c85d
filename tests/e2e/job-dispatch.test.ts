/**
 * The queue end to end on the local stack: the stack puts the functions' JOB_SECRET in Vault,
 * private.dispatch_jobs POSTs a batch through pg_net to a worker function's /jobs route with it,
 * and the worker's reports land in private.jobs. Also: the functions' config comes from the
 * stack's environment layers (functionEnv here), so OPENAI_* switch the provider.
 */
import assert from "node:assert/strict";
import type { Deps } from "../../supabase/functions/_shared/deps.ts";
import { createFunctionApp } from "../../supabase/functions/_shared/http/app.ts";
import { type Job, mountJobsRoute } from "../../supabase/functions/_shared/jobs.ts";
import { startStack } from "../../local/stack.ts";

const JOB_SECRET = "e2e-job-secret-0123456789abcdefghijklmnop";

Deno.test({
  name: "the dispatcher calls a worker's /jobs route with the job secret and the jobs complete",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    let workerDeps: Deps | null = null;
    const seen: Job[] = [];
    const stack = await startStack({
      apiPort: 0,
      dbPort: null,
      dataDir: null,
      functionLogLevel: "error",
      functionEnv: {
        JOB_SECRET,
        OPENAI_API_KEY: "sk-e2e-not-used",
        OPENAI_BASE_URL: "http://127.0.0.1:9/v1",
      },
      extraFunctions: {
        "demo-worker": {
          // As in config.toml for real workers: the job secret is not a JWT.
          verifyJwt: false,
          createApp(deps) {
            workerDeps = deps;
            const app = createFunctionApp("demo-worker", { logger: deps.logger });
            mountJobsRoute(app, deps, {
              handlers: {
                e2e_jobs: (job) => {
                  seen.push(job);
                  if (job.payload.fail) return Promise.reject(new Error("Told to fail"));
                  return Promise.resolve();
                },
              },
            });
            return app;
          },
        },
      },
    });
    try {
      await t.step("the functions' config and Vault share the job secret", async () => {
        assert.equal(stack.jobSecret, JOB_SECRET);
        const { rows } = await stack.session.query<{ secret: string }>(
          "select decrypted_secret as secret from vault.decrypted_secrets where name = 'job_secret'",
        );
        assert.deepEqual(rows, [{ secret: JOB_SECRET }]);
        assert.equal(workerDeps!.config.jobSecret, JOB_SECRET);
      });

      await t.step("OPENAI_API_KEY and OPENAI_BASE_URL switch the functions to openai", () => {
        assert.equal(workerDeps!.ai.name, "openai");
        assert.equal(workerDeps!.config.ai.openaiBaseUrl, "http://127.0.0.1:9/v1");
      });

      await t.step("a dispatched batch is worked and reported", async () => {
        await stack.session.query(
          `insert into private.job_queues (name, worker_function, max_attempts)
           values ('e2e_jobs', 'demo-worker', 3)`,
        );
        const { rows: jobs } = await stack.session.query<{ id: string }>(
          `select private.enqueue_job('e2e_jobs', p) as id
           from (values ('{"n": 1}'::jsonb), ('{"n": 2, "fail": true}'::jsonb)) v (p)`,
        );
        const { rows: [sent] } = await stack.session.query<{ n: number }>(
          "select private.dispatch_jobs('e2e_jobs') as n",
        );
        assert.equal(sent!.n, 1);

        const states = await waitFor(async () => {
          const { rows } = await stack.session.query<
            { id: string; status: string; last_error: string | null }
          >(
            "select id, status, last_error from private.jobs where queue = 'e2e_jobs' order by payload->>'n'",
          );
          return rows.every((r) => r.status !== "running") ? rows : null;
        });
        assert.deepEqual(states, [
          { id: jobs[0]!.id, status: "completed", last_error: null },
          { id: jobs[1]!.id, status: "queued", last_error: "Told to fail" },
        ]);
        assert.deepEqual(seen.map((j) => [j.queue, j.payload.n, j.attempt]).sort(), [
          ["e2e_jobs", 1, 1],
          ["e2e_jobs", 2, 1],
        ]);
      });

      await t.step("the worker route refuses the anon key and answers the job secret", async () => {
        const url = `${stack.apiUrl}/functions/v1/demo-worker/jobs`;
        const body = JSON.stringify({ queue: "e2e_jobs", jobs: [] });
        const anon = await fetch(url, {
          method: "POST",
          headers: { authorization: `Bearer ${stack.anonKey}`, "content-type": "application/json" },
          body,
        });
        assert.equal(anon.status, 403);
        await anon.body?.cancel();
        const ok = await fetch(url, {
          method: "POST",
          headers: { authorization: `Bearer ${JOB_SECRET}`, "content-type": "application/json" },
          body,
        });
        assert.equal(ok.status, 200);
        assert.deepEqual(await ok.json(), { completed: [], failed: [] });
      });
    } finally {
      await stack.stop();
    }
  },
});

async function waitFor<T>(probe: () => Promise<T | null>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await probe();
    if (value !== null) return value;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`Nothing after ${timeoutMs} ms`);
}
