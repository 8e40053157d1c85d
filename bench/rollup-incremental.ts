/**
 * Scenario `rollup_incremental`: the product's hourly rollup (`private.rollup_analytics_hourly`,
 * incremental on received_at: it recomputes only the buckets the new events touch) after 10,000
 * new events, vs recomputing the hours those events fall in from scratch (delete the hours'
 * rollup rows, aggregate every raw event of those hours again: what a rollup without a watermark
 * must do to pick up late events).
 *
 * The table: events of 10 organizations and 5 names spread over the last 30 days (the longest
 * raw-event retention), generated in SQL in time order (as events are appended when they arrive:
 * occurred_at correlates with the heap, which is what once misled the planner, see
 * *_rollup_bucket_reads.sql), vacuumed (as autovacuum leaves them), already rolled up (watermark
 * at the newest event). The
 * 10,000 new events: 95% in the last two hours, 5% late (within the last 24 hours, as a client
 * flushing an offline queue sends them). Each side runs in a transaction that is rolled back, so
 * both see the same state; the median of a few runs is reported.
 *
 * - ratio = from-scratch time / incremental time (on the 1,000,000-event table)
 * - growth = incremental time on the 1,000,000-event table / on a 100,000-event table (the cost
 *   follows the new events and their buckets, not the table)
 *
 *   npx deno run -A bench/rollup-incremental.ts [--quick]
 */
// deno-lint-ignore-file no-console
import type { Session } from "../local/postgres/session.ts";
import { productDatabase, QUICK, report, round, seedTenant, size } from "./lib.ts";

const LARGE = size(1_000_000, 1000);
const SMALL = size(100_000, 100);
const NEW_EVENTS = size(10_000, 100);
const ORGANIZATIONS = 10;
const RUNS = 5;

const db = await productDatabase();
const { session } = db;

