-- Executions only for members: agent_executions refuses a run for a user who is not a member of
-- the agent's organization.
--
-- Contracts (in addition to *_agent_executions.sql):
-- * On insert, and whenever agent_id or user_id changes, the run's user must be a member of the
--   agent's organization, whoever writes (service_role included): 42501 otherwise.
-- * Other updates (status, usage, a conversation set null by its deletion) are not re-checked,
--   so a run that started before the user's removal can still be finished and recorded.

create or replace function private.set_execution_organization()
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
  if (tg_op = 'INSERT' or new.agent_id is distinct from old.agent_id
      or new.user_id is distinct from old.user_id)
    and not exists (
      select 1
      from public.organization_members m
      where m.organization_id = new.organization_id and m.user_id = new.user_id
    )
  then
    raise exception 'User "%" is not a member of organization "%" of agent "%"',
      new.user_id, new.organization_id, new.agent_id
      using errcode = '42501';
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

drop trigger set_organization on public.agent_executions;
create trigger set_organization
  before insert or update of agent_id, conversation_id, user_id on public.agent_executions
  for each row execute function private.set_execution_organization();
