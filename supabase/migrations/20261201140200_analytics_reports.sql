-- Reports over analytics for an organization's owners and admins (and service_role): the series
-- behind analytics-tracker's GET /summary, and the SQL functions of the seed design (a
-- performance summary over a time range, the error rate over the last N hours,
-- detect_performance_issues()), adapted to analytics_events.
--
-- Contracts:
-- * Every report takes the organization first and refuses (42501) a caller who is not its owner
--   or admin; service_role (and a session without JWT claims, i.e. operators in SQL) passes.
--   They are security invoker, so row-level security still decides what they read.
-- * analytics_series(organization_id, range_start, range_end, granularity 'hour' | 'day',
--   event_name): one row per (bucket, name) with events, buckets from the one holding
--   range_start up to range_end (exclusive). Buckets fully rolled up come from the rollup
--   tables; a bucket with events received after the rollup's watermark (or, for days, a day not
--   yet closed) is computed from its raw events, so a just-sent event is counted at once.
--   Percentiles are percentile_cont over the bucket's raw durations either way.
-- * get_performance_summary(organization_id, start_time, end_time): per event name over the
--   series' hourly buckets: total, errors, error_rate, avg and max duration, tokens.
-- * get_error_rate(organization_id, hours): errors / events that occurred in the last `hours`
--   (1..168, within raw retention), from raw events.
-- * detect_performance_issues(organization_id, ...thresholds): rows (type, severity,
--   description, details) for the last hour: slow_executions (executions over 5 s; high when
--   more than 10), high_error_rate (over 5%; critical), slow_searches (searches averaging over
--   2 s; medium).
-- * The bodies are SQL-standard (begin atomic): names are resolved when the function is created,
--   so they can call the private helpers without the caller having usage on schema private, as
--   RLS policies do.

-- The rollups' watermarks, for the series. Security definer: the state table is private.
create function private.analytics_watermarks()
returns table (
  hourly_watermark timestamptz,
  daily_watermark timestamptz,
  daily_closed_until timestamptz
)
language sql
stable
security definer
set search_path = ''
as $$
  select s.hourly_watermark, s.daily_watermark, s.daily_closed_until
  from private.analytics_rollup_state s
  where s.id;
$$;

-- Raises 42501 unless the caller is an owner or admin of the organization, or service_role, or
-- a session without JWT claims (operators); 22023 for a granularity other than hour or day.
-- Returns true. For the report functions, run as their caller.
create function private.check_analytics_access(organization_id uuid, granularity text default 'hour')
returns boolean
language plpgsql
stable
security definer
set search_path = ''
as $$
begin
  if check_analytics_access.granularity is null
    or check_analytics_access.granularity not in ('hour', 'day')
  then
    raise exception 'Granularity must be "hour" or "day", not "%"', check_analytics_access.granularity
      using errcode = '22023';
  end if;
  if coalesce(auth.role(), '') in ('service_role', '') then
    return true;
  end if;
  if not private.has_organization_role(check_analytics_access.organization_id, array['owner', 'admin']) then
    raise exception 'Only owners and admins of organization "%" can read its analytics',
      check_analytics_access.organization_id
      using errcode = '42501';
  end if;
  return true;
end;
$$;

revoke all on function private.analytics_watermarks() from public, anon, authenticated, service_role;
revoke all on function private.check_analytics_access(uuid, text)
  from public, anon, authenticated, service_role;
grant execute on function private.analytics_watermarks() to authenticated, service_role;
grant execute on function private.check_analytics_access(uuid, text) to authenticated, service_role;

