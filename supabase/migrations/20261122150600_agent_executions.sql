-- Agent executions: one row per run of an agent, written by the execute-agent function as
-- service_role (users cannot forge usage figures through the Data API), read by users.
--
-- Contracts:
-- * agent_executions(agent_id, organization_id, user_id, conversation_id, status, input, output,
--   model, prompt_tokens, completion_tokens, total_tokens (generated), latency_ms, error,
--   idempotency_key, started_at, completed_at). organization_id is always the agent's; a
--   conversation, when given, must be the same user's conversation with the same agent.
-- * idempotency_key is unique per user: a retried request finds the first run (23505 on insert).
-- * Status moves forward only: pending -> running -> completed | failed | cancelled (pending may
--   also end directly). Anything else fails with 23514. The trigger stamps started_at when a run
--   leaves pending and completed_at when it ends.
-- * A user reads their own executions; the agent's owner and the organization's owners and
--   admins read all executions of the agent. Only service_role writes.

create table public.agent_executions (
  id uuid primary key default gen_random_uuid(),
  agent_id uuid not null references public.agents (id) on delete cascade,
  organization_id uuid not null references public.organizations (id) on delete cascade,
  user_id uuid not null default auth.uid() references auth.users (id) on delete cascade,
  conversation_id uuid references public.conversations (id) on delete set null,
  status text not null default 'pending'
    check (status in ('pending', 'running', 'completed', 'failed', 'cancelled')),
  input jsonb not null default '{}',
  output jsonb,
  model text,
  prompt_tokens integer check (prompt_tokens >= 0),
  completion_tokens integer check (completion_tokens >= 0),
  total_tokens integer generated always as (
    coalesce(prompt_tokens, 0) + coalesce(completion_tokens, 0)
  ) stored,
  latency_ms integer check (latency_ms >= 0),
  error text,
  idempotency_key text check (char_length(idempotency_key) between 1 and 200),
  started_at timestamptz,
  completed_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (user_id, idempotency_key)
);

create index agent_executions_agent_id_created_at_idx
  on public.agent_executions (agent_id, created_at desc);
create index agent_executions_user_id_created_at_idx
  on public.agent_executions (user_id, created_at desc);
create index agent_executions_organization_id_created_at_idx
  on public.agent_executions (organization_id, created_at desc);
create index agent_executions_conversation_id_idx on public.agent_executions (conversation_id);

create trigger set_updated_at
  before update on public.agent_executions
  for each row execute function private.set_updated_at();

-- Trigger function (before insert or update of agent_id, conversation_id): copies the agent's
-- organization and checks that a linked conversation belongs to the same user and agent.
create function private.set_execution_organization()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  select a.organization_id into new.organization_id
  from public.agents a
  where a.id = new.agent_id;
  if not found then
    raise exception 'Unknown agent: "%"', new.agent_id using errcode = '23503';
  end if;
  if new.conversation_id is not null and not exists (
    select 1
    from public.conversations c
    where c.id = new.conversation_id and c.user_id = new.user_id and c.agent_id = new.agent_id
  ) then
    raise exception 'Conversation "%" is not this user''s conversation with agent "%"',
      new.conversation_id, new.agent_id
      using errcode = '23514';
  end if;
  return new;
end;
$$;

-- Trigger function (before insert or update of status): lets the status only move forward and
-- stamps started_at / completed_at. Ranks: pending 0, running 1, terminal states 2.
create function private.advance_execution_status()
returns trigger
language plpgsql
set search_path = ''
as $$
declare
  ranks constant jsonb :=
    '{"pending": 0, "running": 1, "completed": 2, "failed": 2, "cancelled": 2}';
begin
  if tg_op = 'UPDATE' and new.status is distinct from old.status
    and (ranks ->> new.status)::integer <= (ranks ->> old.status)::integer
  then
    raise exception 'Execution status cannot go from "%" to "%"', old.status, new.status
      using errcode = '23514';
  end if;
  if (ranks ->> new.status)::integer >= 1 and new.started_at is null then
    new.started_at := now();
  end if;
  if (ranks ->> new.status)::integer = 2 and new.completed_at is null then
    new.completed_at := now();
  end if;
  return new;
end;
$$;

revoke all on function private.set_execution_organization()
  from public, anon, authenticated, service_role;
revoke all on function private.advance_execution_status()
  from public, anon, authenticated, service_role;

create trigger set_organization
  before insert or update of agent_id, conversation_id on public.agent_executions
  for each row execute function private.set_execution_organization();

create trigger advance_status
  before insert or update of status on public.agent_executions
  for each row execute function private.advance_execution_status();

alter table public.agent_executions enable row level security;

create policy "Users, agent owners and organization admins can read executions"
  on public.agent_executions for select to authenticated
  using (
    user_id = (select auth.uid())
    or exists (
      select 1
      from public.agents a
      where a.id = agent_executions.agent_id
        and private.can_manage_agent(a.owner_id, a.organization_id)
    )
  );

revoke all on table public.agent_executions from public, anon, authenticated, service_role;
grant select on table public.agent_executions to authenticated;
grant select, insert, update, delete on table public.agent_executions to service_role;
