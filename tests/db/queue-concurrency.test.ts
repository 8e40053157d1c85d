/**
 * The job queue with two claimers running at the same time, as service_role, the way two
 * dispatcher runs or two workers would. PGlite is one Postgres session, so the local stack's
 * session gate serialises overlapping transactions (a claimer waits for the other's commit, as
 * it would wait on row locks); what must hold is what `for update skip locked` guarantees on a
 * real server: no job is handed to two claimers, every attempt is counted once, failures back
 * off exponentially and jobs are dead-lettered after max_attempts, never lost.
 * pgTAP covers the same functions statement by statement (supabase/tests/07_queue.sql).
 */
import { deepStrictEqual, equal, ok } from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import postgres from "postgres";
import { openDatabase } from "../../local/postgres/database.ts";
import type { Session, SessionHandle } from "../../local/postgres/session.ts";
import { startWireServer } from "../../local/wire/server.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const QUEUE = "race_jobs";
const MAX_ATTEMPTS = 4;
const BATCH_SIZE = 2;

interface Claimed {
  id: string;
  attempt: number;
}

interface Failure extends Claimed {
  worker: string;
  outcome: string;
  /** Seconds until the job is visible again, read in the failing transaction; null when dead. */
  delay: number | null;
}

async function asServiceRole<T>(
  session: Session,
  owner: string,
  fn: (tx: SessionHandle) => Promise<T>,
): Promise<T> {
  return await session.transaction(async (tx) => {
    await tx.exec("set local role service_role");
    return await fn(tx);
  }, owner);
}

function claim(session: Session, worker: string): Promise<Claimed[]> {
  return asServiceRole(session, worker, async (tx) => {
    const { rows } = await tx.query<Claimed>(
      "select id, attempt from private.claim_jobs($1)",
      [QUEUE],
    );
    return rows;
  });
}

async function enqueue(session: Session, count: number): Promise<string[]> {
  const { rows } = await session.query<{ id: string }>(
    "select private.enqueue_job($1, jsonb_build_object('n', n)) as id from generate_series(1, $2) n",
    [QUEUE, count],
  );
  return rows.map((r) => r.id);
}

/** Time passes: every job waiting for its backoff or its visibility timeout becomes due. */
async function letTimePass(session: Session): Promise<void> {
  await session.query("update private.jobs set visible_at = now() where queue = $1", [QUEUE]);
}

async function withQueue(fn: (session: Session) => Promise<void>): Promise<void> {
  const { session } = await openDatabase({ migrationsDir: join(ROOT, "supabase/migrations") });
  try {
    await session.query(
      `insert into private.job_queues
         (name, worker_function, batch_size, visibility_timeout, max_attempts, backoff_base, backoff_max)
       values ($1, 'race-worker', $2, interval '1 minute', $3, interval '2 seconds', interval '1 hour')`,
      [QUEUE, BATCH_SIZE, MAX_ATTEMPTS],
    );
    await fn(session);
  } finally {
    await session.close();
  }
}

Deno.test({
  name: "claim_jobs() hands each job to one of two concurrent claimers",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: () =>
    withQueue(async (session) => {
      const ids = await enqueue(session, 2 * BATCH_SIZE + 1);
      const [a, b] = await Promise.all([claim(session, "claimer-a"), claim(session, "claimer-b")]);
      equal(a.length, BATCH_SIZE);
      equal(b.length, BATCH_SIZE);
      const claimed = [...a, ...b].map((j) => j.id);
      equal(new Set(claimed).size, claimed.length, "a job was claimed twice");
      ok([...a, ...b].every((j) => j.attempt === 1));

      const [c, d] = await Promise.all([claim(session, "claimer-c"), claim(session, "claimer-d")]);
      deepStrictEqual(
        [...c, ...d].map((j) => j.id),
        ids.filter((id) => !claimed.includes(id)),
        "the last job goes to exactly one claimer",
      );
    }),
});

Deno.test({
  name: "a job whose worker died is claimed again after the visibility timeout, by one claimer",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: () =>
    withQueue(async (session) => {
      const [id] = await enqueue(session, 1);
      deepStrictEqual(await claim(session, "crashing-worker"), [{ id, attempt: 1 }]);
      deepStrictEqual(await claim(session, "other-worker"), [], "claimed while still invisible");

      await letTimePass(session);
      const [a, b] = await Promise.all([claim(session, "claimer-a"), claim(session, "claimer-b")]);
      deepStrictEqual([...a, ...b], [{ id, attempt: 2 }]);
    }),
});

