-- Queue workers are called on their `/jobs` route with a dedicated job secret, not the service key.
--
-- Before: the dispatcher POSTed each batch to <project_url>/functions/v1/<worker_function> with
-- `Authorization: Bearer <service_role_key>`. pg_net keeps request headers in
-- net.http_request_queue until it sends them, a table every role can read on a default install,
-- so the one key that bypasses RLS everywhere sat in a readable table (issue 10, item 4).
--
-- Now:
--   POST <project_url>/functions/v1/<worker_function>/<worker_path>      (worker_path: 'jobs')
--   Authorization: Bearer <job_secret>                                     (Vault secret `job_secret`)
--   { "queue": "<name>", "jobs": [ { "id": "<uuid>", "payload": { ... }, "attempt": n } ] }
-- The job secret is the functions' JOB_SECRET (`supabase secrets set JOB_SECRET=...`) and only
-- the `/jobs` routes accept it (supabase/functions/_shared/jobs.ts), so a leak of it lets a caller
-- replay queue work and nothing else. There is deliberately no fallback to `service_role_key`:
-- without `job_secret` the dispatcher claims nothing and warns, as it does without `project_url`,
-- so no attempt is spent and the service key never reaches pg_net again. Set it once:
--   select vault.create_secret('<same value as JOB_SECRET>', 'job_secret');
-- (the local stack does both at boot).
--
-- private.job_queues gains `worker_path` (default 'jobs'); private.register_queue gains the
-- `worker_path` parameter (last, defaulted, so existing named-argument calls keep working).
-- Access is unchanged: dispatch_jobs for pg_cron (postgres) and service_role, register_queue for
-- migrations only.

alter table private.job_queues
  add column worker_path text not null default 'jobs'
    check (worker_path ~ '^[a-z0-9][a-z0-9_-]{0,62}(/[a-z0-9][a-z0-9_-]{0,62}){0,3}$');

comment on column private.job_queues.worker_path is
  'Route of the worker function the dispatcher POSTs batches to: '
  '<project_url>/functions/v1/<worker_function>/<worker_path>';

-- The dispatcher pg_cron runs per queue: claims up to max_batches batches and POSTs each to
-- <project_url>/functions/v1/<worker_function>/<worker_path> through pg_net with the Vault
-- `job_secret`. Returns the number of requests. Without the Vault secrets `project_url` and
-- `job_secret` it claims nothing and warns, so no attempt is spent. For pg_cron and service_role.
create or replace function private.dispatch_jobs(queue_name text)
returns integer
language plpgsql
security definer
set search_path = ''
as $$
declare
  q private.job_queues;
  project_url text;
  job_secret text;
  batch jsonb;
  batch_length integer;
  sent integer := 0;
begin
  select * into q from private.job_queues jq where jq.name = dispatch_jobs.queue_name;
  if not found then
    raise exception 'Unknown queue: "%"', dispatch_jobs.queue_name using errcode = '22023';
  end if;
  if not q.enabled or not exists (
    select 1
    from private.jobs j
    where j.queue = q.name and j.status <> 'completed' and j.visible_at <= now()
  ) then
    return 0;
  end if;

  select s.decrypted_secret into project_url
  from vault.decrypted_secrets s where s.name = 'project_url';
  select s.decrypted_secret into job_secret
  from vault.decrypted_secrets s where s.name = 'job_secret';
  if project_url is null or job_secret is null then
    raise warning 'Queue "%" not dispatched: vault secrets "project_url" and "job_secret" '
      'are required', q.name;
    return 0;
  end if;

  for i in 1 .. q.max_batches loop
    select jsonb_agg(jsonb_build_object('id', c.id, 'payload', c.payload, 'attempt', c.attempt)),
           count(*)
    into batch, batch_length
    from private.claim_jobs(q.name) c;
    exit when batch_length = 0;

    perform net.http_post(
      url := rtrim(project_url, '/') || '/functions/v1/' || q.worker_function || '/'
        || q.worker_path,
      body := jsonb_build_object('queue', q.name, 'jobs', batch),
      headers := jsonb_build_object(
        'Content-Type', 'application/json',
        'Authorization', 'Bearer ' || job_secret
      ),
      timeout_milliseconds := q.request_timeout_ms
    );
    sent := sent + 1;
    exit when batch_length < q.batch_size;
  end loop;
  return sent;
end;
$$;

drop function private.register_queue(
  text, text, integer, interval, integer, interval, interval, integer, text
);

-- Creates or updates a queue and schedules its dispatcher with pg_cron (job name
-- `dispatch_<queue>`). The worker is POSTed at /functions/v1/<worker_function>/<worker_path>.
-- For migrations (postgres) only.
create function private.register_queue(
  queue_name text,
  worker_function text,
  batch_size integer default 10,
  visibility_timeout interval default interval '5 minutes',
  max_attempts integer default 5,
  backoff_base interval default interval '10 seconds',
  backoff_max interval default interval '1 hour',
  request_timeout_ms integer default 30000,
  schedule text default '5 seconds',
  worker_path text default 'jobs'
)
returns uuid
language plpgsql
security definer
set search_path = ''
as $$
declare
  queue_id uuid;
begin
  insert into private.job_queues as jq (
    name, worker_function, worker_path, batch_size, visibility_timeout, max_attempts,
    backoff_base, backoff_max, request_timeout_ms
  )
  values (
    register_queue.queue_name, register_queue.worker_function, register_queue.worker_path,
    register_queue.batch_size, register_queue.visibility_timeout, register_queue.max_attempts,
    register_queue.backoff_base, register_queue.backoff_max, register_queue.request_timeout_ms
  )
  on conflict (name) do update
  set worker_function = excluded.worker_function,
      worker_path = excluded.worker_path,
      batch_size = excluded.batch_size,
      visibility_timeout = excluded.visibility_timeout,
      max_attempts = excluded.max_attempts,
      backoff_base = excluded.backoff_base,
      backoff_max = excluded.backoff_max,
      request_timeout_ms = excluded.request_timeout_ms
  returning jq.id into queue_id;

  perform cron.schedule(
    'dispatch_' || register_queue.queue_name,
    register_queue.schedule,
    format('select private.dispatch_jobs(%L)', register_queue.queue_name)
  );
  return queue_id;
end;
$$;

revoke all on function private.dispatch_jobs(text) from public, anon, authenticated, service_role;
grant execute on function private.dispatch_jobs(text) to service_role;
revoke all on function private.register_queue(
  text, text, integer, interval, integer, interval, interval, integer, text, text
)
  from public, anon, authenticated, service_role;