/** Runs `fn` in a transaction and rolls it back; returns fn's time in ms. */
async function timedRolledBack(fn: (run: Session["query"]) => Promise<unknown>): Promise<number> {
  let ms = 0;
  const rollback = new Error("rollback");
  try {
    await session.transaction(async (tx) => {
      const started = performance.now();
      await fn(tx.query as Session["query"]);
      ms = performance.now() - started;
      throw rollback;
    });
  } catch (error) {
    if (error !== rollback) throw error;
  }
  return ms;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Replaces the events with `base` old ones (rolled up) and returns the figures for 10,000 new. */
async function measure(organizations: string[], base: number) {
  await session.exec(
    `truncate public.analytics_events, public.analytics_hourly_rollups,
              public.analytics_daily_rollups;
     select setseed(0.42);`,
  );
  const loadStarted = performance.now();
  // Old events: received when they occurred, over the last 30 days. A bulk load, as a restore
  // runs it: without per-row foreign-key triggers (the organizations exist).
  await session.exec("set session_replication_role = replica");
  await session.query(
    `insert into public.analytics_events
       (organization_id, name, occurred_at, received_at, duration_ms, is_error, tokens)
     select ($1::uuid[])[1 + g % $3], 'event.' || (g / 7) % 5, t.at, t.at,
            round((random() * 800)::numeric, 1)::float8, random() < 0.02,
            (random() * 200)::int
     from generate_series(1, $2::int) g,
          lateral (select g, now() - interval '2 hours' - random() * interval '30 days') t(n, at)
     order by t.at`,
    [organizations, base, organizations.length],
  );
  await session.exec("set session_replication_role = origin");
  const loadMs = performance.now() - loadStarted;
  // The state after earlier runs: every old bucket rolled up, the watermark past the old events.
  await session.exec(
    `insert into public.analytics_hourly_rollups (organization_id, name, bucket, count, error_count,
       duration_count, duration_sum, duration_max, p50_ms, p95_ms, p99_ms, tokens, value_sum)
     select organization_id, name, date_trunc('hour', occurred_at, 'UTC'), count(*),
            count(*) filter (where is_error), count(duration_ms), sum(duration_ms),
            max(duration_ms), percentile_cont(0.5) within group (order by duration_ms),
            percentile_cont(0.95) within group (order by duration_ms),
            percentile_cont(0.99) within group (order by duration_ms),
            coalesce(sum(tokens), 0), sum(value)
     from public.analytics_events group by 1, 2, 3;
     update private.analytics_rollup_state
       set hourly_watermark = (select max(received_at) from public.analytics_events);
     analyze public.analytics_hourly_rollups;`,
  );
  // Old events are all-visible, as autovacuum leaves an insert-mostly table on hosted Postgres.
  await session.exec("vacuum analyze public.analytics_events");
  // The new events: received now; most in the last two hours, 5% late.
  await session.query(
    `insert into public.analytics_events
       (organization_id, name, occurred_at, duration_ms, is_error, tokens)
     select ($1::uuid[])[1 + g % $3], 'event.' || (g / 7) % 5,
            now() - case when g % 20 = 0 then random() * interval '24 hours'
                         else random() * interval '2 hours' end,
            round((random() * 800)::numeric, 1)::float8, random() < 0.02, (random() * 200)::int
     from generate_series(1, $2::int) g`,
    [organizations, NEW_EVENTS, organizations.length],
  );
  await session.exec("analyze public.analytics_events");

  // One unmeasured run of each side (plans and caches warm).
  const rollup = (query: Session["query"]) =>
    query("select private.rollup_analytics_hourly(clock_timestamp())");
  await timedRolledBack(rollup);
  const incremental: number[] = [];
  const scratch: number[] = [];
  let written = 0;
  for (let run = 0; run < RUNS; run++) {
    incremental.push(
      await timedRolledBack(async (query) => {
        const { rows: [row] } = await query<{ n: number }>(
          "select private.rollup_analytics_hourly(clock_timestamp()) as n",
        );
        written = row!.n;
      }),
    );
    scratch.push(
      await timedRolledBack(async (query) => {
        // The hours the new events fall in, recomputed from every raw event in them.
        await query(
          `with span as (
             select date_trunc('hour', min(occurred_at), 'UTC') as from_hour
             from public.analytics_events
             where received_at > (select hourly_watermark from private.analytics_rollup_state)
           ), cleared as (
             delete from public.analytics_hourly_rollups r using span where r.bucket >= span.from_hour
           )
           insert into public.analytics_hourly_rollups (organization_id, name, bucket, count,
             error_count, duration_count, duration_sum, duration_max, p50_ms, p95_ms, p99_ms,
             tokens, value_sum)
           select e.organization_id, e.name, date_trunc('hour', e.occurred_at, 'UTC'), count(*),
                  count(*) filter (where e.is_error), count(e.duration_ms), sum(e.duration_ms),
                  max(e.duration_ms), percentile_cont(0.5) within group (order by e.duration_ms),
                  percentile_cont(0.95) within group (order by e.duration_ms),
                  percentile_cont(0.99) within group (order by e.duration_ms),
                  coalesce(sum(e.tokens), 0), sum(e.value)
           from public.analytics_events e, span
           where e.occurred_at >= span.from_hour
           group by 1, 2, 3
           on conflict (organization_id, name, bucket) do update
             set count = excluded.count, error_count = excluded.error_count,
                 duration_count = excluded.duration_count, duration_sum = excluded.duration_sum,
                 duration_max = excluded.duration_max, p50_ms = excluded.p50_ms,
                 p95_ms = excluded.p95_ms, p99_ms = excluded.p99_ms, tokens = excluded.tokens,
                 value_sum = excluded.value_sum`,
        );
      }),
    );
  }
  return {
    base_events: base,
    load_ms: round(loadMs, 0),
    incremental_ms: round(median(incremental), 1),
    from_scratch_ms: round(median(scratch), 1),
    buckets_written: written,
  };
}

try {
  const owner = await seedTenant(db, "rollup-0");
  const organizations = [owner.organizationId];
  for (let i = 1; i < ORGANIZATIONS; i++) {
    organizations.push((await seedTenant(db, `rollup-${i}`, owner.userId)).organizationId);
  }
  console.error(`rollup_incremental: ${SMALL} events...`);
  const small = await measure(organizations, SMALL);
  console.error(`rollup_incremental: ${LARGE} events...`);
  const large = await measure(organizations, LARGE);
  await report({
    rollup_incremental: {
      ratio: round(large.from_scratch_ms / large.incremental_ms, 2),
      growth: round(large.incremental_ms / small.incremental_ms, 2),
      new_events: NEW_EVENTS,
      quick: QUICK,
      large,
      small,
    },
  });
} finally {
  await session.close();
}
