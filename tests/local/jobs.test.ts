/**
 * The queue workers' `/jobs` route (supabase/functions/_shared/jobs.ts) in a tiny function app,
 * in process, against a real PGlite database with every migration: jobs are enqueued with
 * private.enqueue_job and claimed with private.claim_jobs as the dispatcher would, the batch is
 * POSTed to the route, and the outcome is read back from private.jobs and private.dead_jobs.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { installEdgeRuntime, settleBackgroundWork } from "../../local/functions.ts";
import { loadKeys } from "../../local/keys.ts";
import { openDatabase } from "../../local/postgres/database.ts";
import { createLocalProvider } from "../../supabase/functions/_shared/ai/local.ts";
import { loadConfig } from "../../supabase/functions/_shared/config.ts";
import { createDb } from "../../supabase/functions/_shared/db/mod.ts";
import { createSessionDriver } from "../../supabase/functions/_shared/db/session.ts";
import type { Deps } from "../../supabase/functions/_shared/deps.ts";
import { createFunctionApp } from "../../supabase/functions/_shared/http/app.ts";
import {
  type JobHandler,
  type JobsRouteOptions,
  mountJobsRoute,
  RetryLater,
} from "../../supabase/functions/_shared/jobs.ts";
import { createLogger } from "../../supabase/functions/_shared/logger.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const JOB_SECRET = "job-secret-for-tests-0123456789abcdef";

const keys = await loadKeys();
const { session } = await openDatabase({ migrationsDir: join(ROOT, "supabase/migrations") });
const deps: Deps = {
  config: loadConfig({
    SUPABASE_URL: "http://127.0.0.1:54321",
    SUPABASE_ANON_KEY: keys.anonKey,
    SUPABASE_SERVICE_ROLE_KEY: keys.serviceRoleKey,
    SUPABASE_SECRET_KEYS: JSON.stringify({ default: "sb_secret_tests" }),
    JOB_SECRET,
  }),
  db: createDb(createSessionDriver(session)),
  verifyJwt: keys.verify,
  logger: createLogger({}, { level: "error", sink: () => {} }),
  ai: createLocalProvider(),
  now: () => new Date(),
};

let queueCount = 0;

/** A fresh queue (max 2 attempts, 10 s backoff) with `count` enqueued jobs. */
async function newQueue(count: number): Promise<{ queue: string; ids: string[] }> {
  const queue = `test_jobs_${++queueCount}`;
  await session.query(
    `insert into private.job_queues (name, worker_function, max_attempts, backoff_base)
     values ($1, 'demo-worker', 2, interval '10 seconds')`,
    [queue],
  );
  const ids: string[] = [];
  for (let n = 1; n <= count; n++) {
    const [row] = (await session.query<{ id: string }>(
      "select private.enqueue_job($1, jsonb_build_object('n', $2::int)) as id",
      [queue, n],
    )).rows;
    ids.push(row!.id);
  }
  return { queue, ids };
}

/** Claims every due job of the queue, as the dispatcher does, and returns the batch body. */
async function claimBatch(queue: string) {
  const { rows } = await session.query<{ id: string; payload: { n: number }; attempt: number }>(
    "select id, payload, attempt from private.claim_jobs($1, 100) order by payload->>'n'",
    [queue],
  );
  return { queue, jobs: rows };
}

function workerApp(options: JobsRouteOptions, appDeps: Deps = deps) {
  const app = createFunctionApp("demo-worker", { logger: appDeps.logger });
  mountJobsRoute(app, appDeps, options);
  return app;
}

