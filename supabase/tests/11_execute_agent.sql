-- execute-agent's database side: the idempotency hash, the agent_executions queue, the sweep of
-- stale executions and the per-plan rate limit. Cast: in "tenant-a", ada is owner, mia a member;
-- otto owns "tenant-b".
begin;
\ir _helpers.psql
select plan(36);

select tests.create_two_tenants();
update public.organizations set plan = 'pro' where slug = 'tenant-b';

insert into public.agents (id, organization_id, owner_id, name)
values ('a1100000-0000-4000-8000-000000000001',
        (select id from public.organizations where slug = 'tenant-a'),
        tests.get_supabase_uid('ada'), 'Sweep agent');

create temporary table ids on commit drop as
select
  (select id from public.organizations where slug = 'tenant-a') as org_a,
  (select id from public.organizations where slug = 'tenant-b') as org_b,
  'a1100000-0000-4000-8000-000000000001'::uuid as agent,
  tests.get_supabase_uid('mia') as mia,
  tests.get_supabase_uid('ada') as ada,
  tests.get_supabase_uid('otto') as otto;
grant select on ids to anon, authenticated, service_role;

-- ---------------------------------------------------------------------------------------------
-- request_hash
-- ---------------------------------------------------------------------------------------------
select tests.authenticate_as_service_role();
select lives_ok(
  $$ insert into public.agent_executions (agent_id, user_id, idempotency_key, request_hash)
     values ((select agent from ids), (select mia from ids), 'k-1', repeat('ab', 32)) $$,
  'service_role stores a request hash beside the idempotency key'
);
select throws_ok(
  $$ insert into public.agent_executions (agent_id, user_id, idempotency_key, request_hash)
     values ((select agent from ids), (select mia from ids), 'k-2', 'not-a-hash') $$,
  '23514', null, 'A request hash is 64 hex characters'
);
select tests.authenticate_as('mia');
select results_eq(
  $$ select request_hash from public.agent_executions where idempotency_key = 'k-1' $$,
  $$ values (repeat('ab', 32)) $$,
  'The user reads the hash of their own request'
);
select throws_ok(
  $$ update public.agent_executions set request_hash = repeat('cd', 32) $$,
  '42501', null, 'Users cannot change executions'
);

-- ---------------------------------------------------------------------------------------------
-- The agent_executions queue
-- ---------------------------------------------------------------------------------------------
select tests.reset_role();
select results_eq(
  $$ select worker_function, batch_size from private.job_queues where name = 'agent_executions' $$,
  $$ values ('execute-agent'::text, 4) $$,
  'The agent_executions queue is drained by execute-agent'
);
select results_eq(
  $$ select command from cron.job where jobname = 'dispatch_agent_executions' $$,
  $$ values ('select private.dispatch_jobs(''agent_executions'')'::text) $$,
  'pg_cron dispatches the agent_executions queue'
);

-- ---------------------------------------------------------------------------------------------
-- The sweep
-- ---------------------------------------------------------------------------------------------
delete from public.agent_executions;
insert into public.agent_executions (id, agent_id, user_id, status, created_at, started_at)
values
  ('e1100000-0000-4000-8000-000000000001', (select agent from ids), (select mia from ids),
   'pending', now() - interval '1 hour', null),
  ('e1100000-0000-4000-8000-000000000002', (select agent from ids), (select mia from ids),
   'running', now() - interval '1 hour', now() - interval '20 minutes'),
  ('e1100000-0000-4000-8000-000000000003', (select agent from ids), (select mia from ids),
   'pending', now() - interval '1 minute', null),
  ('e1100000-0000-4000-8000-000000000004', (select agent from ids), (select mia from ids),
   'running', now() - interval '1 hour', now() - interval '1 minute'),
  ('e1100000-0000-4000-8000-000000000005', (select agent from ids), (select mia from ids),
   'completed', now() - interval '1 hour', now() - interval '1 hour');

select is(private.fail_stale_executions(), 2, 'The sweep fails the two stale executions');
select results_eq(
  $$ select id::text, status, error is not null, completed_at is not null
     from public.agent_executions order by id $$,
  $$ values
       ('e1100000-0000-4000-8000-000000000001', 'failed', true, true),
       ('e1100000-0000-4000-8000-000000000002', 'failed', true, true),
       ('e1100000-0000-4000-8000-000000000003', 'pending', false, false),
       ('e1100000-0000-4000-8000-000000000004', 'running', false, false),
       ('e1100000-0000-4000-8000-000000000005', 'completed', false, true) $$,
  'Fresh runs and finished runs are left alone; stale ones are failed with a reason'
);
select is(
  (select error from public.agent_executions where id = 'e1100000-0000-4000-8000-000000000001'),
  'Not started within 00:15:00',
  'A stale pending run says it never started'
);
select is(
  (select error from public.agent_executions where id = 'e1100000-0000-4000-8000-000000000002'),
  'Not finished within 00:10:00',
  'A stale running run says it never finished'
);
select is(
  private.fail_stale_executions(interval '30 seconds', interval '30 seconds'), 2,
  'Shorter deadlines catch the younger runs'
);
select is(private.fail_stale_executions(), 0, 'A second sweep finds nothing left');
select results_eq(
  $$ select schedule, command from cron.job where jobname = 'fail_stale_executions' $$,
  $$ values ('* * * * *'::text, 'select private.fail_stale_executions()'::text) $$,
  'pg_cron runs the sweep every minute'
);
select tests.authenticate_as_service_role();
select throws_ok(
  $$ select private.fail_stale_executions() $$, '42501', null,
  'service_role cannot run the sweep (pg_cron does)'
);
select tests.authenticate_as('mia');
select throws_ok(
  $$ select private.fail_stale_executions() $$, '42501', null, 'Users cannot run the sweep'
);

