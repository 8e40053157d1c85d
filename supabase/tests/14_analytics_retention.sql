-- Analytics and retention: who reads events, rollups and reports (owners and admins; members
-- only their own events; other organizations nothing), the incremental rollups (idempotent,
-- late events, percentiles equal to percentile_cont over the raw events), execution events,
-- per-organization retention overrides within bounds, and retention batches (dry run = real
-- run, bounded, nothing younger touched). now() is fixed within the suite's transaction.
begin;
\ir _helpers.psql
select plan(70);

select tests.create_two_tenants();

create temporary table ids on commit drop as
select
  (select id from public.organizations where slug = 'tenant-a') as org_a,
  (select id from public.organizations where slug = 'tenant-b') as org_b,
  tests.get_supabase_uid('ada') as ada,
  tests.get_supabase_uid('mia') as mia,
  date_trunc('hour', now() - interval '3 hours', 'UTC') as hour_a;
grant select on ids to authenticated, service_role;

-- 10 events of api.call in one hour (durations 10..100 ms, 2 errors, 5 tokens each), one of
-- mia's own, and one in tenant-b; all received 10 minutes ago.
insert into public.analytics_events (
  organization_id, user_id, name, occurred_at, received_at, duration_ms, is_error, tokens
)
select org_a, ada, 'api.call', hour_a + make_interval(mins => n), now() - interval '10 minutes',
       n * 10, n <= 2, 5
from ids, generate_series(1, 10) n;
insert into public.analytics_events (organization_id, user_id, name, occurred_at, received_at, duration_ms)
select org_a, mia, 'page.view', hour_a, now() - interval '10 minutes', 7 from ids
union all
select org_b, null, 'api.call', hour_a, now() - interval '10 minutes', 1000 from ids;

-- ---------------------------------------------------------------------------------------------
-- Row-level security on events
-- ---------------------------------------------------------------------------------------------
select tests.authenticate_as('ada');
select is((select count(*) from public.analytics_events), 11::bigint, 'An owner reads all of her organization''s events');
select tests.authenticate_as('adam');
select is((select count(*) from public.analytics_events), 11::bigint, 'An admin reads all of his organization''s events');
select tests.authenticate_as('mia');
select is((select count(*) from public.analytics_events), 1::bigint, 'A member reads only the events she sent');
select tests.authenticate_as('otto');
select is(
  (select count(*) from public.analytics_events where organization_id = (select org_a from ids)),
  0::bigint, 'Another organization''s owner reads none of them'
);
select tests.authenticate_as('mia');
select throws_ok(
  $$ insert into public.analytics_events (organization_id, user_id, name) select org_a, mia, 'forged.event' from ids $$,
  '42501', null, 'A member cannot insert client events directly'
);
select lives_ok(
  $$ insert into public.analytics_events (organization_id, user_id, source, name, duration_ms)
     select org_a, mia, 'search', 'search.hybrid', 12 from ids $$,
  'A member records her own search event in her organization'
);
select throws_ok(
  $$ insert into public.analytics_events (organization_id, user_id, source, name) select org_b, mia, 'search', 'search.hybrid' from ids $$,
  '42501', null, 'but not in another organization'
);
select throws_ok(
  $$ update public.analytics_events set name = 'x' $$, '42501', null, 'Nobody but retention changes events'
);
select tests.clear_authentication();
select throws_ok($$ select count(*) from public.analytics_events $$, '42501', null, 'anon reads no events');
select tests.reset_role();
delete from public.analytics_events where source = 'search';

-- ---------------------------------------------------------------------------------------------
-- Hourly rollup: incremental, idempotent, exact percentiles
-- ---------------------------------------------------------------------------------------------
select is(private.rollup_analytics_hourly(now() - interval '5 minutes'), 3, 'The hourly rollup writes one row per touched bucket and name');
select results_eq(
  $$ select r.count, r.error_count, r.tokens, r.p50_ms, r.p95_ms, r.p99_ms
     from public.analytics_hourly_rollups r, ids
     where r.organization_id = ids.org_a and r.name = 'api.call' and r.bucket = ids.hour_a $$,
  $$ select count(*), count(*) filter (where e.is_error), sum(e.tokens)::bigint,
            percentile_cont(0.5) within group (order by e.duration_ms),
            percentile_cont(0.95) within group (order by e.duration_ms),
            percentile_cont(0.99) within group (order by e.duration_ms)
     from public.analytics_events e, ids
     where e.organization_id = ids.org_a and e.name = 'api.call' $$,
  'Counts, errors, tokens and p50/p95/p99 equal percentile_cont over the raw events'
);
select is((select round(p95_ms::numeric, 9) from public.analytics_hourly_rollups where name = 'api.call' and bucket = (select hour_a from ids) and organization_id = (select org_a from ids)), 95.5, 'p95 of 10..100 is 95.5 (interpolated)');

