/**
 * pg_cron's scheduler for the local stack. Every tick it reads `cron.job` (once a migration has
 * created the extension), runs each due active job and records the run in
 * `cron.job_run_details`, as pg_cron does:
 *
 * - Schedules: five cron fields in UTC (`$` = last day of the month), @macros, and
 *   '[1-59] seconds' (every n seconds, counted from when the worker first saw the job).
 * - A job never overlaps itself: a run still going when the job is due again is skipped.
 * - The command runs as the job's `username`, as one simple-protocol query in an implicit
 *   transaction, so multi-statement commands and VACUUM behave as they do under pg_cron.
 *   `return_message` is "<n> row(s)" for a SELECT and the command tag otherwise.
 */
import { Cron } from "croner";
import { simpleQuery, summarize } from "../postgres/messages.ts";
import type { Session } from "../postgres/session.ts";
import type { WorkerLog } from "./log.ts";

interface JobRow {
  jobid: number;
  schedule: string;
  command: string;
  username: string;
  database: string;
}

interface JobState {
  schedule: string;
  next: Date | null;
  running: boolean;
}

export interface CronWorkerOptions {
  session: Session;
  /** How often to look for due jobs (default 1000 ms, pg_cron's resolution). */
  tickMs?: number;
  now?: () => Date;
  log?: WorkerLog;
}

export interface CronWorker {
  /** Resolves when the loop and every run in progress have finished. */
  stop(): Promise<void>;
  /** Runs one scheduling pass now (tests use this instead of waiting for a tick). */
  tick(): Promise<void>;
}

const SECONDS = /^\s*(\d+)\s+secon(d|ds)\s*$/i;
const MACROS: Record<string, string> = {
  "@yearly": "0 0 1 1 *",
  "@annually": "0 0 1 1 *",
  "@monthly": "0 0 1 * *",
  "@weekly": "0 0 * * 0",
  "@daily": "0 0 * * *",
  "@midnight": "0 0 * * *",
  "@hourly": "0 * * * *",
};

export function startCronWorker(options: CronWorkerOptions): CronWorker {
  const { session } = options;
  const now = options.now ?? (() => new Date());
  const log = options.log ?? (() => {});
  const jobs = new Map<number, JobState>();
  const runs = new Set<Promise<void>>();
  let stopped = false;
  let ticking: Promise<void> = Promise.resolve();

  async function tick(): Promise<void> {
    const rows = await readJobs(session);
    const seen = new Set<number>();
    const at = now();
    for (const job of rows) {
      seen.add(job.jobid);
      let state = jobs.get(job.jobid);
      if (!state || state.schedule !== job.schedule) {
        state = { schedule: job.schedule, next: firstRun(job.schedule, at), running: false };
        jobs.set(job.jobid, state);
      }
      if (!state.next || state.next > at) continue;
      state.next = nextRun(job.schedule, state.next, at);
      if (state.running) continue; // pg_cron does not overlap runs of one job
      state.running = true;
      const run = runJob(session, job, log).finally(() => {
        state.running = false;
        runs.delete(run);
      });
      runs.add(run);
    }
    for (const id of jobs.keys()) if (!seen.has(id)) jobs.delete(id);
  }

  const timer = setInterval(() => {
    if (stopped) return;
    ticking = ticking.then(tick).catch((error) => {
      if (!stopped) log({ level: "error", msg: "cron tick failed", error: String(error) });
    });
  }, options.tickMs ?? 1000);

  return {
    tick: () => (ticking = ticking.then(tick)),
    async stop() {
      stopped = true;
      clearInterval(timer);
      await ticking.catch(() => {});
      await Promise.allSettled([...runs]);
    },
  };
}

async function readJobs(session: Session): Promise<JobRow[]> {
  const { rows } = await session.query<JobRow>(
    "select jobid, schedule, command, username, database from cron.job where active order by jobid",
  ).catch((error) => {
    // Until a migration creates the pg_cron extension there is no cron.job to read.
    if ((error as { code?: string }).code === "42P01") return { rows: [] as JobRow[] };
    throw error;
  });
  return rows;
}

/** When a job first becomes due after the worker sees it. */
export function firstRun(schedule: string, at: Date): Date | null {
  if (schedule.trim().toLowerCase() === "@reboot") return at;
  const seconds = SECONDS.exec(schedule);
  if (seconds) return new Date(at.getTime() + Number(seconds[1]) * 1000);
  return cronFor(schedule)?.nextRun(at) ?? null;
}

/** The next due time after a run that was due at `due`, skipping times already past. */
export function nextRun(schedule: string, due: Date, at: Date): Date | null {
  if (schedule.trim().toLowerCase() === "@reboot") return null;
  const seconds = SECONDS.exec(schedule);
  if (seconds) {
    const step = Number(seconds[1]) * 1000;
    let next = due.getTime() + step;
    if (next <= at.getTime()) next = at.getTime() + step;
    return new Date(next);
  }
  return cronFor(schedule)?.nextRun(at) ?? null;
}

function cronFor(schedule: string): Cron | null {
  const text = schedule.trim().toLowerCase();
  const pattern = MACROS[text] ?? text.replace(/(^|\s)\$(\s|$)/, "$1L$2");
  try {
    return new Cron(pattern, { timezone: "UTC", paused: true, legacyMode: true });
  } catch {
    return null;
  }
}

async function runJob(session: Session, job: JobRow, log: WorkerLog): Promise<void> {
  const { rows } = await session.query<{ runid: number }>(
    `insert into cron.job_run_details (jobid, job_pid, database, username, command, status, start_time)
     values ($1, $2, $3, $4, $5, 'running', now()) returning runid`,
    [job.jobid, Deno.pid, job.database, job.username, job.command],
  );
  const runid = rows[0]!.runid;
  let status = "succeeded";
  let message: string;

  // Its own party: a `set`/`set_config(..., false)` in a job's command stays out of the API's
  // session state (local/postgres/session.ts, rule 3).
  const lease = await session.lease(`cron:${job.jobid}`, { party: "pg_cron", waitTimeoutMs: null });
  try {
    await lease.exec(`set role ${quoteIdent(job.username)}`);
    const out = summarize(await lease.execRaw(simpleQuery(job.command)));
    if (out.errors.length > 0) {
      status = "failed";
      message = out.errors[0]!.message;
    } else {
      message = describeTag(out.tags.at(-1) ?? "");
    }
    if (out.status !== "I") await lease.exec("rollback");
  } catch (error) {
    status = "failed";
    message = error instanceof Error ? error.message : String(error);
  } finally {
    await lease.exec("reset role").catch(() => {});
    lease.release();
  }

  await session.query(
    `update cron.job_run_details set status = $2, return_message = $3, end_time = now()
     where runid = $1`,
    [runid, status, message],
  );
  if (status === "failed") {
    log({ level: "warn", msg: "cron job failed", jobid: job.jobid, error: message });
  }
}

/** pg_cron reports "<n> row(s)" for a query that returned rows and the command tag otherwise. */
function describeTag(tag: string): string {
  const select = /^SELECT (\d+)$/.exec(tag);
  if (!select) return tag;
  const n = Number(select[1]);
  return `${n} row${n === 1 ? "" : "s"}`;
}

function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}
