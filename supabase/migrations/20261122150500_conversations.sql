-- Conversations and their messages, private to the user who holds them.
--
-- Contracts:
-- * conversations(user_id, agent_id, organization_id, title, status active | archived, summary,
--   summarized_until, message_count, last_message_seq, last_message_at, metadata).
--   organization_id is always the agent's (set by trigger). A user may start a conversation
--   with an agent of an organization they belong to.
-- * messages(conversation_id, user_id, seq, role user | assistant | system | tool, content,
--   token_estimate, redactions, metadata, embedding halfvec(1536)). user_id is the
--   conversation's user and seq the message's 1-based position in the conversation, both set by
--   trigger under a lock on the conversation row, so seq order is commit order.
--   token_estimate defaults to ceil(characters / 4). Messages are immutable for users (insert,
--   read, delete); the writer sets `embedding` at insert, service_role may fill it later.
-- * Rolling summary: `summary` covers messages with seq <= summarized_until. When
--   last_message_seq - summarized_until reaches the agent's summary_threshold, a
--   `conversation_summaries` job { "conversation_id" } is enqueued with dedupe key
--   `conversation:<id>`, so at most one is pending per conversation. The worker
--   (conversation-summarize, service_role) writes summary and summarized_until.
-- * Users read, create, rename, archive and delete only their own conversations and messages.

create table public.conversations (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null default auth.uid() references auth.users (id) on delete cascade,
  agent_id uuid not null references public.agents (id) on delete cascade,
  organization_id uuid not null references public.organizations (id) on delete cascade,
  title text check (char_length(title) <= 200),
  status text not null default 'active' check (status in ('active', 'archived')),
  summary text,
  summarized_until integer not null default 0 check (summarized_until >= 0),
  message_count integer not null default 0 check (message_count >= 0),
  last_message_seq integer not null default 0 check (last_message_seq >= 0),
  last_message_at timestamptz,
  metadata jsonb not null default '{}' check (jsonb_typeof(metadata) = 'object'),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  check (summarized_until <= last_message_seq)
);

create index conversations_user_id_last_message_at_idx
  on public.conversations (user_id, last_message_at desc nulls last);
create index conversations_agent_id_idx on public.conversations (agent_id);
create index conversations_organization_id_idx on public.conversations (organization_id);

create table public.messages (
  id uuid primary key default gen_random_uuid(),
  conversation_id uuid not null references public.conversations (id) on delete cascade,
  user_id uuid not null references auth.users (id) on delete cascade,
  seq integer not null check (seq >= 1),
  role text not null check (role in ('user', 'assistant', 'system', 'tool')),
  content text not null check (char_length(content) <= 100000),
  token_estimate integer not null check (token_estimate >= 0),
  redactions jsonb not null default '[]' check (jsonb_typeof(redactions) = 'array'),
  metadata jsonb not null default '{}' check (jsonb_typeof(metadata) = 'object'),
  embedding extensions.halfvec(1536),
  created_at timestamptz not null default now(),
  unique (conversation_id, seq)
);

create index messages_user_id_idx on public.messages (user_id);
create index messages_embedding_idx on public.messages
  using hnsw (embedding extensions.halfvec_cosine_ops);

create trigger set_updated_at
  before update on public.conversations
  for each row execute function private.set_updated_at();

-- Trigger function (before insert or update of agent_id): copies the agent's organization, so a
-- conversation is always in its agent's organization. Security definer to see the agent even
-- when the caller may not; the insert policy then decides.
create function private.set_conversation_organization()
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
  return new;
end;
$$;

-- Trigger function (before insert on messages): numbers the message and bumps the conversation's
-- counters in one update, which also locks the conversation row until commit: concurrent
-- inserts into one conversation are serialised, so seq follows commit order.
create function private.count_message()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  update public.conversations c
  set message_count = c.message_count + 1,
      last_message_seq = c.last_message_seq + 1,
      last_message_at = now()
  where c.id = new.conversation_id
  returning c.last_message_seq, c.user_id into new.seq, new.user_id;
  if not found then
    raise exception 'Unknown conversation: "%"', new.conversation_id using errcode = '23503';
  end if;
  new.token_estimate := coalesce(new.token_estimate, ceil(char_length(new.content) / 4.0)::integer);
  return new;
end;
$$;

-- Trigger function (after delete on messages): keeps message_count equal to the rows left.
create function private.uncount_message()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  update public.conversations c
  set message_count = greatest(c.message_count - 1, 0)
  where c.id = old.conversation_id;
  return null;
end;
$$;

-- Trigger function (after insert on messages, per statement): enqueues a summary job for each
-- conversation whose unsummarised messages reached its agent's summary_threshold.
create function private.enqueue_summary()
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

revoke all on function private.set_conversation_organization()
  from public, anon, authenticated, service_role;
revoke all on function private.count_message() from public, anon, authenticated, service_role;
revoke all on function private.uncount_message() from public, anon, authenticated, service_role;
revoke all on function private.enqueue_summary() from public, anon, authenticated, service_role;

create trigger set_organization
  before insert or update of agent_id on public.conversations
  for each row execute function private.set_conversation_organization();

create trigger count_message
  before insert on public.messages
  for each row execute function private.count_message();

create trigger uncount_message
  after delete on public.messages
  for each row execute function private.uncount_message();

create trigger enqueue_summary
  after insert on public.messages
  referencing new table as inserted_messages
  for each statement execute function private.enqueue_summary();

alter table public.conversations enable row level security;
alter table public.messages enable row level security;

create policy "Users can read their own conversations"
  on public.conversations for select to authenticated
  using (user_id = (select auth.uid()));

create policy "Users can start conversations with their organizations' agents"
  on public.conversations for insert to authenticated
  with check (
    user_id = (select auth.uid())
    and organization_id in (select private.member_organization_ids())
  );

create policy "Users can update their own conversations"
  on public.conversations for update to authenticated
  using (user_id = (select auth.uid()))
  with check (user_id = (select auth.uid()));

create policy "Users can delete their own conversations"
  on public.conversations for delete to authenticated
  using (user_id = (select auth.uid()));

create policy "Users can read their own messages"
  on public.messages for select to authenticated
  using (user_id = (select auth.uid()));

create policy "Users can add messages to their own conversations"
  on public.messages for insert to authenticated
  with check (user_id = (select auth.uid()));

create policy "Users can delete their own messages"
  on public.messages for delete to authenticated
  using (user_id = (select auth.uid()));

revoke all on table public.conversations, public.messages
  from public, anon, authenticated, service_role;
grant select, delete on table public.conversations to authenticated;
grant insert (id, agent_id, title, status, metadata) on table public.conversations to authenticated;
grant update (title, status, metadata) on table public.conversations to authenticated;
grant select, delete on table public.messages to authenticated;
grant insert (
  id, conversation_id, role, content, token_estimate, redactions, metadata, embedding
) on table public.messages to authenticated;
grant select, insert, update, delete on table public.conversations, public.messages
  to service_role;
