-- The job queue: background work in SQL (ARCHITECTURE.md, "Background work"). pgmq would do
-- most of it, but PGlite has no pgmq, and we want dedupe keys and a dead-letter table anyway.
--
-- Flow: triggers call private.enqueue_job(queue, payload, dedupe_key, delay) with ids only,
-- never bodies. pg_cron runs private.dispatch_jobs(queue) every few seconds per queue (one cron
-- job per queue, see private.register_queue). The dispatcher claims due jobs and POSTs each
-- batch to the queue's edge function through pg_net:
--
--   POST <project_url>/functions/v1/<worker_function>
--   Authorization: Bearer <service_role_key>      (both from vault.decrypted_secrets)
--   Content-Type: application/json
--   { "queue": "<name>", "jobs": [ { "id": "<uuid>", "payload": { ... }, "attempt": 1 } ] }
--
-- What a worker must do, for every job of the batch, as service_role through SQL:
--   select private.complete_job(id);                   -- done
--   select private.fail_job(id, 'message', attempt);   -- retry later (or dead-letter)
-- optionally with retry_in => interval '30 seconds' (e.g. an upstream Retry-After). A job that is
-- neither completed nor failed before its visibility timeout is claimed again, as after a crash.
-- Jobs can therefore run more than once: workers must be idempotent, and should complete a job
-- whose rows have disappeared meanwhile. The HTTP response is not read; a worker may answer at
-- once and report per job later, within the visibility timeout.
--
-- States: queued -> running -> completed. fail_job returns a running job to queued, visible
-- again after least(backoff_base * 2^(attempts - 1), backoff_max). When its max_attempts-th
-- attempt fails or times out, the job moves to private.dead_jobs with its payload and every
-- error: kept, queryable, re-queueable with private.requeue_dead_job(id). Completed jobs stay
-- until private.purge_completed_jobs(older_than) removes them; nothing else deletes a job.
--
-- Dedupe: at most one unfinished (queued or running) job per (queue, dedupe_key); enqueueing
-- the same key again returns the existing job's id. A running job holds its key too, until it
-- completes or dies.
--
-- Access: anon and authenticated reach nothing here (no usage on schema private, no grants).
-- service_role may read the three tables and execute enqueue/claim/complete/fail/requeue/purge
-- and dispatch. Times use now(): one claim or failure has one clock.