create temporary table rollup_before on commit drop as
select * from public.analytics_hourly_rollups;
select is(private.rollup_analytics_hourly(now() - interval '5 minutes'), 0, 'Re-running up to the same time does nothing');
update private.analytics_rollup_state set hourly_watermark = '-infinity';
select is(private.rollup_analytics_hourly(now() - interval '5 minutes'), 0, 'Re-processing the same events writes no row');
select set_eq(
  $$ select * from public.analytics_hourly_rollups $$, $$ select * from rollup_before $$,
  'and leaves every rollup row as it was (updated_at included)'
);

-- A late event: occurred in the old hour, received after the watermark.
insert into public.analytics_events (organization_id, user_id, name, occurred_at, received_at, duration_ms)
select org_a, ada, 'api.call', hour_a + interval '30 minutes', now() - interval '1 minute', 1000 from ids;
select is(private.rollup_analytics_hourly(now()), 1, 'A late event recomputes only its own bucket');
select results_eq(
  $$ select r.count, r.p95_ms from public.analytics_hourly_rollups r, ids
     where r.organization_id = ids.org_a and r.name = 'api.call' and r.bucket = ids.hour_a $$,
  $$ select count(*), percentile_cont(0.95) within group (order by e.duration_ms)
     from public.analytics_events e, ids where e.organization_id = ids.org_a and e.name = 'api.call' $$,
  'and the bucket counts it'
);

-- ---------------------------------------------------------------------------------------------
-- The series: rollups plus raw events not yet rolled up; owners and admins only
-- ---------------------------------------------------------------------------------------------
insert into public.analytics_events (organization_id, user_id, name, occurred_at, received_at, duration_ms)
select org_a, ada, 'api.call', hour_a + interval '40 minutes', now() + interval '1 second', 5 from ids;
select tests.authenticate_as('ada');
select results_eq(
  $$ select s.count, s.p95_ms from public.analytics_series((select org_a from ids), now() - interval '1 day', now() + interval '1 hour', 'hour', 'api.call') s $$,
  $$ select count(*), percentile_cont(0.95) within group (order by e.duration_ms)
     from public.analytics_events e, ids where e.organization_id = ids.org_a and e.name = 'api.call' $$,
  'The series counts an event the rollup has not seen yet'
);
select is(
  (select count(*) from public.analytics_series((select org_a from ids), now() - interval '1 day', now() + interval '1 hour')),
  2::bigint, 'The series has one row per bucket and name'
);
select tests.authenticate_as('adam');
select lives_ok($$ select * from public.analytics_series((select org_a from ids), now() - interval '1 day', now()) $$, 'An admin reads the series');
select tests.authenticate_as('mia');
select throws_ok(
  $$ select * from public.analytics_series((select org_a from ids), now() - interval '1 day', now()) $$,
  '42501', null, 'A member is refused the series'
);
select throws_ok(
  $$ select * from public.get_error_rate((select org_a from ids), 24) $$, '42501', null, 'and the error rate'
);
select tests.authenticate_as('otto');
select throws_ok(
  $$ select * from public.detect_performance_issues((select org_a from ids)) $$,
  '42501', null, 'Another organization''s owner is refused its reports'
);
select is(
  (select count(*) from public.analytics_hourly_rollups), 1::bigint,
  'and reads only his own organization''s rollups'
);
select tests.authenticate_as('ada');
select throws_ok(
  $$ select * from public.analytics_series((select org_a from ids), now() - interval '1 day', now(), 'minute') $$,
  '22023', null, 'Granularity is hour or day'
);