function post(app: ReturnType<typeof workerApp>, body: unknown, token: string | null = JOB_SECRET) {
  return app.request("/demo-worker/jobs", {
    method: "POST",
    headers: {
      "content-type": "application/json",
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

async function jobRow(id: string) {
  const { rows } = await session.query<{
    status: string;
    attempts: number;
    last_error: string | null;
    delay_s: number;
  }>(
    `select status, attempts, last_error,
            extract(epoch from visible_at - now())::int as delay_s
     from private.jobs where id = $1`,
    [id],
  );
  return rows[0];
}

const complete: JobHandler = () => Promise.resolve();

Deno.test("/jobs accepts the job secret and service keys, 403 for user and anon JWTs, 401 else", async () => {
  const app = workerApp({ handlers: { nothing: complete } });
  const empty = { queue: "nothing", jobs: [] };
  const userToken = await keys.signUserToken({
    sub: crypto.randomUUID(),
    role: "authenticated",
    aud: "authenticated",
    exp: Math.floor(Date.now() / 1000) + 600,
  });

  for (const token of [JOB_SECRET, keys.serviceRoleKey, "sb_secret_tests"]) {
    const response = await post(app, empty, token);
    assert.equal(response.status, 200, token.slice(0, 12));
    assert.deepEqual(await response.json(), { completed: [], failed: [] });
  }
  for (const token of [userToken, keys.anonKey]) {
    const response = await post(app, empty, token);
    assert.equal(response.status, 403);
    assert.equal((await response.json()).error.code, "forbidden");
  }
  for (const token of [null, "garbage", `${JOB_SECRET}x`, "sb_secret_other", "a.b.c"]) {
    const response = await post(app, empty, token);
    assert.equal(response.status, 401, String(token));
    const body = await response.json();
    assert.equal(body.error.code, "unauthenticated");
    assert.ok(body.request_id);
  }
});

Deno.test("/jobs refuses everything when no worker credential is configured", async () => {
  const bare: Deps = { ...deps, config: { ...deps.config, jobSecret: undefined, serviceKeys: [] } };
  const app = workerApp({ handlers: { nothing: complete } }, bare);
  let calls = 0;
  const counting: JobHandler = () => {
    calls++;
    return Promise.resolve();
  };
  const { queue } = await newQueue(1);
  const locked = workerApp({ handlers: { [queue]: counting } }, bare);
  const batch = await claimBatch(queue);
  for (const token of [JOB_SECRET, "", null]) {
    assert.equal((await post(locked, batch, token)).status, 401);
  }
  // The service_role JWT still verifies, but is no longer a worker credential.
  assert.equal((await post(locked, batch, keys.serviceRoleKey)).status, 403);
  assert.equal(calls, 0);
  assert.equal((await post(app, { queue: "nothing", jobs: [] }, JOB_SECRET)).status, 401);
});

Deno.test("/jobs completes, fails, retries later and dead-letters, then answers 207", async () => {
  const { queue, ids } = await newQueue(4);
  const [ok, broken, throttled, doomed] = ids as [string, string, string, string];
  // The doomed job is on its last attempt (max_attempts 2).
  await session.query("update private.jobs set attempts = 1 where id = $1", [doomed]);

  const handler: JobHandler = (job) => {
    const n = job.payload.n;
    if (n === 1) return Promise.resolve();
    if (n === 3) return Promise.reject(new RetryLater("Upstream asked to wait", 120));
    return Promise.reject(new Error(`Job ${n} broke`));
  };
  const response = await post(
    workerApp({ handlers: { [queue]: handler } }),
    await claimBatch(queue),
  );
  assert.equal(response.status, 207);
  const body = await response.json();
  assert.deepEqual(body.completed, [ok]);
  assert.deepEqual(
    [...body.failed].sort((a, b) => a.id.localeCompare(b.id)),
    [
      { id: broken, error: "Job 2 broke" },
      { id: throttled, error: "Upstream asked to wait" },
      { id: doomed, error: "Job 4 broke" },
    ].sort((a, b) => a.id.localeCompare(b.id)),
  );

  assert.equal((await jobRow(ok))!.status, "completed");
  const retried = (await jobRow(broken))!;
  assert.equal(retried.status, "queued");
  assert.equal(retried.last_error, "Job 2 broke");
  assert.ok(retried.delay_s > 5 && retried.delay_s <= 10, `backoff ${retried.delay_s}`);
  const later = (await jobRow(throttled))!;
  assert.equal(later.status, "queued");
  assert.ok(later.delay_s > 100 && later.delay_s <= 120, `retry_in ${later.delay_s}`);
  assert.equal(await jobRow(doomed), undefined);
  const { rows: dead } = await session.query<{ reason: string; last_error: string }>(
    "select reason, last_error from private.dead_jobs where id = $1",
    [doomed],
  );
  assert.deepEqual(dead, [{ reason: "failed", last_error: "Job 4 broke" }]);
});

Deno.test("/jobs answers 200 when every job completed, and a stale report changes nothing", async () => {
  const { queue, ids } = await newQueue(2);
  const batch = await claimBatch(queue);
  const app = workerApp({ handlers: { [queue]: complete } });
  const response = await post(app, batch);
  assert.equal(response.status, 200);
  assert.deepEqual((await response.json()).completed.sort(), [...ids].sort());
  for (const id of ids) assert.equal((await jobRow(id))!.status, "completed");

  // Delivered again (the dispatcher's answer was lost): completing twice is harmless.
  const again = await post(app, batch);
  assert.equal(again.status, 200);
  for (const id of ids) assert.equal((await jobRow(id))!.status, "completed");
});

Deno.test("/jobs refuses an unknown queue and a malformed body with 400, touching no job", async () => {
  const { queue, ids } = await newQueue(1);
  const batch = await claimBatch(queue);
  const app = workerApp({ handlers: { other_queue: complete } });

  const unknown = await post(app, batch);
  assert.equal(unknown.status, 400);
  const body = await unknown.json();
  assert.equal(body.error.code, "invalid_request");
  assert.match(body.error.message, new RegExp(`Unknown queue: "${queue}"`));

  for (
    const bad of [
      "{not json",
      { queue, jobs: [{ id: "not-a-uuid", payload: {}, attempt: 1 }] },
      { queue, jobs: [{ id: ids[0], payload: [], attempt: 0 }] },
      { jobs: [] },
    ]
  ) {
    const response = await post(app, bad);
    assert.equal(response.status, 400, JSON.stringify(bad));
    assert.equal((await response.json()).error.code, "invalid_request");
  }
  assert.equal((await jobRow(ids[0]!))!.status, "running");
});

Deno.test("/jobs runs at most `concurrency` jobs at once", async () => {
  const { queue } = await newQueue(6);
  let running = 0;
  let most = 0;
  const handler: JobHandler = async () => {
    running++;
    most = Math.max(most, running);
    await new Promise((resolve) => setTimeout(resolve, 5));
    running--;
  };
  const response = await post(
    workerApp({ handlers: { [queue]: handler }, concurrency: 3 }),
    await claimBatch(queue),
  );
  assert.equal(response.status, 200);
  assert.equal((await response.json()).completed.length, 6);
  assert.equal(most, 3);
});

Deno.test("/jobs starts no job past the time budget and releases those jobs at once", async () => {
  const { queue, ids } = await newQueue(2);
  let calls = 0;
  const handler: JobHandler = () => {
    calls++;
    return Promise.resolve();
  };
  const response = await post(
    workerApp({ handlers: { [queue]: handler }, budgetMs: 0 }),
    await claimBatch(queue),
  );
  assert.equal(response.status, 207);
  assert.equal(calls, 0);
  for (const id of ids) {
    const row = (await jobRow(id))!;
    assert.equal(row.status, "queued");
    assert.ok(row.delay_s <= 0);
    assert.match(row.last_error!, /time budget/);
  }
});

Deno.test("/jobs in background mode answers 202 and finishes under EdgeRuntime.waitUntil", async () => {
  installEdgeRuntime();
  const { queue, ids } = await newQueue(3);
  const response = await post(
    workerApp({ handlers: { [queue]: complete }, background: true }),
    await claimBatch(queue),
  );
  assert.equal(response.status, 202);
  assert.deepEqual((await response.json()).accepted.sort(), [...ids].sort());
  await settleBackgroundWork();
  for (const id of ids) assert.equal((await jobRow(id))!.status, "completed");
});

Deno.test("close the database", async () => {
  await session.close();
});
