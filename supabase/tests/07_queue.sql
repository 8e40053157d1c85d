-- The job queue: enqueue with dedupe and delay, claims with a visibility timeout, completion,
-- exponential backoff, dead letters, the dispatcher and its cron jobs, and who may do what.
-- PGlite is a single session, so two claimers cannot overlap here: successive claims must be
-- disjoint, and the claim must lock with `for update skip locked` (see also
-- tests/db/queue-concurrency.test.ts). Times are exact: now() is fixed within the transaction.
begin;
\ir _helpers.psql
select plan(47);

insert into private.job_queues (name, worker_function, batch_size, visibility_timeout, max_attempts, backoff_base, backoff_max)
values ('test_jobs', 'test-worker', 2, interval '30 seconds', 4, interval '10 seconds', interval '25 seconds');

create temporary table jobs_seen (label text primary key, id uuid) on commit drop;
grant all on jobs_seen to service_role;

-- ---------------------------------------------------------------------------------------------
-- Enqueue
-- ---------------------------------------------------------------------------------------------
insert into jobs_seen values ('a', private.enqueue_job('test_jobs', '{"n": 1}', 'key-a'));
select results_eq(
  $$ select status, attempts, visible_at = now(), payload from private.jobs where id = (select id from jobs_seen where label = 'a') $$,
  $$ values ('queued', 0, true, '{"n": 1}'::jsonb) $$,
  'enqueue_job adds a queued job, visible at once'
);
select is(
  private.enqueue_job('test_jobs', '{"n": 1, "again": true}', 'key-a'),
  (select id from jobs_seen where label = 'a'),
  'Enqueueing an unfinished dedupe key again returns the existing job'
);
select is((select count(*) from private.jobs where queue = 'test_jobs'), 1::bigint, 'and adds nothing');
insert into jobs_seen values ('b', private.enqueue_job('test_jobs', '{"n": 2}'));
insert into jobs_seen values ('c', private.enqueue_job('test_jobs', '{"n": 3}', null, interval '1 minute'));
select is(
  (select visible_at from private.jobs where id = (select id from jobs_seen where label = 'c')),
  now() + interval '1 minute',
  'A delayed job becomes visible after its delay'
);
select throws_ok(
  $$ select private.enqueue_job('no_such_queue', '{}') $$,
  '23503', null, 'Enqueueing into an unknown queue fails'
);

-- ---------------------------------------------------------------------------------------------
-- Claim
-- ---------------------------------------------------------------------------------------------
select ok(
  pg_get_functiondef('private.claim_jobs(text, integer)'::regprocedure) ~* 'for update skip locked',
  'claim_jobs locks with for update skip locked, so concurrent claimers never share a job'
);
create temporary table claim_1 on commit drop as select * from private.claim_jobs('test_jobs');
create temporary table claim_2 on commit drop as select * from private.claim_jobs('test_jobs');
select set_eq(
  $$ select id, attempt from claim_1 $$,
  $$ select id, 1 as attempt from jobs_seen where label in ('a', 'b') $$,
  'A claim takes up to batch_size due jobs, attempt 1'
);
select is_empty($$ select 1 from claim_2 $$, 'A second claim gets none of them: they are invisible until the timeout');
select results_eq(
  $$ select status, attempts, visible_at - now(), claimed_at = now() from private.jobs where id = (select id from jobs_seen where label = 'a') $$,
  $$ values ('running', 1, interval '30 seconds', true) $$,
  'A claimed job is running and invisible for the visibility timeout'
);
select is_empty($$ select 1 from private.claim_jobs('test_jobs', 10) $$, 'The delayed job is not claimed early');

-- ---------------------------------------------------------------------------------------------
-- Complete
-- ---------------------------------------------------------------------------------------------
select ok(private.complete_job((select id from jobs_seen where label = 'b')), 'complete_job completes a running job');
select ok(not private.complete_job((select id from jobs_seen where label = 'b')), 'Completing it again reports false');
select results_eq(
  $$ select status, completed_at = now() from private.jobs where id = (select id from jobs_seen where label = 'b') $$,
  $$ values ('completed', true) $$,
  'A completed job is kept, stamped'
);