-- Seed-style reports, for the owner.
select tests.reset_role();
insert into public.analytics_events (organization_id, user_id, source, name, occurred_at, duration_ms, is_error)
select org_a, ada, 'execution', 'agent.execution', now() - interval '10 minutes', 6000, n = 1
from ids, generate_series(1, 4) n;
insert into public.analytics_events (organization_id, user_id, name, occurred_at, duration_ms)
select org_a, ada, 'search.fake', now() - interval '10 minutes', 9000 from ids;
select tests.authenticate_as('ada');
select results_eq(
  $$ select total_requests, failed_requests from public.get_error_rate((select org_a from ids), 1) $$,
  $$ values (5::bigint, 1::bigint) $$,
  'get_error_rate counts the events of the last N hours and their errors'
);
select set_eq(
  $$ select type, severity from public.detect_performance_issues((select org_a from ids)) $$,
  $$ values ('slow_executions', 'medium'), ('high_error_rate', 'critical') $$,
  'detect_performance_issues reports slow executions and an error rate above 5%'
);
select is_empty(
  $$ select 1 from public.detect_performance_issues((select org_a from ids)) where type = 'slow_searches' $$,
  'Client events named search.* do not make searches look slow'
);
select tests.reset_role();
insert into public.analytics_events (organization_id, user_id, source, name, occurred_at, duration_ms)
select org_a, ada, 'search', 'search.hybrid', now() - interval '5 minutes', 2500 from ids;
select tests.authenticate_as('ada');
select results_eq(
  $$ select severity, (details ->> 'avg_duration_ms')::float8 from public.detect_performance_issues((select org_a from ids)) where type = 'slow_searches' $$,
  $$ values ('medium', 2500::float8) $$,
  'Recorded searches averaging over 2 s are reported'
);
select results_eq(
  $$ select total, errors from public.get_performance_summary((select org_a from ids), now() - interval '1 day', now() + interval '1 hour') where name = 'api.call' $$,
  $$ values (12::bigint, 2::bigint) $$,
  'get_performance_summary totals a name over the range'
);
select tests.reset_role();

-- ---------------------------------------------------------------------------------------------
-- Daily rollup: closed days only
-- ---------------------------------------------------------------------------------------------
insert into public.analytics_events (organization_id, user_id, name, occurred_at, received_at, duration_ms)
select org_b, null, 'day.test', date_trunc('day', now(), 'UTC') - interval '1 day' + make_interval(hours => n),
       now() - interval '10 minutes', n
from ids, generate_series(1, 4) n;
select ok(private.rollup_analytics_daily(now()) > 0, 'The daily rollup writes closed days');
select results_eq(
  $$ select count, p50_ms from public.analytics_daily_rollups where name = 'day.test' $$,
  $$ values (4::bigint, 2.5::double precision) $$,
  'A closed day is rolled up from its raw events'
);
select is(
  (select count(*) from public.analytics_daily_rollups where bucket >= date_trunc('day', now(), 'UTC')),
  0::bigint, 'The open day is not in the daily table'
);
select is(private.rollup_analytics_daily(now()), 0, 'Re-running the daily rollup changes nothing');
-- A late event for the closed day, then the series by day: the day is recomputed from raw events
-- until the next daily run, and by that run.
insert into public.analytics_events (organization_id, user_id, name, occurred_at, received_at, duration_ms)
select org_b, null, 'day.test', date_trunc('day', now(), 'UTC') - interval '1 day', now() + interval '1 second', 10 from ids;
select tests.authenticate_as('otto');
select results_eq(
  $$ select count from public.analytics_series((select org_b from ids), now() - interval '2 days', now(), 'day', 'day.test') $$,
  $$ values (5::bigint) $$,
  'The day series counts a late event before the daily rollup has seen it'
);
select tests.reset_role();
select is(private.rollup_analytics_daily(now() + interval '2 seconds'), 1, 'The next daily run recomputes only that day');
select results_eq(
  $$ select count, p50_ms from public.analytics_daily_rollups where name = 'day.test' $$,
  $$ values (5::bigint, 3::double precision) $$,
  'and counts the late event'
);

