-- Activities: an append-only audit log, written only by triggers on organizations,
-- organization_members, agents and agent_executions.
--
-- Contracts:
-- * activities(organization_id, user_id, action, resource_type, resource_id, details).
--   user_id is who acted: auth.uid(), else (service work without a user) the row's created_by
--   or, for executions, the user the run was for. action is `<resource_type>.<verb>` with verb
--   created | updated | deleted, except executions, which log `agent_execution.created` and then
--   one `agent_execution.<status>` per status change. details holds identifying fields (name,
--   slug, role, status, user_id, agent_id) and, for updates, the changed columns plus from/to for
--   role, status and name. Never prompts, outputs or embeddings.
-- * No foreign keys: the log outlives what it describes.
-- * Users read their own activities; organization owners and admins read their organization's.
--   Nobody inserts, updates or deletes through the API; updates are refused even to the owner.
--   Retention (deleting old rows) is left to the table owner.

create table public.activities (
  id uuid primary key default gen_random_uuid(),
  organization_id uuid,
  user_id uuid,
  action text not null check (action ~ '^[a-z_]+\.[a-z_]+$'),
  resource_type text not null,
  resource_id uuid,
  details jsonb not null default '{}' check (jsonb_typeof(details) = 'object'),
  created_at timestamptz not null default now()
);

create index activities_organization_id_created_at_idx
  on public.activities (organization_id, created_at desc);
create index activities_user_id_created_at_idx on public.activities (user_id, created_at desc);
create index activities_resource_idx on public.activities (resource_type, resource_id);

-- Trigger function: refuses updates, whoever asks. The log is append-only.
create function private.refuse_activity_update()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  raise exception 'Activities are append-only' using errcode = '42501';
end;
$$;

-- Trigger function behind every `record_activity` trigger. tg_argv[0] is the resource type,
-- tg_argv[1] (optional) the column naming the acting user when auth.uid() is null.
-- Updates that change nothing but updated_at or embeddings are not logged.
create function private.record_activity()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  resource_type text := tg_argv[0];
  actor_column text := tg_argv[1];
  new_row jsonb := case when tg_op <> 'DELETE' then to_jsonb(new) end;
  old_row jsonb := case when tg_op <> 'INSERT' then to_jsonb(old) end;
  subject jsonb := coalesce(new_row, old_row);
  verb text :=
    case tg_op when 'INSERT' then 'created' when 'UPDATE' then 'updated' else 'deleted' end;
  details jsonb;
  changed text[];
begin
  details := jsonb_strip_nulls(jsonb_build_object(
    'name', subject -> 'name',
    'slug', subject -> 'slug',
    'role', subject -> 'role',
    'status', subject -> 'status',
    'user_id', subject -> 'user_id',
    'agent_id', subject -> 'agent_id'
  ));

  if tg_op = 'UPDATE' then
    select array_agg(n.key order by n.key) into changed
    from jsonb_each(new_row) n
    where n.value is distinct from old_row -> n.key
      and n.key not in ('updated_at', 'description_embedding', 'embedding');
    if changed is null then
      return null;
    end if;
    details := details || jsonb_build_object('changed', to_jsonb(changed));
    details := details || coalesce((
      select jsonb_object_agg(c, jsonb_build_object('from', old_row -> c, 'to', new_row -> c))
      from unnest(changed) c
      where c in ('role', 'status', 'name')
    ), '{}');
    if resource_type = 'agent_execution' then
      if not 'status' = any (changed) then
        return null;
      end if;
      verb := new_row ->> 'status';
    end if;
  end if;

  insert into public.activities (
    organization_id, user_id, action, resource_type, resource_id, details
  )
  values (
    case when resource_type = 'organization'
      then (subject ->> 'id')::uuid
      else (subject ->> 'organization_id')::uuid
    end,
    coalesce((select auth.uid()), (subject ->> actor_column)::uuid),
    resource_type || '.' || verb,
    resource_type,
    (subject ->> 'id')::uuid,
    details
  );
  return null;
end;
$$;

revoke all on function private.refuse_activity_update()
  from public, anon, authenticated, service_role;
revoke all on function private.record_activity() from public, anon, authenticated, service_role;

create trigger refuse_update
  before update on public.activities
  for each row execute function private.refuse_activity_update();

create trigger record_activity
  after insert or update or delete on public.organizations
  for each row execute function private.record_activity('organization', 'created_by');
create trigger record_activity
  after insert or update or delete on public.organization_members
  for each row execute function private.record_activity('organization_member');
create trigger record_activity
  after insert or update or delete on public.agents
  for each row execute function private.record_activity('agent');
create trigger record_activity
  after insert or update or delete on public.agent_executions
  for each row execute function private.record_activity('agent_execution', 'user_id');

alter table public.activities enable row level security;

create policy "Users can read their own activities, admins their organization's"
  on public.activities for select to authenticated
  using (
    user_id = (select auth.uid())
    or organization_id in (select private.member_organization_ids(array['owner', 'admin']))
  );

revoke all on table public.activities from public, anon, authenticated, service_role;
grant select on table public.activities to authenticated, service_role;