-- ---------------------------------------------------------------------------------------------
-- Fail, backoff, dead letter (base 10 s, cap 25 s, max 4 attempts)
-- ---------------------------------------------------------------------------------------------
select is(private.fail_job((select id from jobs_seen where label = 'a'), 'boom 1', 1), 'queued', 'A failed attempt goes back to the queue');
select results_eq(
  $$ select status, visible_at - now(), last_error, jsonb_array_length(errors) from private.jobs where id = (select id from jobs_seen where label = 'a') $$,
  $$ values ('queued', interval '10 seconds', 'boom 1', 1) $$,
  'After attempt 1 it waits backoff_base (10 s) and keeps the error'
);
select is(private.fail_job((select id from jobs_seen where label = 'a'), 'late', 1), 'ignored', 'A report about a job that is not running is ignored');

update private.jobs set visible_at = now() where id = (select id from jobs_seen where label = 'a');
select results_eq(
  $$ select attempt from private.claim_jobs('test_jobs') $$,
  $$ values (2) $$,
  'Once the backoff has passed the job is claimed again, attempt 2'
);
select is(private.fail_job((select id from jobs_seen where label = 'a'), 'stale report', 1), 'ignored', 'A report from an earlier attempt is ignored');
select is(private.fail_job((select id from jobs_seen where label = 'a'), 'boom 2', 2), 'queued', 'Attempt 2 fails');
select is(
  (select visible_at - now() from private.jobs where id = (select id from jobs_seen where label = 'a')),
  interval '20 seconds',
  'After attempt 2 it waits twice as long (20 s)'
);
update private.jobs set visible_at = now() where id = (select id from jobs_seen where label = 'a');
select results_eq($$ select attempt from private.claim_jobs('test_jobs') $$, $$ values (3) $$, 'Attempt 3 is claimed');
select is(private.fail_job((select id from jobs_seen where label = 'a'), 'boom 3'), 'queued', 'Attempt 3 fails');
select is(
  (select visible_at - now() from private.jobs where id = (select id from jobs_seen where label = 'a')),
  interval '25 seconds',
  'The backoff is capped at backoff_max (40 s -> 25 s)'
);
update private.jobs set visible_at = now() where id = (select id from jobs_seen where label = 'a');
select results_eq($$ select attempt from private.claim_jobs('test_jobs') $$, $$ values (4) $$, 'Attempt 4 is claimed');
select is(private.fail_job((select id from jobs_seen where label = 'a'), 'boom 4', 4), 'dead', 'The last allowed attempt fails: dead');
select is_empty($$ select 1 from private.jobs where id = (select id from jobs_seen where label = 'a') $$, 'A dead job leaves the queue');
select results_eq(
  $$ select queue, payload, dedupe_key, attempts, reason, last_error,
            (select array_agg(e ->> 'error' order by (e ->> 'attempt')::int) from jsonb_array_elements(errors) e)
     from private.dead_jobs where id = (select id from jobs_seen where label = 'a') $$,
  $$ values ('test_jobs', '{"n": 1}'::jsonb, 'key-a', 4, 'failed', 'boom 4', array['boom 1', 'boom 2', 'boom 3', 'boom 4']) $$,
  'The dead letter keeps the payload, the key and every error'
);
select is(
  private.requeue_dead_job((select id from jobs_seen where label = 'a')),
  (select id from jobs_seen where label = 'a'),
  'A dead job can be put back'
);
select results_eq(
  $$ select status, attempts, jsonb_array_length(errors) from private.jobs where id = (select id from jobs_seen where label = 'a') $$,
  $$ values ('queued', 0, 4) $$,
  'It is queued again with fresh attempts and its history'
);

-- Visibility timeouts: a worker that never reports
update private.jobs set attempts = 3, status = 'running', visible_at = now() - interval '1 second'
where id = (select id from jobs_seen where label = 'a');
select results_eq(
  $$ select id, attempt from private.claim_jobs('test_jobs') $$,
  $$ select id, 4 from jobs_seen where label = 'a' $$,
  'A running job whose visibility timeout passed is claimed again'
);
update private.jobs set visible_at = now() - interval '1 second' where id = (select id from jobs_seen where label = 'a');
select is_empty($$ select 1 from private.claim_jobs('test_jobs') $$, 'A job that timed out on its last attempt is not claimed again');
select results_eq(
  $$ select reason from private.dead_jobs where id = (select id from jobs_seen where label = 'a') $$,
  $$ values ('timed_out') $$,
  'It is dead-lettered as timed out'
);