-- ---------------------------------------------------------------------------------------------
-- Executions record their own event
-- ---------------------------------------------------------------------------------------------
insert into public.agents (id, organization_id, owner_id, name)
select 'a0000000-0000-4000-8000-0000000000aa', org_a, ada, 'Analytics agent' from ids;
insert into public.agent_executions (id, agent_id, user_id, model, status)
select 'e0000000-0000-4000-8000-0000000000aa', 'a0000000-0000-4000-8000-0000000000aa', ada, 'local-chat', 'running' from ids;
select is(
  (select count(*) from public.analytics_events where source = 'execution' and properties ->> 'execution_id' = 'e0000000-0000-4000-8000-0000000000aa'),
  0::bigint, 'A running execution has no event yet'
);
update public.agent_executions
set status = 'completed', latency_ms = 420, prompt_tokens = 30, completion_tokens = 12
where id = 'e0000000-0000-4000-8000-0000000000aa';
select results_eq(
  $$ select name, duration_ms, tokens, is_error, properties ->> 'model', properties ->> 'outcome'
     from public.analytics_events where properties ->> 'execution_id' = 'e0000000-0000-4000-8000-0000000000aa' $$,
  $$ values ('agent.execution', 420::double precision, 42::bigint, false, 'local-chat', 'completed') $$,
  'A completed execution records one event with its latency, tokens, model and outcome'
);

-- ---------------------------------------------------------------------------------------------
-- Retention overrides: owners and admins, within bounds
-- ---------------------------------------------------------------------------------------------
select tests.authenticate_as('adam');
select lives_ok(
  $$ insert into public.organization_retention_policies (organization_id, policy, days) select org_a, 'conversations_archive', 60 from ids $$,
  'An admin sets his organization''s retention'
);
select throws_ok(
  $$ update public.organization_retention_policies set days = 3 where policy = 'conversations_archive' $$,
  '23514', null, 'only within the policy''s bounds'
);
select throws_ok(
  $$ insert into public.organization_retention_policies (organization_id, policy, days) select org_a, 'jobs_completed', 3 from ids $$,
  '23514', null, 'and only for per-organization policies'
);
select tests.authenticate_as('mia');
select throws_ok(
  $$ insert into public.organization_retention_policies (organization_id, policy, days) select org_a, 'analytics_events', 10 from ids $$,
  '42501', null, 'A member cannot set retention'
);
select is_empty($$ select 1 from public.organization_retention_policies $$, 'nor read it');
select tests.authenticate_as('otto');
select is_empty($$ select 1 from public.organization_retention_policies $$, 'Another organization''s owner reads none of it');
select tests.reset_role();

-- ---------------------------------------------------------------------------------------------
-- Retention batches
-- ---------------------------------------------------------------------------------------------
-- Marked, so a running stack's own completed jobs (its cron has been at work) do not count.
insert into private.jobs (queue, status, completed_at, payload)
select 'conversation_summaries', 'completed', now() - make_interval(days => d), '{"retention_test": true}'
from unnest(array[8, 9, 10, 2]) d;
select is(private.apply_retention_policy('jobs_completed', 2, true), 3::bigint, 'A dry run counts every due row');
select is(
  (select count(*) from private.jobs where status = 'completed' and payload ? 'retention_test'),
  4::bigint, 'and changes nothing'
);
select is(private.apply_retention_policy('jobs_completed', 2), 2::bigint, 'A real batch applies at most batch_size rows');
select is(private.apply_retention_policy('jobs_completed', 2), 1::bigint, 'the next batch the rest');
select is(private.apply_retention_policy('jobs_completed', 2), 0::bigint, 'then nothing: idempotent');

-- Conversations: tenant-a archives after 60 days (its override), tenant-b after 30 (default).
insert into public.agents (id, organization_id, owner_id, name)
select 'a0000000-0000-4000-8000-0000000000bb', org_b, tests.get_supabase_uid('otto'), 'B agent' from ids;
insert into public.conversations (user_id, agent_id, title, created_at)
values
  ((select ada from ids), 'a0000000-0000-4000-8000-0000000000aa', 'a-45d', now() - interval '45 days'),
  ((select ada from ids), 'a0000000-0000-4000-8000-0000000000aa', 'a-61d', now() - interval '61 days'),
  (tests.get_supabase_uid('otto'), 'a0000000-0000-4000-8000-0000000000bb', 'b-45d', now() - interval '45 days');
