/**
 * Scenario `cleanup`: 200,000 expired raw analytics events (rolled up, older than the 7-day
 * policy) among 20,000 young ones, removed
 * - the product's way: `private.apply_retention_policy('analytics_events', 500)` in a loop, one
 *   transaction per batch, until a batch comes back short (what cleanup-old does with its default
 *   batch_size), vs
 * - one unbatched DELETE with the same predicate (from `private.retention_target`).
 * Both start from the same generated table (loaded again before the baseline) and must leave
 * exactly the young rows.
 *
 * ratio = the unbatched statement's time / the longest single batch (how much shorter each
 * lock-holding transaction is); total times of both sides are reported too.
 *
 *   npx deno run -A bench/cleanup.ts [--quick]
 */
import { latency, productDatabase, QUICK, report, round, seedTenant, size } from "./lib.ts";

const EXPIRED = size(200_000, 1000);
const YOUNG = size(20_000, 100);
const BATCH_SIZE = 500;

const db = await productDatabase();
const { session } = db;

async function load(organizationId: string) {
  await session.exec("truncate public.analytics_events; select setseed(0.7);");
  await session.query(
    `insert into public.analytics_events (organization_id, name, occurred_at, received_at, duration_ms)
     select $1, 'event.' || g % 5, t.at, t.at, random() * 800
     from generate_series(1, $2::int + $3::int) g,
          lateral (select g, case when g <= $2 then now() - interval '10 days' - random() * interval '10 days'
                                  else now() - random() * interval '3 days' end) t(n, at)`,
    [organizationId, EXPIRED, YOUNG],
  );
  // Every event rolled up and every day before today closed, as after the cron jobs ran.
  await session.exec(
    `update private.analytics_rollup_state set hourly_watermark = now(), daily_watermark = now(),
       daily_closed_until = date_trunc('day', now(), 'UTC');
     analyze public.analytics_events;`,
  );
}

async function remaining(): Promise<number> {
  const { rows: [row] } = await session.query<{ n: number }>(
    "select count(*)::int as n from public.analytics_events",
  );
  return row!.n;
}

try {
  const tenant = await seedTenant(db, "cleanup");
  const asOf = (await session.query<{ t: string }>("select now()::text as t")).rows[0]!.t;

  // The product: batches until one comes back short.
  await load(tenant.organizationId);
  const batches: number[] = [];
  let removed = 0;
  const batchedStarted = performance.now();
  for (;;) {
    const started = performance.now();
    const affected = await session.transaction(async (tx) => {
      const { rows: [row] } = await tx.query<{ n: string }>(
        "select private.apply_retention_policy('analytics_events', $1, false, $2::timestamptz) as n",
        [BATCH_SIZE, asOf],
      );
      return Number(row!.n);
    });
    batches.push(performance.now() - started);
    removed += affected;
    if (affected < BATCH_SIZE) break;
  }
  const batchedMs = performance.now() - batchedStarted;
  if (removed !== EXPIRED || (await remaining()) !== YOUNG) {
    throw new Error(`batched: removed ${removed}, expected ${EXPIRED}`);
  }

  // The baseline: the same predicate in one statement.
  await load(tenant.organizationId);
  const { rows: [target] } = await session.query<{ from_sql: string; predicate: string }>(
    "select from_sql, predicate from private.retention_target('analytics_events')",
  );
  const unbatchedStarted = performance.now();
  const { rows: [deleted] } = await session.query<{ n: number }>(
    `with c as (select t.id as k from ${target!.from_sql} where ${
      target!.predicate.replaceAll("$1", "$1::timestamptz")
    }),
          applied as (delete from public.analytics_events x using c where x.id = c.k returning 1)
     select count(*)::int as n from applied`,
    [asOf],
  );
  const unbatchedMs = performance.now() - unbatchedStarted;
  if (deleted!.n !== EXPIRED || (await remaining()) !== YOUNG) {
    throw new Error(`unbatched: removed ${deleted!.n}, expected ${EXPIRED}`);
  }

  const longest = Math.max(...batches);
  await report({
    cleanup: {
      ratio: round(unbatchedMs / longest, 1),
      expired_rows: EXPIRED,
      kept_rows: YOUNG,
      quick: QUICK,
      batched: {
        batch_size: BATCH_SIZE,
        batches: batches.length,
        total_ms: round(batchedMs, 0),
        longest_batch_ms: round(longest, 1),
        ...latency(batches),
      },
      unbatched: { total_ms: round(unbatchedMs, 0), statement_ms: round(unbatchedMs, 0) },
    },
  });
} finally {
  await session.close();
}
