-- Hourly and daily rollups of analytics_events, computed in SQL and scheduled with pg_cron.
--
-- Contracts:
-- * analytics_hourly_rollups / analytics_daily_rollups: one row per (organization_id, name,
--   bucket), bucket = the UTC hour / UTC day. count, error_count, duration_count (events with a
--   duration), duration_sum, duration_max, p50_ms / p95_ms / p99_ms (percentile_cont over the
--   bucket's raw durations, null without any), tokens (sum), value_sum.
-- * private.rollup_analytics_hourly(up_to): incremental. The watermark is on received_at:
--   events received in (watermark, up_to] name the buckets they touch, whatever their
--   occurred_at (so late events within the accepted window recompute their old bucket); each
--   touched bucket is recomputed from all its raw events and upserted; the watermark moves to
--   up_to. A run costs the new events plus their buckets' events, not the table. Upserts skip
--   rows whose figures did not change, so re-running (even over the same events) changes nothing.
--   up_to defaults to now() - 1 minute: rows are stamped with their transaction's start time,
--   so a writer still open when the rollup runs would otherwise be passed by the watermark; the
--   lag assumes writing transactions last less than a minute (API roles time out at 8 s).
-- * private.rollup_analytics_daily(up_to): days are rolled up once closed (ended before up_to):
--   every day that closed since the last run is computed in full, and a closed day that receives
--   late events (received after the daily watermark) is recomputed. Open days are never in the
--   daily table; summaries read them from raw events.
-- * Retention (see *_retention_policies.sql) deletes raw events only once rolled up into both
--   tables and only whole days older than the accepted window (7 days), so a recomputed bucket
--   always still has all its raw events.
-- * pg_cron: `analytics_rollup_hourly` every 5 minutes, `analytics_rollup_daily` hourly at :15.
-- * Reads: the organization's owners and admins; members nothing. Writes: the rollup functions.

create table public.analytics_hourly_rollups (
  organization_id uuid not null references public.organizations (id) on delete cascade,
  name text not null,
  bucket timestamptz not null,
  count bigint not null check (count >= 0),
  error_count bigint not null check (error_count >= 0),
  duration_count bigint not null check (duration_count >= 0),
  duration_sum double precision,
  duration_max double precision,
  p50_ms double precision,
  p95_ms double precision,
  p99_ms double precision,
  tokens bigint not null default 0,
  value_sum double precision,
  updated_at timestamptz not null default now(),
  primary key (organization_id, name, bucket)
);

create table public.analytics_daily_rollups (like public.analytics_hourly_rollups including all);

create index analytics_hourly_rollups_bucket_idx on public.analytics_hourly_rollups (bucket);
create index analytics_daily_rollups_bucket_idx on public.analytics_daily_rollups (bucket);

-- One row: how far each rollup has read. -infinity until the first run.
create table private.analytics_rollup_state (
  id boolean primary key default true check (id),
  hourly_watermark timestamptz not null default '-infinity',
  daily_watermark timestamptz not null default '-infinity',
  -- Every UTC day before this one has been rolled up into the daily table.
  daily_closed_until timestamptz not null default '-infinity',
  updated_at timestamptz not null default now()
);
insert into private.analytics_rollup_state default values;

-- The figures of one bucket of events: organization, name, [bucket_start, bucket_end).
-- Internal to the rollups and summaries; runs with its caller's rights.
create function private.analytics_bucket_figures(
  organization_id uuid,
  name text,
  bucket_start timestamptz,
  bucket_end timestamptz
)
returns table (
  count bigint,
  error_count bigint,
  duration_count bigint,
  duration_sum double precision,
  duration_max double precision,
  p50_ms double precision,
  p95_ms double precision,
  p99_ms double precision,
  tokens bigint,
  value_sum double precision
)
language sql
stable
set search_path = ''
as $$
  select
    count(*),
    count(*) filter (where e.is_error),
    count(e.duration_ms),
    sum(e.duration_ms),
    max(e.duration_ms),
    percentile_cont(0.5) within group (order by e.duration_ms),
    percentile_cont(0.95) within group (order by e.duration_ms),
    percentile_cont(0.99) within group (order by e.duration_ms),
    coalesce(sum(e.tokens), 0)::bigint,
    sum(e.value)
  from public.analytics_events e
  where e.organization_id = analytics_bucket_figures.organization_id
    and e.name = analytics_bucket_figures.name
    and e.occurred_at >= analytics_bucket_figures.bucket_start
    and e.occurred_at < analytics_bucket_figures.bucket_end;
$$;

-- Rolls up events received since the hourly watermark; returns the number of rollup rows
-- written (0 when nothing changed). For pg_cron (postgres) and service_role.
create function private.rollup_analytics_hourly(up_to timestamptz default null)
returns integer
language plpgsql
security definer
set search_path = ''
as $$
declare
  state private.analytics_rollup_state;
  upper_bound timestamptz := coalesce(rollup_analytics_hourly.up_to, now() - interval '1 minute');
  written integer;
begin
  -- Serialises concurrent runs: the second one waits, then starts from the moved watermark.
  select * into state from private.analytics_rollup_state s where s.id for update;
  if upper_bound <= state.hourly_watermark then
    return 0;
  end if;

  with touched as (
    select distinct e.organization_id, e.name, date_trunc('hour', e.occurred_at, 'UTC') as bucket
    from public.analytics_events e
    where e.received_at > state.hourly_watermark and e.received_at <= upper_bound
  ),
  upserted as (
    insert into public.analytics_hourly_rollups as r (
      organization_id, name, bucket, count, error_count, duration_count, duration_sum,
      duration_max, p50_ms, p95_ms, p99_ms, tokens, value_sum
    )
    select t.organization_id, t.name, t.bucket, f.*
    from touched t
    cross join lateral private.analytics_bucket_figures(
      t.organization_id, t.name, t.bucket, t.bucket + interval '1 hour'
    ) f
    where f.count > 0
    on conflict (organization_id, name, bucket) do update
    set count = excluded.count,
        error_count = excluded.error_count,
        duration_count = excluded.duration_count,
        duration_sum = excluded.duration_sum,
        duration_max = excluded.duration_max,
        p50_ms = excluded.p50_ms,
        p95_ms = excluded.p95_ms,
        p99_ms = excluded.p99_ms,
        tokens = excluded.tokens,
        value_sum = excluded.value_sum,
        updated_at = now()
    where (r.count, r.error_count, r.duration_count, r.duration_sum, r.duration_max, r.p50_ms,
           r.p95_ms, r.p99_ms, r.tokens, r.value_sum)
      is distinct from
          (excluded.count, excluded.error_count, excluded.duration_count, excluded.duration_sum,
           excluded.duration_max, excluded.p50_ms, excluded.p95_ms, excluded.p99_ms,
           excluded.tokens, excluded.value_sum)
    returning 1
  )
  select count(*) into written from upserted;

  update private.analytics_rollup_state s
  set hourly_watermark = upper_bound, updated_at = now()
  where s.id;
  return written;
end;
$$;

-- Rolls up closed UTC days: those that closed since the last run, and closed days with events
-- received since the daily watermark. Returns the number of rollup rows written. For pg_cron
-- (postgres) and service_role.
create function private.rollup_analytics_daily(up_to timestamptz default null)
returns integer
language plpgsql
security definer
set search_path = ''
as $$
declare
  state private.analytics_rollup_state;
  upper_bound timestamptz := coalesce(rollup_analytics_daily.up_to, now() - interval '1 minute');
  closed_before timestamptz;
  written integer;
begin
  select * into state from private.analytics_rollup_state s where s.id for update;
  if upper_bound <= state.daily_watermark then
    return 0;
  end if;
  closed_before := greatest(date_trunc('day', upper_bound, 'UTC'), state.daily_closed_until);

  with touched as (
    select distinct e.organization_id, e.name, date_trunc('day', e.occurred_at, 'UTC') as bucket
    from public.analytics_events e
    where e.occurred_at >= state.daily_closed_until and e.occurred_at < closed_before
    union
    select distinct e.organization_id, e.name, date_trunc('day', e.occurred_at, 'UTC')
    from public.analytics_events e
    where e.received_at > state.daily_watermark and e.received_at <= upper_bound
      and e.occurred_at < closed_before
  ),
  upserted as (
    insert into public.analytics_daily_rollups as r (
      organization_id, name, bucket, count, error_count, duration_count, duration_sum,
      duration_max, p50_ms, p95_ms, p99_ms, tokens, value_sum
    )
    select t.organization_id, t.name, t.bucket, f.*
    from touched t
    cross join lateral private.analytics_bucket_figures(
      t.organization_id, t.name, t.bucket, t.bucket + interval '1 day'
    ) f
    where f.count > 0
    on conflict (organization_id, name, bucket) do update
    set count = excluded.count,
        error_count = excluded.error_count,
        duration_count = excluded.duration_count,
        duration_sum = excluded.duration_sum,
        duration_max = excluded.duration_max,
        p50_ms = excluded.p50_ms,
        p95_ms = excluded.p95_ms,
        p99_ms = excluded.p99_ms,
        tokens = excluded.tokens,
        value_sum = excluded.value_sum,
        updated_at = now()
    where (r.count, r.error_count, r.duration_count, r.duration_sum, r.duration_max, r.p50_ms,
           r.p95_ms, r.p99_ms, r.tokens, r.value_sum)
      is distinct from
          (excluded.count, excluded.error_count, excluded.duration_count, excluded.duration_sum,
           excluded.duration_max, excluded.p50_ms, excluded.p95_ms, excluded.p99_ms,
           excluded.tokens, excluded.value_sum)
    returning 1
  )
  select count(*) into written from upserted;

  update private.analytics_rollup_state s
  set daily_watermark = upper_bound, daily_closed_until = closed_before, updated_at = now()
  where s.id;
  return written;
end;
$$;

revoke all on function private.analytics_bucket_figures(uuid, text, timestamptz, timestamptz)
  from public, anon, authenticated, service_role;
revoke all on function private.rollup_analytics_hourly(timestamptz)
  from public, anon, authenticated, service_role;
revoke all on function private.rollup_analytics_daily(timestamptz)
  from public, anon, authenticated, service_role;
grant execute on function private.rollup_analytics_hourly(timestamptz) to service_role;
grant execute on function private.rollup_analytics_daily(timestamptz) to service_role;

alter table public.analytics_hourly_rollups enable row level security;
alter table public.analytics_daily_rollups enable row level security;
alter table private.analytics_rollup_state enable row level security;

create policy "Owners and admins can read their organization's hourly rollups"
  on public.analytics_hourly_rollups for select to authenticated
  using (organization_id in (select private.member_organization_ids(array['owner', 'admin'])));

create policy "Owners and admins can read their organization's daily rollups"
  on public.analytics_daily_rollups for select to authenticated
  using (organization_id in (select private.member_organization_ids(array['owner', 'admin'])));

revoke all on table public.analytics_hourly_rollups, public.analytics_daily_rollups
  from public, anon, authenticated, service_role;
grant select on table public.analytics_hourly_rollups, public.analytics_daily_rollups
  to authenticated;
grant select, delete on table public.analytics_hourly_rollups, public.analytics_daily_rollups
  to service_role;
revoke all on table private.analytics_rollup_state from public, anon, authenticated, service_role;
grant select on table private.analytics_rollup_state to service_role;

select cron.schedule(
  'analytics_rollup_hourly', '*/5 * * * *', 'select private.rollup_analytics_hourly()'
);
select cron.schedule(
  'analytics_rollup_daily', '15 * * * *', 'select private.rollup_analytics_daily()'
);