select is(private.apply_retention_policy('conversations_archive', 100, true), 2::bigint, 'Per-organization days decide what is due');
select is(private.apply_retention_policy('conversations_archive', 100), 2::bigint, 'and a real run archives exactly those');
select set_eq(
  $$ select title from public.conversations where status = 'archived' $$,
  array['a-61d', 'b-45d'], 'the younger conversation stays active'
);

-- Raw events: only rolled-up ones from whole days older than the policy.
insert into public.analytics_events (organization_id, name, occurred_at, received_at)
select org_b, 'old.event', now() - interval '10 days', now() - interval '10 days' from ids
union all
select org_b, 'old.unrolled', now() - interval '10 days', now() + interval '1 hour' from ids;
select is(private.apply_retention_policy('analytics_events', 100), 1::bigint, 'Old raw events are deleted once rolled up');
select is(
  (select count(*) from public.analytics_events where name in ('old.event', 'old.unrolled')), 1::bigint,
  'an old event not yet rolled up is kept'
);

-- Searches record their own event (tracked variants of the search RPCs).
select tests.authenticate_as('mia');
select is(
  (select count(*) from public.hybrid_search_tracked('widgets', null, 5, 1, 1, 50, jsonb_build_object('organization_id', (select org_a from ids)))),
  0::bigint, 'A tracked search returns what the search returns'
);
select results_eq(
  $$ select name, user_id, (properties ->> 'results')::int, duration_ms >= 0 from public.analytics_events where source = 'search' $$,
  $$ select 'search.hybrid', mia, 0, true from ids $$,
  'and records one search event for the caller'
);
select tests.authenticate_as('otto');
select is(
  (select count(*) from public.match_document_sections_tracked(tests.embedding(1), 5, jsonb_build_object('organization_id', (select org_a from ids)))),
  0::bigint, 'A search in an organization one is not a member of finds nothing'
);
select tests.reset_role();
select is(
  (select count(*) from public.analytics_events where source = 'search' and user_id = tests.get_supabase_uid('otto')),
  0::bigint, 'and records no event there'
);

-- Platform tables: pg_net responses and pg_cron run records.
insert into net._http_response (id, status_code, created)
values (-1, 200, now() - interval '8 days'), (-2, 200, now() - interval '6 days');
insert into cron.job_run_details (jobid, username, command, status, start_time, end_time)
values (-1, 'postgres', 'select 1', 'succeeded', now() - interval '8 days', now() - interval '8 days'),
       (-1, 'postgres', 'select 1', 'succeeded', now() - interval '1 day', now() - interval '1 day');
select is(private.apply_retention_policy('net_http_responses', 100), 1::bigint, 'pg_net responses older than 7 days are deleted');
select is((select array_agg(id) from net._http_response where id < 0), array[-2::bigint], 'the younger one stays');
select is(private.apply_retention_policy('cron_job_run_details', 100), 1::bigint, 'pg_cron run records older than 7 days are deleted');
select is((select count(*) from cron.job_run_details where jobid = -1), 1::bigint, 'the younger one stays');

-- Rollups by bucket age.
insert into public.analytics_hourly_rollups (organization_id, name, bucket, count, error_count, duration_count)
select org_b, 'aged', date_trunc('hour', now()) - make_interval(days => d), 1, 0, 0
from ids, unnest(array[91, 89]) d;
select is(private.apply_retention_policy('analytics_hourly', 100, true), 1::bigint, 'Hourly rollups older than 90 days are due');
select is(private.apply_retention_policy('analytics_hourly', 100), 1::bigint, 'and deleted');
select is((select count(*) from public.analytics_hourly_rollups where name = 'aged'), 1::bigint, 'the younger one stays');

-- Storage policies only count in SQL; the objects go through the Storage API.
select throws_ok(
  $$ select private.apply_retention_policy('orphaned_objects', 10) $$,
  '22023', null, 'A real run of a storage policy is refused in SQL'
);
select is(private.apply_retention_policy('orphaned_objects', 10, true), 0::bigint, 'and its dry run counts');
select tests.authenticate_as_service_role();
select throws_ok(
  $$ select private.apply_retention_policy('nope', 10) $$, '22023', null, 'An unknown policy is refused'
);
select tests.authenticate_as('ada');
select throws_ok(
  $$ select private.apply_retention_policy('jobs_completed', 10) $$, '42501', null, 'Users cannot apply retention'
);
select tests.reset_role();

select * from finish();
rollback;