Deno.test({
  name: "two failing workers: exponential backoff, dead letter after max_attempts, nothing lost",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: () =>
    withQueue(async (session) => {
      const ids = await enqueue(session, 6);
      const failures: Failure[] = [];

      async function failingWorker(worker: string): Promise<void> {
        for (let round = 0; round < 50; round++) {
          const jobs = await claim(session, worker);
          if (jobs.length === 0) {
            const { rows } = await session.query<{ left: number }>(
              "select count(*)::int as left from private.jobs where queue = $1",
              [QUEUE],
            );
            if (rows[0]!.left === 0) return;
          }
          for (const job of jobs) {
            const failure = await asServiceRole(session, worker, async (tx) => {
              const { rows: [reported] } = await tx.query<{ outcome: string }>(
                "select private.fail_job($1, $2, $3) as outcome",
                [job.id, `${worker} failed attempt ${job.attempt}`, job.attempt],
              );
              // A separate statement: it must see what fail_job wrote.
              const { rows: [waiting] } = await tx.query<{ delay: number }>(
                `select extract(epoch from j.visible_at - now())::float8 as delay
                 from private.jobs j where j.id = $1`,
                [job.id],
              );
              return { outcome: reported!.outcome, delay: waiting?.delay ?? null };
            });
            failures.push({ ...job, worker, ...failure });
          }
          await letTimePass(session);
        }
        throw new Error(`${worker} never drained the queue`);
      }

      await Promise.all([failingWorker("worker-a"), failingWorker("worker-b")]);

      ok(failures.some((f) => f.worker === "worker-a"), "worker-a never got a job");
      ok(failures.some((f) => f.worker === "worker-b"), "worker-b never got a job");
      for (const id of ids) {
        const attempts = failures.filter((f) => f.id === id);
        deepStrictEqual(
          attempts.map((f) => f.attempt),
          [1, 2, 3, 4],
          `job ${id} was not attempted exactly once per attempt number`,
        );
        deepStrictEqual(
          attempts.map((f) => [f.outcome, f.delay]),
          [["queued", 2], ["queued", 4], ["queued", 8], ["dead", null]],
          `job ${id} did not back off 2 s, 4 s, 8 s and then die`,
        );
      }

      const { rows: dead } = await session.query<
        { id: string; attempts: number; reason: string; errors: number; payload: { n: number } }
      >(
        `select id, attempts, reason, jsonb_array_length(errors) as errors, payload
         from private.dead_jobs where queue = $1 order by (payload ->> 'n')::int`,
        [QUEUE],
      );
      deepStrictEqual(dead.map((d) => d.id), ids, "every job is kept as a dead letter");
      ok(dead.every((d) => d.attempts === MAX_ATTEMPTS && d.reason === "failed" && d.errors === 4));
      deepStrictEqual(dead.map((d) => d.payload.n), [1, 2, 3, 4, 5, 6]);
    }),
});

Deno.test({
  name: "two Postgres clients over the wire drain the queue: each attempt to one worker, none lost",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: () =>
    withQueue(async (session) => {
      const ids = await enqueue(session, 12);
      const server = await startWireServer({ session, port: 0 });
      const url = `postgresql://postgres:postgres@127.0.0.1:${server.port}/postgres`;
      const workers = ["wire-a", "wire-b"].map((name) => ({
        name,
        sql: postgres(url, { max: 1, prepare: false, onnotice: () => {} }),
      }));
      const seen = new Map<string, string>(); // "<job>#<attempt>" -> worker
      try {
        // Each worker: claim a batch, fail every job whose number is odd on its first attempt,
        // complete the rest; until nothing is due. Failures are made due at once.
        await Promise.all(workers.map(async ({ name, sql }) => {
          for (let idle = 0; idle < 3;) {
            const jobs = await sql.begin(async (tx) => {
              await tx`set local role service_role`;
              return await tx<Array<{ id: string; attempt: number; payload: { n: number } }>>`
                select id, attempt, payload from private.claim_jobs(${QUEUE})`;
            });
            if (jobs.length === 0) {
              idle++;
              await new Promise((r) => setTimeout(r, 20));
              continue;
            }
            idle = 0;
            for (const job of jobs) {
              const key = `${job.id}#${job.attempt}`;
              equal(
                seen.get(key),
                undefined,
                `attempt ${key} handed to ${seen.get(key)} and ${name}`,
              );
              seen.set(key, name);
              await sql.begin(async (tx) => {
                await tx`set local role service_role`;
                if (job.payload.n % 2 === 1 && job.attempt === 1) {
                  await tx`select private.fail_job(${job.id}, 'first try fails', ${job.attempt}, interval '0')`;
                } else {
                  await tx`select private.complete_job(${job.id})`;
                }
              });
            }
          }
        }));
        const { rows } = await session.query<{ id: string; status: string; attempts: number }>(
          "select id, status, attempts from private.jobs where queue = $1 order by id",
          [QUEUE],
        );
        deepStrictEqual(rows.map((r) => r.id).sort(), [...ids].sort(), "no job lost");
        ok(rows.every((r) => r.status === "completed"));
        equal(rows.reduce((sum, r) => sum + r.attempts, 0), 12 + 6, "odd jobs took two attempts");
        equal(seen.size, 18);
        ok(new Set(seen.values()).size === 2, "both workers took part");
      } finally {
        for (const { sql } of workers) await sql.end();
        await server.close();
      }
    }),
});
