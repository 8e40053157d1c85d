-- Who writes messages: clients add their own `user` turns while they are members; everything
-- else is the functions' (service_role).
--
-- Before this migration a user could insert `system`, `assistant` and `tool` messages, choose
-- token_estimate, redactions and embedding, and keep writing (and queueing summary jobs) in a
-- conversation with an organization they had been removed from.
--
-- Contracts:
-- * authenticated inserts only (id, conversation_id, role, content, metadata), only role `user`
--   and only into their own conversations (42501 otherwise); token_estimate is then computed by
--   count_message (ceil(characters / 4)), redactions is `[]`, embedding null. service_role
--   writes every column (execute-agent and message-preprocess write assistant/system/tool
--   messages, token counts, redactions and embeddings after checking the user under RLS).
-- * Writing to a conversation requires that its user is a current member of its organization,
--   whoever writes (trigger require_current_member, 42501), so service work cannot write for an
--   ex-member either. Reading and deleting one's own messages stay allowed after removal.
-- * Summary jobs are queued only for conversations whose user is still a member.

drop policy "Users can add messages to their own conversations" on public.messages;

create policy "Users can add their own user turns to their own conversations"
  on public.messages for insert to authenticated
  with check (user_id = (select auth.uid()) and role = 'user');

revoke insert on table public.messages from authenticated;
grant insert (id, conversation_id, role, content, metadata) on table public.messages to authenticated;

-- Trigger function (before insert on messages, after count_message has set user_id): refuses
-- messages in a conversation whose user is no longer a member of its organization.
create function private.require_current_member()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  conversation_organization uuid;
begin
  select c.organization_id into conversation_organization
  from public.conversations c
  where c.id = new.conversation_id;
  if not exists (
    select 1
    from public.organization_members m
    where m.organization_id = conversation_organization and m.user_id = new.user_id
  ) then
    raise exception 'Only current members of organization "%" can write to its conversations',
      conversation_organization
      using errcode = '42501';
  end if;
  return new;
end;
$$;

revoke all on function private.require_current_member()
  from public, anon, authenticated, service_role;

-- Triggers of one kind fire in name order: count_message (sets user_id) runs first.
create trigger require_current_member
  before insert on public.messages
  for each row execute function private.require_current_member();

-- Same contract as before, and only for conversations whose user is still a member.
create or replace function private.enqueue_summary()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  due_conversation uuid;
begin
  for due_conversation in
    select c.id
    from public.conversations c
    join public.agents a on a.id = c.agent_id
    where c.id in (select distinct m.conversation_id from inserted_messages m)
      and c.last_message_seq - c.summarized_until >= a.summary_threshold
      and exists (
        select 1
        from public.organization_members om
        where om.organization_id = c.organization_id and om.user_id = c.user_id
      )
  loop
    perform private.enqueue_job(
      'conversation_summaries',
      jsonb_build_object('conversation_id', due_conversation),
      'conversation:' || due_conversation
    );
  end loop;
  return null;
end;
$$;
