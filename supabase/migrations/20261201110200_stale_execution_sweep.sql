-- The sweep for executions nobody will finish: an isolate that crashed, hit its wall-clock limit
-- or lost its database connection mid-run leaves its execution `pending` or `running` forever.
-- Every minute pg_cron fails the ones past a deadline, with the reason in `error`.
--
-- Contracts:
-- * private.fail_stale_executions(pending_for, running_for) marks `failed` every execution still
--   pending longer than pending_for after it was created (default 15 minutes: async jobs retry
--   with backoff) and every one running longer than running_for after it started (default
--   10 minutes, above the edge runtime's wall-clock limit). Returns how many it failed.
-- * Scheduled as cron job `fail_stale_executions`, every minute. For pg_cron (postgres) only.

-- The sweep's scan: only unfinished runs, which are few.
create index agent_executions_unfinished_idx on public.agent_executions (created_at)
  where status in ('pending', 'running');

create function private.fail_stale_executions(
  pending_for interval default interval '15 minutes',
  running_for interval default interval '10 minutes'
)
returns integer
language plpgsql
security definer
set search_path = ''
as $$
declare
  failed_count integer;
begin
  with stale as (
    select e.id, e.status
    from public.agent_executions e
    where (e.status = 'pending' and e.created_at < now() - fail_stale_executions.pending_for)
       or (e.status = 'running'
         and coalesce(e.started_at, e.created_at) < now() - fail_stale_executions.running_for)
    for update skip locked
  ),
  failed as (
    update public.agent_executions e
    set status = 'failed',
        error = case stale.status
          when 'pending' then 'Not started within ' || fail_stale_executions.pending_for::text
          else 'Not finished within ' || fail_stale_executions.running_for::text
        end,
        latency_ms = coalesce(e.latency_ms, greatest(
          0, (extract(epoch from (now() - coalesce(e.started_at, e.created_at))) * 1000)::integer
        ))
    from stale
    where e.id = stale.id
    returning 1
  )
  select count(*) into failed_count from failed;
  return failed_count;
end;
$$;

revoke all on function private.fail_stale_executions(interval, interval)
  from public, anon, authenticated, service_role;

select cron.schedule(
  'fail_stale_executions',
  '* * * * *',
  'select private.fail_stale_executions()'
);
