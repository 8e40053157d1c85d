/**
 * The queue workers' route, one shape for every function that drains a queue:
 *
 *   POST /functions/v1/<function>/jobs
 *   Authorization: Bearer <JOB_SECRET>        (or a service key)
 *   { "queue": "<name>", "jobs": [{ "id": uuid, "payload": {...}, "attempt": n }] }
 *
 * `private.dispatch_jobs` sends these batches through pg_net. Each job runs its queue's handler;
 * a handler that resolves completes the job (`private.complete_job`), one that throws fails it
 * (`private.fail_job`, with `retry_in` for RetryLater), both as service_role. The answer is 200
 * `{ completed, failed }`, or 207 when any job failed. The dispatcher does not read it: the
 * database is the record, so a job whose report was lost is claimed again after its visibility
 * timeout. Handlers must therefore be idempotent, and complete a job whose rows are gone.
 *
 * Worker auth fails closed: only the dedicated job secret (Vault `job_secret` = JOB_SECRET) or a
 * configured service key is accepted, compared in constant time; a verifiable JWT of any other
 * role gets 403, anything else 401. With no credential configured, nothing is accepted.
 */
import type { Hono } from "hono";
import { createMiddleware } from "hono/factory";
import { bearerToken, type VerifyJwt } from "./auth.ts";
import type { Deps } from "./deps.ts";
import { AppError } from "./errors.ts";
import type { AppEnv } from "./http/app.ts";
import { timingSafeEqual } from "./http/auth.ts";
import { validate } from "./http/validate.ts";
import type { Logger } from "./logger.ts";
import { JobsBatch } from "./contracts/jobs.ts";

export interface Job {
  id: string;
  queue: string;
  payload: Record<string, unknown>;
  /** 1 for the first delivery; `private.fail_job` ignores reports of a stale attempt. */
  attempt: number;
}

export interface JobContext {
  deps: Deps;
  /** Carries job_id, queue and attempt. */
  logger: Logger;
  /** Aborted when the batch's time budget is spent: stop early and throw RetryLater. */
  signal: AbortSignal;
}

/** Resolve: the job is completed. Throw: it is failed (retried with backoff, or dead-lettered). */
export type JobHandler = (job: Job, ctx: JobContext) => Promise<void>;

/** Thrown by a handler to fail the job and have it retried after `retryInSeconds`. */
export class RetryLater extends Error {
  constructor(message: string, readonly retryInSeconds: number) {
    super(message);
    this.name = "RetryLater";
  }
}

export interface JobsRouteOptions {
  /** By queue name; a batch of another queue is refused (400). */
  handlers: Record<string, JobHandler>;
  /** Jobs of a batch run at once (default 2). */
  concurrency?: number;
  /** No job is started after this many milliseconds; running ones see `signal` aborted (default 50,000). */
  budgetMs?: number;
  /** Answer 202 at once and finish under `EdgeRuntime.waitUntil` (for batches past pg_net's timeout). */
  background?: boolean;
}

export interface JobsOutcome {
  completed: string[];
  failed: Array<{ id: string; error: string }>;
}

const DEFAULT_CONCURRENCY = 2;
const DEFAULT_BUDGET_MS = 50_000;
const NOT_STARTED = "Not started: the batch's time budget was spent";

/** Registers `POST /jobs` with worker auth on a function's app. */
export function mountJobsRoute(app: Hono<AppEnv>, deps: Deps, options: JobsRouteOptions): void {
  const auth = workerAuth({
    jobSecret: deps.config.jobSecret,
    serviceKeys: deps.config.serviceKeys,
    verifyJwt: deps.verifyJwt,
  });
  app.post("/jobs", auth, validate("json", JobsBatch), async (c) => {
    const body = c.req.valid("json");
    const handler = options.handlers[body.queue];
    if (!handler || !Object.hasOwn(options.handlers, body.queue)) {
      throw new AppError("invalid_request", `Unknown queue: "${body.queue}"`, {
        details: { queues: Object.keys(options.handlers) },
      });
    }
    const jobs: Job[] = body.jobs.map((j) => ({ ...j, queue: body.queue }));
    const logger = c.get("logger").child({ queue: body.queue });

    if (options.background) {
      const work = runJobs(jobs, handler, deps, logger, options).catch((error) =>
        logger.error("job batch failed", { error })
      );
      const runtime = (globalThis as { EdgeRuntime?: { waitUntil(p: Promise<unknown>): void } })
        .EdgeRuntime;
      runtime?.waitUntil(work);
      return c.json({ accepted: jobs.map((j) => j.id) }, 202);
    }

    const outcome = await runJobs(jobs, handler, deps, logger, options);
    return c.json(outcome, outcome.failed.length > 0 ? 207 : 200);
  });
}