-- The series behind GET /analytics-tracker/summary. For owners, admins and service_role.
create function public.analytics_series(
  organization_id uuid,
  range_start timestamptz,
  range_end timestamptz,
  granularity text default 'hour',
  event_name text default null
)
returns table (
  bucket timestamptz,
  name text,
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
security invoker
begin atomic
  select private.check_analytics_access(analytics_series.organization_id, analytics_series.granularity);
  with w as (
    select * from private.analytics_watermarks()
  ),
  bounds as (
    select date_trunc(analytics_series.granularity, analytics_series.range_start, 'UTC') as first_bucket,
           case analytics_series.granularity when 'hour' then interval '1 hour' else interval '1 day' end
             as width
  ),
  dirty as (
    select distinct date_trunc(analytics_series.granularity, e.occurred_at, 'UTC') as bucket, e.name
    from public.analytics_events e, w, bounds b
    where e.organization_id = analytics_series.organization_id
      and e.occurred_at >= b.first_bucket
      and e.occurred_at < analytics_series.range_end
      and (analytics_series.event_name is null or e.name = analytics_series.event_name)
      and (
        e.received_at > case analytics_series.granularity
          when 'hour' then w.hourly_watermark else w.daily_watermark end
        or (analytics_series.granularity = 'day' and e.occurred_at >= w.daily_closed_until)
      )
  ),
  raw as (
    select d.bucket, d.name, f.*
    from dirty d, bounds b
    cross join lateral (
      select
        count(*) as count,
        count(*) filter (where e.is_error) as error_count,
        count(e.duration_ms) as duration_count,
        sum(e.duration_ms) as duration_sum,
        max(e.duration_ms) as duration_max,
        percentile_cont(0.5) within group (order by e.duration_ms) as p50_ms,
        percentile_cont(0.95) within group (order by e.duration_ms) as p95_ms,
        percentile_cont(0.99) within group (order by e.duration_ms) as p99_ms,
        coalesce(sum(e.tokens), 0)::bigint as tokens,
        sum(e.value) as value_sum
      from public.analytics_events e
      where e.organization_id = analytics_series.organization_id
        and e.name = d.name
        and e.occurred_at >= d.bucket
        and e.occurred_at < d.bucket + b.width
    ) f
  ),
  rolled as (
    select r.bucket, r.name, r.count, r.error_count, r.duration_count, r.duration_sum,
           r.duration_max, r.p50_ms, r.p95_ms, r.p99_ms, r.tokens, r.value_sum
    from public.analytics_hourly_rollups r, bounds b
    where analytics_series.granularity = 'hour'
      and r.organization_id = analytics_series.organization_id
      and r.bucket >= b.first_bucket and r.bucket < analytics_series.range_end
      and (analytics_series.event_name is null or r.name = analytics_series.event_name)
    union all
    select r.bucket, r.name, r.count, r.error_count, r.duration_count, r.duration_sum,
           r.duration_max, r.p50_ms, r.p95_ms, r.p99_ms, r.tokens, r.value_sum
    from public.analytics_daily_rollups r, bounds b
    where analytics_series.granularity = 'day'
      and r.organization_id = analytics_series.organization_id
      and r.bucket >= b.first_bucket and r.bucket < analytics_series.range_end
      and (analytics_series.event_name is null or r.name = analytics_series.event_name)
  )
  select * from raw
  union all
  select * from rolled r
  where not exists (select 1 from dirty d where d.bucket = r.bucket and d.name = r.name)
  order by 1, 2;
end;

-- Performance per event name over [start_time, end_time), in whole hours (seed:
-- get_performance_summary). For owners, admins and service_role.
create function public.get_performance_summary(
  organization_id uuid,
  start_time timestamptz,
  end_time timestamptz default now()
)
returns table (
  name text,
  total bigint,
  errors bigint,
  error_rate double precision,
  avg_duration_ms double precision,
  max_duration_ms double precision,
  tokens bigint
)
language sql
stable
security invoker
begin atomic
  select
    s.name,
    sum(s.count)::bigint,
    sum(s.error_count)::bigint,
    sum(s.error_count)::double precision / nullif(sum(s.count), 0),
    sum(s.duration_sum) / nullif(sum(s.duration_count), 0),
    max(s.duration_max),
    sum(s.tokens)::bigint
  from public.analytics_series(
    get_performance_summary.organization_id,
    get_performance_summary.start_time,
    get_performance_summary.end_time,
    'hour',
    null
  ) s
  group by s.name
  order by s.name;
end;

-- The share of events marked as errors among those that occurred in the last `hours` (seed:
-- get_error_rate). For owners, admins and service_role.
create function public.get_error_rate(organization_id uuid, hours integer default 1)
returns table (error_rate double precision, total_requests bigint, failed_requests bigint)
language sql
stable
security invoker
begin atomic
  select private.check_analytics_access(get_error_rate.organization_id, 'hour');
  select
    coalesce(count(*) filter (where e.is_error)::double precision / nullif(count(*), 0), 0),
    count(*),
    count(*) filter (where e.is_error)
  from public.analytics_events e
  where e.organization_id = get_error_rate.organization_id
    and e.occurred_at >= now() - make_interval(hours => least(greatest(get_error_rate.hours, 1), 168))
    and e.occurred_at <= now();
end;

-- Problems in the last hour (seed: detect_performance_issues): slow executions, a high error
-- rate, slow searches. For owners, admins and service_role.
create function public.detect_performance_issues(
  organization_id uuid,
  slow_execution_ms double precision default 5000,
  max_error_rate double precision default 0.05,
  slow_search_ms double precision default 2000
)
returns table (type text, severity text, description text, details jsonb)
language sql
stable
security invoker
begin atomic
  select private.check_analytics_access(detect_performance_issues.organization_id, 'hour');
  with recent as (
    select e.*
    from public.analytics_events e
    where e.organization_id = detect_performance_issues.organization_id
      and e.occurred_at >= now() - interval '1 hour'
      and e.occurred_at <= now()
  ),
  slow_executions as (
    select count(*) as n, max(r.duration_ms) as worst
    from recent r
    where r.source = 'execution' and r.duration_ms > detect_performance_issues.slow_execution_ms
  ),
  errors as (
    select count(*) as total, count(*) filter (where r.is_error) as failed
    from recent r
  ),
  searches as (
    select count(*) as n, avg(r.duration_ms) as average
    from recent r
    where r.name like 'search.%' and r.duration_ms is not null
  )
  select 'slow_executions',
         case when s.n > 10 then 'high' else 'medium' end,
         format('Found %s slow executions in the last hour', s.n),
         jsonb_build_object('count', s.n, 'max_duration_ms', s.worst,
                            'threshold_ms', detect_performance_issues.slow_execution_ms)
  from slow_executions s
  where s.n > 0
  union all
  select 'high_error_rate',
         'critical',
         format('Error rate is %s%%', round((100.0 * e.failed / e.total)::numeric, 1)),
         jsonb_build_object('error_rate', e.failed::double precision / e.total,
                            'total', e.total, 'failed', e.failed,
                            'threshold', detect_performance_issues.max_error_rate)
  from errors e
  where e.total > 0
    and e.failed::double precision / e.total > detect_performance_issues.max_error_rate
  union all
  select 'slow_searches',
         'medium',
         format('Searches averaging %sms', round(s.average::numeric)),
         jsonb_build_object('count', s.n, 'avg_duration_ms', s.average,
                            'threshold_ms', detect_performance_issues.slow_search_ms)
  from searches s
  where s.n > 0 and s.average > detect_performance_issues.slow_search_ms;
end;

revoke all on function public.analytics_series(uuid, timestamptz, timestamptz, text, text)
  from public, anon, authenticated, service_role;
revoke all on function public.get_performance_summary(uuid, timestamptz, timestamptz)
  from public, anon, authenticated, service_role;
revoke all on function public.get_error_rate(uuid, integer)
  from public, anon, authenticated, service_role;
revoke all on function public.detect_performance_issues(
  uuid, double precision, double precision, double precision
) from public, anon, authenticated, service_role;
grant execute on function public.analytics_series(uuid, timestamptz, timestamptz, text, text)
  to authenticated, service_role;
grant execute on function public.get_performance_summary(uuid, timestamptz, timestamptz)
  to authenticated, service_role;
grant execute on function public.get_error_rate(uuid, integer) to authenticated, service_role;
grant execute on function public.detect_performance_issues(
  uuid, double precision, double precision, double precision
) to authenticated, service_role;
