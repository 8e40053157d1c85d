-- detect_performance_issues() judges searches by the events the database recorded itself.
--
-- *_analytics_reports.sql averaged every event named `search.*`, so a client sending such events
-- through analytics-tracker could raise or hide the slow_searches issue. Now, like
-- slow_executions (source `execution`), slow_searches reads only events of source `search`,
-- written by the tracked search RPCs (*_analytics_search_events.sql). Signature, access (owners,
-- admins, service_role) and the other checks are unchanged.

-- Problems in the last hour (seed: detect_performance_issues): slow executions, a high error
-- rate, slow searches. For owners, admins and service_role.
create or replace function public.detect_performance_issues(
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
    where r.source = 'search' and r.duration_ms is not null
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