/**
 * Runs a batch with bounded concurrency and reports every job to the queue. Exported for workers
 * that receive jobs another way (and for tests); `mountJobsRoute` is the usual entry.
 */
export async function runJobs(
  jobs: readonly Job[],
  handler: JobHandler,
  deps: Deps,
  logger: Logger,
  options: Pick<JobsRouteOptions, "concurrency" | "budgetMs"> = {},
): Promise<JobsOutcome> {
  const budgetMs = options.budgetMs ?? DEFAULT_BUDGET_MS;
  const concurrency = Math.max(1, options.concurrency ?? DEFAULT_CONCURRENCY);
  const started = performance.now();
  const budget = new AbortController();
  const timer = setTimeout(
    () => budget.abort(new Error("The batch's time budget is spent")),
    budgetMs,
  );
  const outcome: JobsOutcome = { completed: [], failed: [] };

  let next = 0;
  async function lane(): Promise<void> {
    while (next < jobs.length) {
      const job = jobs[next++]!;
      if (budget.signal.aborted || performance.now() - started >= budgetMs) {
        // Released at once rather than left to the visibility timeout.
        await report(job, new RetryLater(NOT_STARTED, 0));
        continue;
      }
      const jobLogger = logger.child({ job_id: job.id, attempt: job.attempt });
      let failure: unknown = null;
      try {
        await handler(job, { deps, logger: jobLogger, signal: budget.signal });
      } catch (error) {
        failure = error;
        jobLogger.warn("job failed", { error });
      }
      await report(job, failure);
    }
  }

  async function report(job: Job, failure: unknown): Promise<void> {
    const error = failure === null ? null : describe(failure);
    try {
      if (error === null) {
        await deps.db.asService((tx) => tx.query("select private.complete_job($1)", [job.id]));
        outcome.completed.push(job.id);
        return;
      }
      const retryIn = failure instanceof RetryLater
        ? `${Math.max(0, failure.retryInSeconds)} seconds`
        : null;
      await deps.db.asService((tx) =>
        tx.query("select private.fail_job($1, $2, $3, $4::interval)", [
          job.id,
          error,
          job.attempt,
          retryIn,
        ])
      );
      outcome.failed.push({ id: job.id, error });
    } catch (reportError) {
      // The job stays claimed and comes back after its visibility timeout.
      logger.error("job report failed", { job_id: job.id, error: reportError });
      outcome.failed.push({ id: job.id, error: error ?? "The job's completion was not recorded" });
    }
  }

  try {
    await Promise.all(Array.from({ length: Math.min(concurrency, jobs.length) }, lane));
  } finally {
    clearTimeout(timer);
  }
  return outcome;
}

/** The error text kept in `private.jobs.last_error` and answered in `failed`. */
function describe(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.trim().slice(0, 2000) || "Unknown error";
}

export interface WorkerAuthOptions {
  jobSecret: string | undefined;
  serviceKeys: readonly string[];
  verifyJwt: VerifyJwt;
}

/**
 * The `/jobs` routes' middleware: the job secret or a service key, nothing else. A token that
 * verifies as some other role's JWT (a user, the anon key) is 403; missing or unknown is 401.
 */
export function workerAuth(options: WorkerAuthOptions) {
  const accepted = [options.jobSecret ?? "", ...options.serviceKeys].filter((k) => k.length > 0);
  return createMiddleware<AppEnv>(async function requireWorkerCredential(c, next) {
    const token = bearerToken(c.req.header("authorization"));
    if (!token) throw new AppError("unauthenticated", "Missing bearer token");
    let match = false;
    for (const key of accepted) match = timingSafeEqual(key, token) || match;
    if (match) return await next();
    if (!token.startsWith("sb_") && token.split(".").length === 3) {
      let verified = false;
      try {
        await options.verifyJwt(token);
        verified = true;
      } catch {
        // Not a token of this project: unauthenticated below.
      }
      if (verified) {
        throw new AppError("forbidden", "This route is for the job dispatcher only");
      }
    }
    throw new AppError("unauthenticated", "Invalid worker credential");
  });
}