-- ---------------------------------------------------------------------------------------------
-- Rate limits
-- ---------------------------------------------------------------------------------------------
select tests.reset_role();
select ok(
  (select bool_and(c.relrowsecurity) from pg_class c
   where c.oid in ('private.rate_limit_policies'::regclass, 'private.rate_limit_counters'::regclass)),
  'Row-level security is enabled on the rate limit tables'
);
select set_eq(
  $$ select plan || '/' || bucket || '/' || max_cost from private.rate_limit_policies
     where bucket = 'execute-agent' $$,
  array['free/execute-agent/10', 'pro/execute-agent/60', 'enterprise/execute-agent/300'],
  'execute-agent has a limit per plan, larger for larger plans'
);
-- A long-lived database may hold counters already; this transaction starts from none.
delete from private.rate_limit_counters;
insert into private.rate_limit_policies (plan, bucket, max_cost, window_seconds)
values ('free', 'tests', 2, 60), ('pro', 'tests', 5, 60);

select tests.authenticate_as_service_role();
select results_eq(
  $$ select allowed, max_cost, remaining, retry_after_seconds
     from private.consume_rate_limit((select mia from ids), (select org_a from ids), 'tests') $$,
  $$ values (true, 2, 1, 0) $$,
  'The first call on the free plan is allowed, one left'
);
select results_eq(
  $$ select allowed, remaining
     from private.consume_rate_limit((select mia from ids), (select org_a from ids), 'tests') $$,
  $$ values (true, 0) $$,
  'The second is allowed, none left'
);
select results_eq(
  $$ select allowed, remaining, retry_after_seconds between 1 and 60
     from private.consume_rate_limit((select mia from ids), (select org_a from ids), 'tests') $$,
  $$ values (false, 0, true) $$,
  'The third is refused with a retry-after within the window'
);
select is(
  (select cost from private.rate_limit_counters
   where user_id = (select mia from ids) and bucket = 'tests'),
  2,
  'A refused call takes nothing'
);
select results_eq(
  $$ select allowed, remaining
     from private.consume_rate_limit((select ada from ids), (select org_a from ids), 'tests') $$,
  $$ values (true, 1) $$,
  'Each user has their own window'
);
select results_eq(
  $$ select allowed, max_cost, remaining
     from private.consume_rate_limit((select otto from ids), (select org_b from ids), 'tests', 3) $$,
  $$ values (true, 5, 2) $$,
  'The pro plan''s limit applies in a pro organization, and a call may cost more than one'
);
select results_eq(
  $$ select allowed, remaining
     from private.consume_rate_limit((select otto from ids), (select org_b from ids), 'tests', 3) $$,
  $$ values (false, 2) $$,
  'A call costing more than what is left is refused whole'
);
select results_eq(
  $$ select allowed, max_cost
     from private.consume_rate_limit((select otto from ids), null, 'tests', 6) $$,
  $$ values (false, 2) $$,
  'Work outside any organization counts as the free plan'
);
select results_eq(
  $$ select allowed, max_cost
     from private.consume_rate_limit((select mia from ids), (select org_a from ids), 'no-such-bucket') $$,
  $$ values (true, 60) $$,
  'A bucket without limits of its own uses the plan''s default'
);
select throws_ok(
  $$ select * from private.consume_rate_limit((select mia from ids), null, 'tests', 0) $$,
  '22023', null, 'A cost below 1 is refused'
);
select is(
  (select count(*)::integer from private.rate_limit_counters), 4,
  'service_role reads the counters'
);

select tests.authenticate_as('mia');
select throws_ok(
  $$ select * from private.consume_rate_limit((select mia from ids), null, 'tests') $$,
  '42501', null, 'Users cannot take from a rate limit directly'
);
select throws_ok(
  $$ select * from private.rate_limit_counters $$, '42501', null, 'Users cannot read the counters'
);
select throws_ok(
  $$ select * from private.rate_limit_policies $$, '42501', null, 'Users cannot read the policies'
);
select tests.clear_authentication();
select throws_ok(
  $$ select * from private.consume_rate_limit((select mia from ids), null, 'tests') $$,
  '42501', null, 'anon cannot take from a rate limit'
);
select tests.authenticate_as_service_role();
select throws_ok(
  $$ update private.rate_limit_policies set max_cost = 1000 $$,
  '42501', null, 'service_role cannot change the limits'
);
select throws_ok(
  $$ delete from private.rate_limit_counters $$,
  '42501', null, 'service_role cannot reset counters'
);

select tests.reset_role();
update private.rate_limit_counters set window_start = now() - interval '2 days'
where user_id = (select ada from ids);
select is(private.purge_rate_limit_counters(), 1::bigint, 'Counters older than a day are purged');
select ok(
  exists (select 1 from cron.job where jobname = 'purge_rate_limit_counters'),
  'pg_cron purges old counters'
);

select * from finish();
rollback;