create table private.job_queues (
  id uuid primary key default gen_random_uuid(),
  name text not null unique check (name ~ '^[a-z][a-z0-9_]{0,62}$'),
  worker_function text not null check (worker_function ~ '^[a-z0-9][a-z0-9_-]{0,62}$'),
  batch_size integer not null default 10 check (batch_size between 1 and 100),
  max_batches integer not null default 1 check (max_batches between 1 and 20),
  visibility_timeout interval not null default interval '5 minutes'
    check (visibility_timeout > interval '0'),
  max_attempts integer not null default 5 check (max_attempts between 1 and 50),
  backoff_base interval not null default interval '10 seconds'
    check (backoff_base >= interval '0'),
  backoff_max interval not null default interval '1 hour' check (backoff_max >= backoff_base),
  request_timeout_ms integer not null default 30000
    check (request_timeout_ms between 1000 and 600000),
  enabled boolean not null default true,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

create table private.jobs (
  id uuid primary key default gen_random_uuid(),
  queue text not null references private.job_queues (name) on update cascade,
  payload jsonb not null default '{}' check (jsonb_typeof(payload) = 'object'),
  dedupe_key text check (char_length(dedupe_key) between 1 and 200),
  status text not null default 'queued' check (status in ('queued', 'running', 'completed')),
  attempts integer not null default 0 check (attempts >= 0),
  visible_at timestamptz not null default now(),
  claimed_at timestamptz,
  completed_at timestamptz,
  last_error text,
  errors jsonb not null default '[]' check (jsonb_typeof(errors) = 'array'),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

-- The claim query: due jobs of one queue, oldest visibility first.
create index jobs_due_idx on private.jobs (queue, visible_at) where status <> 'completed';
create unique index jobs_dedupe_key_idx on private.jobs (queue, dedupe_key)
  where dedupe_key is not null and status <> 'completed';
create index jobs_completed_at_idx on private.jobs (completed_at) where status = 'completed';

create table private.dead_jobs (
  id uuid primary key,
  queue text not null references private.job_queues (name) on update cascade,
  payload jsonb not null,
  dedupe_key text,
  attempts integer not null,
  last_error text,
  errors jsonb not null default '[]',
  reason text not null check (reason in ('failed', 'timed_out')),
  enqueued_at timestamptz not null,
  created_at timestamptz not null default now()
);

create index dead_jobs_queue_created_at_idx on private.dead_jobs (queue, created_at desc);

create trigger set_updated_at
  before update on private.job_queues
  for each row execute function private.set_updated_at();
create trigger set_updated_at
  before update on private.jobs
  for each row execute function private.set_updated_at();

-- Adds a job and returns its id; with a dedupe_key already held by an unfinished job of the same
-- queue, returns that job's id instead. For triggers (security definer) and service_role.
-- An unknown queue fails with a foreign-key violation (23503).
create function private.enqueue_job(
  queue_name text,
  payload jsonb,
  dedupe_key text default null,
  delay interval default interval '0'
)
returns uuid
language plpgsql
security definer
set search_path = ''
as $$
#variable_conflict use_column
declare
  job_id uuid;
begin
  insert into private.jobs (queue, payload, dedupe_key, visible_at)
  values (
    enqueue_job.queue_name,
    coalesce(enqueue_job.payload, '{}'),
    enqueue_job.dedupe_key,
    now() + greatest(coalesce(enqueue_job.delay, interval '0'), interval '0')
  )
  on conflict (queue, dedupe_key) where dedupe_key is not null and status <> 'completed'
  do nothing
  returning id into job_id;

  if job_id is null then
    select j.id into job_id
    from private.jobs j
    where j.queue = enqueue_job.queue_name
      and j.dedupe_key = enqueue_job.dedupe_key
      and j.status <> 'completed';
  end if;
  return job_id;
end;
$$;

-- Moves one row of private.jobs to private.dead_jobs. Internal to the queue functions.
create function private.bury_job(job private.jobs, reason text, error text)
returns void
language plpgsql
security definer
set search_path = ''
as $$
begin
  delete from private.jobs j where j.id = (bury_job.job).id;
  insert into private.dead_jobs (
    id, queue, payload, dedupe_key, attempts, last_error, errors, reason, enqueued_at
  )
  values (
    (bury_job.job).id,
    (bury_job.job).queue,
    (bury_job.job).payload,
    (bury_job.job).dedupe_key,
    (bury_job.job).attempts,
    bury_job.error,
    (bury_job.job).errors || jsonb_build_array(jsonb_build_object(
      'attempt', (bury_job.job).attempts, 'error', bury_job.error, 'at', now()
    )),
    bury_job.reason,
    (bury_job.job).created_at
  );
end;
$$;

-- Claims up to batch_size (default: the queue's) due jobs: queued jobs whose delay or backoff
-- has passed, and running jobs whose visibility timeout expired. Each claimed job becomes
-- running, invisible for the queue's visibility timeout, with attempts + 1 (returned as
-- `attempt`). Jobs that already used max_attempts are dead-lettered instead of claimed.
-- `for update skip locked`: concurrent claimers never wait for, nor share, a job.
-- For the dispatcher and service_role.
create function private.claim_jobs(queue_name text, batch_size integer default null)
returns table (id uuid, payload jsonb, attempt integer)
language plpgsql
security definer
set search_path = ''
as $$
declare
  q private.job_queues;
  exhausted private.jobs;
begin
  select * into q from private.job_queues jq where jq.name = claim_jobs.queue_name;
  if not found then
    raise exception 'Unknown queue: "%"', claim_jobs.queue_name using errcode = '22023';
  end if;

  for exhausted in
    select *
    from private.jobs j
    where j.queue = q.name
      and j.status <> 'completed'
      and j.visible_at <= now()
      and j.attempts >= q.max_attempts
    for update skip locked
  loop
    perform private.bury_job(
      exhausted,
      'timed_out',
      'Not completed within the visibility timeout (' || q.visibility_timeout || ')'
    );
  end loop;

  return query
  with due as (
    select j.id
    from private.jobs j
    where j.queue = q.name
      and j.status <> 'completed'
      and j.visible_at <= now()
    order by j.visible_at, j.created_at
    limit greatest(coalesce(claim_jobs.batch_size, q.batch_size), 0)
    for update skip locked
  )
  update private.jobs j
  set status = 'running',
      attempts = j.attempts + 1,
      claimed_at = now(),
      visible_at = now() + q.visibility_timeout
  from due
  where j.id = due.id
  returning j.id, j.payload, j.attempts;
end;
$$;

-- Marks a job completed. Returns false when the job is unknown, already completed or dead.
-- Accepted from any attempt: the work is done, whoever did it. For workers (service_role).
create function private.complete_job(job_id uuid)
returns boolean
language plpgsql
security definer
set search_path = ''
as $$
begin
  update private.jobs j
  set status = 'completed', completed_at = now(), visible_at = now()
  where j.id = complete_job.job_id and j.status <> 'completed';
  return found;
end;
$$;

-- Reports a failed attempt. Returns 'queued' (retried after backoff or retry_in), 'dead'
-- (max_attempts used: moved to private.dead_jobs) or 'ignored' (unknown, not running, or
-- `attempt` is stale because the job was claimed again meanwhile). For workers (service_role).
create function private.fail_job(
  job_id uuid,
  error text,
  attempt integer default null,
  retry_in interval default null
)
returns text
language plpgsql
security definer
set search_path = ''
as $$
declare
  job private.jobs;
  q private.job_queues;
  message text := left(coalesce(nullif(fail_job.error, ''), 'Unknown error'), 2000);
begin
  select * into job from private.jobs j where j.id = fail_job.job_id for update;
  if not found
    or job.status <> 'running'
    or (fail_job.attempt is not null and fail_job.attempt <> job.attempts)
  then
    return 'ignored';
  end if;
  select * into q from private.job_queues jq where jq.name = job.queue;

  if job.attempts >= q.max_attempts then
    perform private.bury_job(job, 'failed', message);
    return 'dead';
  end if;

  update private.jobs j
  set status = 'queued',
      visible_at = now() + case
        when fail_job.retry_in is not null then greatest(fail_job.retry_in, interval '0')
        else least(q.backoff_base * power(2, job.attempts - 1), q.backoff_max)
      end,
      last_error = message,
      errors = j.errors || jsonb_build_array(jsonb_build_object(
        'attempt', job.attempts, 'error', message, 'at', now()
      ))
  where j.id = job.id;
  return 'queued';
end;
$$;

-- Puts a dead job back in its queue with a fresh attempt count, keeping its id and error history.
-- Fails with 23505 (and keeps the dead job) while another unfinished job holds its dedupe key.
-- For operators (service_role).
create function private.requeue_dead_job(job_id uuid)
returns uuid
language plpgsql
security definer
set search_path = ''
as $$
declare
  dead private.dead_jobs;
begin
  delete from private.dead_jobs d where d.id = requeue_dead_job.job_id returning * into dead;
  if not found then
    raise exception 'Unknown dead job: "%"', requeue_dead_job.job_id using errcode = 'P0002';
  end if;
  insert into private.jobs (id, queue, payload, dedupe_key, last_error, errors)
  values (dead.id, dead.queue, dead.payload, dead.dedupe_key, dead.last_error, dead.errors);
  return dead.id;
end;
$$;

-- Deletes completed jobs older than `older_than`; returns how many. For retention (service_role).
create function private.purge_completed_jobs(older_than interval default interval '7 days')
returns bigint
language sql
security definer
set search_path = ''
as $$
  with purged as (
    delete from private.jobs j
    where j.status = 'completed' and j.completed_at < now() - purge_completed_jobs.older_than
    returning 1
  )
  select count(*) from purged;
$$;

-- The dispatcher pg_cron runs per queue: claims up to max_batches batches and POSTs each to
-- <project_url>/functions/v1/<worker_function> through pg_net. Returns the number of requests.
-- Without the vault secrets project_url and service_role_key it claims nothing and warns, so
-- no attempt is spent. For pg_cron (postgres) and service_role.
create function private.dispatch_jobs(queue_name text)
returns integer
language plpgsql
security definer
set search_path = ''
as $$
declare
  q private.job_queues;
  project_url text;
  service_role_key text;
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
  select s.decrypted_secret into service_role_key
  from vault.decrypted_secrets s where s.name = 'service_role_key';
  if project_url is null or service_role_key is null then
    raise warning 'Queue "%" not dispatched: vault secrets "project_url" and "service_role_key" '
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
      url := rtrim(project_url, '/') || '/functions/v1/' || q.worker_function,
      body := jsonb_build_object('queue', q.name, 'jobs', batch),
      headers := jsonb_build_object(
        'Content-Type', 'application/json',
        'Authorization', 'Bearer ' || service_role_key
      ),
      timeout_milliseconds := q.request_timeout_ms
    );
    sent := sent + 1;
    exit when batch_length < q.batch_size;
  end loop;
  return sent;
end;
$$;

-- Creates or updates a queue and schedules its dispatcher with pg_cron (job name
-- `dispatch_<queue>`). For migrations (postgres) only.
create function private.register_queue(
  queue_name text,
  worker_function text,
  batch_size integer default 10,
  visibility_timeout interval default interval '5 minutes',
  max_attempts integer default 5,
  backoff_base interval default interval '10 seconds',
  backoff_max interval default interval '1 hour',
  request_timeout_ms integer default 30000,
  schedule text default '5 seconds'
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
    name, worker_function, batch_size, visibility_timeout, max_attempts, backoff_base,
    backoff_max, request_timeout_ms
  )
  values (
    register_queue.queue_name, register_queue.worker_function, register_queue.batch_size,
    register_queue.visibility_timeout, register_queue.max_attempts, register_queue.backoff_base,
    register_queue.backoff_max, register_queue.request_timeout_ms
  )
  on conflict (name) do update
  set worker_function = excluded.worker_function,
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

revoke all on function private.enqueue_job(text, jsonb, text, interval)
  from public, anon, authenticated, service_role;
revoke all on function private.bury_job(private.jobs, text, text)
  from public, anon, authenticated, service_role;
revoke all on function private.claim_jobs(text, integer)
  from public, anon, authenticated, service_role;
revoke all on function private.complete_job(uuid) from public, anon, authenticated, service_role;
revoke all on function private.fail_job(uuid, text, integer, interval)
  from public, anon, authenticated, service_role;
revoke all on function private.requeue_dead_job(uuid)
  from public, anon, authenticated, service_role;
revoke all on function private.purge_completed_jobs(interval)
  from public, anon, authenticated, service_role;
revoke all on function private.dispatch_jobs(text) from public, anon, authenticated, service_role;
revoke all on function private.register_queue(
  text, text, integer, interval, integer, interval, interval, integer, text
)
  from public, anon, authenticated, service_role;

grant execute on function private.enqueue_job(text, jsonb, text, interval) to service_role;
grant execute on function private.claim_jobs(text, integer) to service_role;
grant execute on function private.complete_job(uuid) to service_role;
grant execute on function private.fail_job(uuid, text, integer, interval) to service_role;
grant execute on function private.requeue_dead_job(uuid) to service_role;
grant execute on function private.purge_completed_jobs(interval) to service_role;
grant execute on function private.dispatch_jobs(text) to service_role;

revoke all on table private.job_queues, private.jobs, private.dead_jobs
  from public, anon, authenticated, service_role;
grant select on table private.job_queues, private.jobs, private.dead_jobs to service_role;
