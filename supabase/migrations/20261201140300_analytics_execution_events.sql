-- Executions record their own performance event, in the database, without a client call.
--
-- Contracts:
-- * When an agent_executions row reaches a final status (completed, failed or cancelled), on
--   insert or update, the trigger record_execution_event inserts one analytics event:
--   source `execution`, name `agent.execution`, the execution's organization and user,
--   occurred_at = completed_at, duration_ms = latency_ms (else completed_at - started_at),
--   tokens = total_tokens, is_error = (status = 'failed'), properties { execution_id, agent_id,
--   model, outcome (the status), prompt_tokens, completion_tokens, tokens }.
-- * client_id `execution:<id>` makes it idempotent: a status can end only once, and a replayed
--   insert is skipped by the dedupe index.

-- Trigger function (after insert or update of status on agent_executions).
create function private.record_execution_event()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  if new.status not in ('completed', 'failed', 'cancelled')
    or (tg_op = 'UPDATE' and old.status in ('completed', 'failed', 'cancelled'))
  then
    return null;
  end if;
  insert into public.analytics_events (
    organization_id, user_id, client_id, source, name, occurred_at, duration_ms, is_error,
    tokens, properties
  )
  values (
    new.organization_id,
    new.user_id,
    'execution:' || new.id,
    'execution',
    'agent.execution',
    coalesce(new.completed_at, now()),
    coalesce(
      new.latency_ms::double precision,
      extract(epoch from new.completed_at - new.started_at) * 1000
    ),
    new.status = 'failed',
    new.total_tokens,
    jsonb_strip_nulls(jsonb_build_object(
      'execution_id', new.id,
      'agent_id', new.agent_id,
      'model', new.model,
      'outcome', new.status,
      'prompt_tokens', new.prompt_tokens,
      'completion_tokens', new.completion_tokens,
      'tokens', new.total_tokens
    ))
  )
  on conflict (organization_id, user_id, client_id) where client_id is not null do nothing;
  return null;
end;
$$;

revoke all on function private.record_execution_event()
  from public, anon, authenticated, service_role;

create trigger record_execution_event
  after insert or update of status on public.agent_executions
  for each row execute function private.record_execution_event();
