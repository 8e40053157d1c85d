-- Agents: an organization's configured assistants.
--
-- Contracts:
-- * agents(organization_id, owner_id, name, description, type assistant | rag | workflow,
--   status active | inactive | archived, system_prompt, model, temperature, max_tokens,
--   summary_threshold, description_embedding halfvec(1536), metadata).
--   summary_threshold: a conversation is summarised when this many messages have arrived since
--   its last summary (see *_conversations.sql).
-- * Members read their organization's agents and create agents they own. The agent's owner (while
--   still a member) and the organization's owners and admins update and delete it.
--   organization_id and owner_id cannot be changed by users.
-- * description_embedding is written by the embedding worker: inserting an agent, or changing
--   its description, clears a stale embedding and enqueues an `agent_embeddings` job
--   { "agent_id" } (dedupe key `agent:<id>`) for file-processor. find_similar_agents() skips
--   agents without one.

create table public.agents (
  id uuid primary key default gen_random_uuid(),
  organization_id uuid not null references public.organizations (id) on delete cascade,
  owner_id uuid default auth.uid() references auth.users (id) on delete set null,
  name text not null check (char_length(name) between 1 and 100),
  description text not null default '' check (char_length(description) <= 2000),
  type text not null default 'assistant' check (type in ('assistant', 'rag', 'workflow')),
  status text not null default 'active' check (status in ('active', 'inactive', 'archived')),
  system_prompt text not null default '' check (char_length(system_prompt) <= 20000),
  model text not null default 'gpt-4o-mini' check (char_length(model) between 1 and 100),
  temperature numeric(3, 2) not null default 0.7 check (temperature between 0 and 2),
  max_tokens integer not null default 1024 check (max_tokens between 1 and 32768),
  summary_threshold integer not null default 20 check (summary_threshold between 2 and 1000),
  description_embedding extensions.halfvec(1536),
  metadata jsonb not null default '{}' check (jsonb_typeof(metadata) = 'object'),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

create index agents_organization_id_idx on public.agents (organization_id);
create index agents_owner_id_idx on public.agents (owner_id);
create index agents_description_embedding_idx on public.agents
  using hnsw (description_embedding extensions.halfvec_cosine_ops);

create trigger set_updated_at
  before update on public.agents
  for each row execute function private.set_updated_at();

-- Whether the caller may change the agent: its owner while a member, or an organization owner
-- or admin. For policies on agents and their executions.
create function private.can_manage_agent(agent_owner_id uuid, organization_id uuid)
returns boolean
language sql
stable
security definer
set search_path = ''
as $$
  select (
    can_manage_agent.agent_owner_id = (select auth.uid())
    and private.is_organization_member(can_manage_agent.organization_id)
  ) or private.has_organization_role(can_manage_agent.organization_id, array['owner', 'admin']);
$$;

revoke all on function private.can_manage_agent(uuid, uuid)
  from public, anon, authenticated, service_role;
grant execute on function private.can_manage_agent(uuid, uuid) to authenticated;

-- Trigger function (before update of description): drops an embedding that no longer matches
-- the description, unless the same statement writes a new one.
create function private.clear_stale_agent_embedding()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  if new.description is distinct from old.description
    -- Compared as text: halfvec's = lives in schema extensions, off this search_path.
    and new.description_embedding::text is not distinct from old.description_embedding::text
  then
    new.description_embedding := null;
  end if;
  return new;
end;
$$;

-- Trigger function (after insert or update): asks the embedding worker for a description
-- embedding when one is missing and there is a description to embed.
create function private.enqueue_agent_embedding()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  if new.description_embedding is null and new.description <> '' then
    perform private.enqueue_job(
      'agent_embeddings',
      jsonb_build_object('agent_id', new.id),
      'agent:' || new.id
    );
  end if;
  return null;
end;
$$;

revoke all on function private.clear_stale_agent_embedding()
  from public, anon, authenticated, service_role;
revoke all on function private.enqueue_agent_embedding()
  from public, anon, authenticated, service_role;

create trigger clear_stale_embedding
  before update of description on public.agents
  for each row execute function private.clear_stale_agent_embedding();

create trigger enqueue_embedding
  after insert or update of description on public.agents
  for each row execute function private.enqueue_agent_embedding();

alter table public.agents enable row level security;

create policy "Members can read their organizations' agents"
  on public.agents for select to authenticated
  using (organization_id in (select private.member_organization_ids()));

create policy "Members can create agents they own"
  on public.agents for insert to authenticated
  with check (
    owner_id = (select auth.uid())
    and organization_id in (select private.member_organization_ids())
  );

create policy "Agent owners and organization admins can update agents"
  on public.agents for update to authenticated
  using (private.can_manage_agent(owner_id, organization_id))
  with check (private.can_manage_agent(owner_id, organization_id));

create policy "Agent owners and organization admins can delete agents"
  on public.agents for delete to authenticated
  using (private.can_manage_agent(owner_id, organization_id));

revoke all on table public.agents from public, anon, authenticated, service_role;
grant select, delete on table public.agents to authenticated;
grant insert (
  id, organization_id, name, description, type, status, system_prompt, model, temperature,
  max_tokens, summary_threshold, metadata
) on table public.agents to authenticated;
grant update (
  name, description, type, status, system_prompt, model, temperature, max_tokens,
  summary_threshold, metadata
) on table public.agents to authenticated;
grant select, insert, update, delete on table public.agents to service_role;
