-- The dispatcher calls each queue's worker on its route with the dedicated job secret, never the
-- service key; the API roles can neither read pg_net's queued requests and responses nor make
-- the database fetch a URL (20261201090000_job_worker_routes, 20261201090100_net_api_role_revokes).
begin;
\ir _helpers.psql
select plan(17);

delete from vault.secrets where name = 'job_secret';
select vault.create_secret('job-secret-for-the-dispatch-suite-0123456789', 'job_secret');
-- Whatever project_url this database has (a running stack's own port, a hosted project's URL).
select vault.create_secret('http://127.0.0.1:54321', 'project_url')
where not exists (select 1 from vault.secrets where name = 'project_url');

-- ---------------------------------------------------------------------------------------------
-- Routes
-- ---------------------------------------------------------------------------------------------
select is_empty(
  $$ select name from private.job_queues where worker_path <> 'jobs' $$,
  'Every registered queue is served on its worker''s /jobs route'
);
select private.register_queue(
  queue_name => 'routed_jobs',
  worker_function => 'demo-worker',
  batch_size => 5,
  worker_path => 'jobs/v2'
);
select is(
  (select worker_path from private.job_queues where name = 'routed_jobs'),
  'jobs/v2',
  'register_queue takes the worker''s route'
);
select is(
  tests.sqlstate_of($$ update private.job_queues set worker_path = '../auth/v1' where name = 'routed_jobs' $$),
  '23514',
  'A route cannot climb out of the worker function'
);
select is(
  tests.sqlstate_of($$ update private.job_queues set worker_path = '/jobs' where name = 'routed_jobs' $$),
  '23514',
  'nor start with a slash'
);

-- ---------------------------------------------------------------------------------------------
-- Dispatch with the job secret
-- ---------------------------------------------------------------------------------------------
select private.enqueue_job('routed_jobs', '{"n": 1}');
select private.enqueue_job('routed_jobs', '{"n": 2}');
select is(private.dispatch_jobs('routed_jobs'), 1, 'Two due jobs go out in one batch');
select results_eq(
  $$ select r.url, r.headers ->> 'Authorization', jsonb_array_length(convert_from(r.body, 'utf8')::jsonb -> 'jobs')
     from net.http_request_queue r order by r.id desc limit 1 $$,
  $$ select
       rtrim((select decrypted_secret from vault.decrypted_secrets where name = 'project_url'), '/')
         || '/functions/v1/demo-worker/jobs/v2' collate "default",
       'Bearer job-secret-for-the-dispatch-suite-0123456789',
       2 $$,
  'The batch is POSTed to <project_url>/functions/v1/<worker>/<route> with the job secret'
);
select is_empty(
  $$ select r.id from net.http_request_queue r, vault.decrypted_secrets s
     where s.name = 'service_role_key' and r.headers::text like '%' || s.decrypted_secret || '%' $$,
  'No queued request carries the service key'
);

select private.enqueue_job('routed_jobs', '{"n": 3}');
delete from vault.secrets where name = 'job_secret';
select ok(
  exists (select 1 from vault.decrypted_secrets where name = 'service_role_key'),
  '(the service key is still in the vault)'
);
select is(private.dispatch_jobs('routed_jobs'), 0, 'Without the job secret nothing is dispatched');
select results_eq(
  $$ select status, attempts from private.jobs where queue = 'routed_jobs' and payload = '{"n": 3}' $$,
  $$ values ('queued', 0) $$,
  'and no attempt is spent'
);

-- ---------------------------------------------------------------------------------------------
-- pg_net is out of the API roles' reach
-- ---------------------------------------------------------------------------------------------
select tests.create_supabase_user('net_prober');
select tests.authenticate_as('net_prober');
select is(tests.sqlstate_of($$ select * from net.http_request_queue $$), '42501',
  'authenticated cannot read queued requests');
select is(tests.sqlstate_of($$ select * from net._http_response $$), '42501',
  'authenticated cannot read responses');
select is(tests.sqlstate_of($$ select net.http_post('http://169.254.169.254/', '{}'::jsonb) $$), '42501',
  'authenticated cannot make the database POST');
select is(tests.sqlstate_of($$ select net.http_get('http://169.254.169.254/') $$), '42501',
  'nor GET');

select tests.clear_authentication();
select is(tests.sqlstate_of($$ select * from net.http_request_queue $$), '42501',
  'anon cannot read queued requests');
select is(tests.sqlstate_of($$ select net.http_post('http://169.254.169.254/', '{}'::jsonb) $$), '42501',
  'anon cannot make the database POST');

select tests.authenticate_as_service_role();
select lives_ok($$ select count(*) from net.http_request_queue $$, 'service_role still reads pg_net''s tables');

select tests.reset_role();
select * from finish();
rollback;