-- retry_in (e.g. an upstream Retry-After) overrides the backoff
update private.jobs set visible_at = now() where id = (select id from jobs_seen where label = 'c');
select results_eq($$ select attempt from private.claim_jobs('test_jobs') $$, $$ values (1) $$, 'The delayed job is claimed when due');
select is(
  private.fail_job((select id from jobs_seen where label = 'c'), 'rate limited', 1, interval '90 seconds'),
  'queued',
  'fail_job accepts an explicit retry delay'
);
select is(
  (select visible_at - now() from private.jobs where id = (select id from jobs_seen where label = 'c')),
  interval '90 seconds',
  'which replaces the backoff'
);

-- Retention
update private.jobs set completed_at = now() - interval '8 days' where id = (select id from jobs_seen where label = 'b');
select is(private.purge_completed_jobs(interval '7 days'), 1::bigint, 'purge_completed_jobs removes old completed jobs');

-- ---------------------------------------------------------------------------------------------
-- Dispatcher and pg_cron
-- ---------------------------------------------------------------------------------------------
insert into jobs_seen values ('d', private.enqueue_job('test_jobs', '{"n": 4}'));
select vault.create_secret('job-secret-for-the-queue-suite-0123456789', 'job_secret')
where not exists (select 1 from vault.secrets where name = 'job_secret');
-- Whatever project_url this database has (a running stack's own port, a hosted project's URL).
select vault.create_secret('http://127.0.0.1:54321', 'project_url')
where not exists (select 1 from vault.secrets where name = 'project_url');
select is(private.dispatch_jobs('test_jobs'), 1, 'The dispatcher sends one request per batch');
select results_eq(
  $$ select r.method::text, r.url, r.headers ->> 'Authorization' = 'Bearer ' || (select decrypted_secret from vault.decrypted_secrets where name = 'job_secret'),
            convert_from(r.body, 'utf8')::jsonb
     from net.http_request_queue r order by r.id desc limit 1 $$,
  $$ select 'POST',
            rtrim((select decrypted_secret from vault.decrypted_secrets where name = 'project_url'), '/')
              || '/functions/v1/test-worker/jobs' collate "default",
            true,
            jsonb_build_object('queue', 'test_jobs', 'jobs', jsonb_build_array(
              jsonb_build_object('id', id, 'payload', '{"n": 4}'::jsonb, 'attempt', 1)))
     from jobs_seen where label = 'd' $$,
  'It POSTs {queue, jobs: [{id, payload, attempt}]} to the worker function''s /jobs route with the job secret'
);
select is(private.dispatch_jobs('test_jobs'), 0, 'With nothing due, it sends nothing');

insert into jobs_seen values ('e', private.enqueue_job('test_jobs', '{"n": 5}'));
delete from vault.secrets where name = 'project_url';
select is(private.dispatch_jobs('test_jobs'), 0, 'Without the vault secrets it sends nothing');
select results_eq(
  $$ select status, attempts from private.jobs where id = (select id from jobs_seen where label = 'e') $$,
  $$ values ('queued', 0) $$,
  'and spends no attempt'
);

select set_eq(
  $$ select jobname, command from cron.job
     where jobname like 'dispatch\_%' and schedule ~ '^[1-9][0-9]? seconds$' $$,
  $$ select 'dispatch_' || name as jobname,
            format('select private.dispatch_jobs(%L)', name) as command
     from private.job_queues where name <> 'test_jobs' $$,
  'pg_cron runs the dispatcher of every registered queue every few seconds'
);

-- ---------------------------------------------------------------------------------------------
-- Who may touch the queue
-- ---------------------------------------------------------------------------------------------
select tests.authenticate_as_service_role();
select ok(
  (select count(*) from private.claim_jobs('test_jobs')) = 1
    and private.complete_job((select id from jobs_seen where label = 'e')),
  'service_role claims and completes jobs'
);
select ok((select count(*) from private.dead_jobs) >= 1, 'service_role reads dead letters');
select throws_ok(
  $$ insert into private.jobs (queue, payload) values ('test_jobs', '{}') $$,
  '42501', null, 'service_role writes jobs only through the queue functions'
);

select tests.create_supabase_user('someone');
select tests.authenticate_as('someone');
select throws_ok($$ select * from private.claim_jobs('test_jobs') $$, '42501', null, 'authenticated cannot claim jobs');
select throws_ok($$ select * from private.jobs $$, '42501', null, 'authenticated cannot read jobs');

select * from finish();
rollback;
