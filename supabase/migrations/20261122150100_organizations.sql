-- Tenancy: organizations and their members.
--
-- Contracts:
-- * organizations(name, unique slug, plan, settings). A personal organization has
--   personal_user_id set; it is created at sign-up (see *_profiles.sql) and deleted with its user.
-- * organization_members(organization_id, user_id, role) with role owner | admin | member. A user
--   may belong to several organizations, once each.
-- * Members read their organizations and member lists. Owners and admins rename an organization
--   and manage members; only owners make or unmake owners; owners delete a (non-personal)
--   organization. Members may leave. `plan` is for service_role (billing), not for members.
-- * A user who creates an organization becomes its owner (trigger add_creator_as_owner).
-- * An organization never loses its last owner: demoting or removing it fails with SQLSTATE
--   23514, except while the organization itself or the owner's user account is being deleted.
-- * Policy helpers (security definer, search_path ''): private.is_organization_member(org),
--   private.has_organization_role(org, roles) and private.member_organization_ids(roles). They are
--   executable by authenticated because policies run them as the caller; the private schema
--   keeps them out of reach of direct calls.

create table public.organizations (
  id uuid primary key default gen_random_uuid(),
  name text not null check (char_length(name) between 1 and 200),
  slug text not null unique check (slug ~ '^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$'),
  plan text not null default 'free' check (plan in ('free', 'pro', 'enterprise')),
  settings jsonb not null default '{}' check (jsonb_typeof(settings) = 'object'),
  personal_user_id uuid unique references auth.users (id) on delete cascade,
  created_by uuid default auth.uid() references auth.users (id) on delete set null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

create table public.organization_members (
  id uuid primary key default gen_random_uuid(),
  organization_id uuid not null references public.organizations (id) on delete cascade,
  user_id uuid not null references auth.users (id) on delete cascade,
  role text not null default 'member' check (role in ('owner', 'admin', 'member')),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (organization_id, user_id)
);

create index organization_members_user_id_idx on public.organization_members (user_id);
create index organizations_created_by_idx on public.organizations (created_by);

create trigger set_updated_at
  before update on public.organizations
  for each row execute function private.set_updated_at();
create trigger set_updated_at
  before update on public.organization_members
  for each row execute function private.set_updated_at();

-- ---------------------------------------------------------------------------------------------
-- Policy helpers
-- ---------------------------------------------------------------------------------------------

-- Whether the caller (auth.uid()) is a member of the organization. For policies and triggers;
-- security definer so it reads organization_members without recursing into its policies.
create function private.is_organization_member(organization_id uuid)
returns boolean
language sql
stable
security definer
set search_path = ''
as $$
  select exists (
    select 1
    from public.organization_members m
    where m.organization_id = is_organization_member.organization_id
      and m.user_id = (select auth.uid())
  );
$$;

-- Whether the caller has one of `roles` in the organization, e.g. array['owner', 'admin'].
-- For policies and triggers, like is_organization_member.
create function private.has_organization_role(organization_id uuid, roles text[])
returns boolean
language sql
stable
security definer
set search_path = ''
as $$
  select exists (
    select 1
    from public.organization_members m
    where m.organization_id = has_organization_role.organization_id
      and m.user_id = (select auth.uid())
      and m.role = any (has_organization_role.roles)
  );
$$;

-- The organizations the caller belongs to, or only those where the caller has one of `roles`.
-- Policies on large tables use it as
--   organization_id in (select private.member_organization_ids())
-- where the sub-select runs once per statement (a hashed subplan); a per-row helper call would
-- run once per row.
create function private.member_organization_ids(roles text[] default null)
returns setof uuid
language sql
stable
security definer
set search_path = ''
as $$
  select m.organization_id
  from public.organization_members m
  where m.user_id = (select auth.uid())
    and (member_organization_ids.roles is null or m.role = any (member_organization_ids.roles));
$$;

-- Whether the organization has no members yet. Lets its creator read it back in the same
-- INSERT ... RETURNING (the owner row is added by an AFTER trigger, after RETURNING is checked).
create function private.is_unclaimed_organization(organization_id uuid)
returns boolean
language sql
stable
security definer
set search_path = ''
as $$
  select not exists (
    select 1
    from public.organization_members m
    where m.organization_id = is_unclaimed_organization.organization_id
  );
$$;

revoke all on function private.is_organization_member(uuid)
  from public, anon, authenticated, service_role;
revoke all on function private.has_organization_role(uuid, text[])
  from public, anon, authenticated, service_role;
revoke all on function private.member_organization_ids(text[])
  from public, anon, authenticated, service_role;
revoke all on function private.is_unclaimed_organization(uuid)
  from public, anon, authenticated, service_role;
grant execute on function private.is_organization_member(uuid) to authenticated;
grant execute on function private.has_organization_role(uuid, text[]) to authenticated;
grant execute on function private.member_organization_ids(text[]) to authenticated;
grant execute on function private.is_unclaimed_organization(uuid) to authenticated;

-- ---------------------------------------------------------------------------------------------
-- Triggers
-- ---------------------------------------------------------------------------------------------

-- Trigger function: makes the creator of a new organization its owner.
create function private.add_creator_as_owner()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  if new.created_by is not null then
    insert into public.organization_members (organization_id, user_id, role)
    values (new.id, new.created_by, 'owner')
    on conflict (organization_id, user_id) do update set role = 'owner';
  end if;
  return null;
end;
$$;

-- Trigger function: refuses to demote or remove an organization's last owner. Allowed while the
-- organization or the user is being deleted (their rows are already gone when the cascade
-- reaches organization_members). Locks the organization row so that two owners demoting each
-- other concurrently are serialised instead of both succeeding.
create function private.keep_last_owner()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  if old.role <> 'owner' or (tg_op = 'UPDATE' and new.role = 'owner') then
    return case when tg_op = 'DELETE' then old else new end;
  end if;
  perform 1 from public.organizations o where o.id = old.organization_id for update;
  if found and exists (select 1 from auth.users u where u.id = old.user_id)
    and not exists (
      select 1
      from public.organization_members m
      where m.organization_id = old.organization_id
        and m.role = 'owner'
        and m.id <> old.id
    )
  then
    raise exception 'Organization "%" must keep at least one owner', old.organization_id
      using errcode = '23514',
            hint = 'Make another member an owner first.';
  end if;
  return case when tg_op = 'DELETE' then old else new end;
end;
$$;

revoke all on function private.add_creator_as_owner()
  from public, anon, authenticated, service_role;
revoke all on function private.keep_last_owner() from public, anon, authenticated, service_role;

create trigger add_creator_as_owner
  after insert on public.organizations
  for each row execute function private.add_creator_as_owner();

create trigger keep_last_owner
  before update of role or delete on public.organization_members
  for each row execute function private.keep_last_owner();

-- ---------------------------------------------------------------------------------------------
-- Row-level security
-- ---------------------------------------------------------------------------------------------
alter table public.organizations enable row level security;
alter table public.organization_members enable row level security;

create policy "Members can read their organizations"
  on public.organizations for select to authenticated
  using (
    id in (select private.member_organization_ids())
    or (created_by = (select auth.uid()) and private.is_unclaimed_organization(id))
  );

create policy "Users can create organizations they own"
  on public.organizations for insert to authenticated
  with check (created_by = (select auth.uid()) and personal_user_id is null);

create policy "Owners and admins can update their organizations"
  on public.organizations for update to authenticated
  using (private.has_organization_role(id, array['owner', 'admin']))
  with check (private.has_organization_role(id, array['owner', 'admin']));

create policy "Owners can delete their shared organizations"
  on public.organizations for delete to authenticated
  using (personal_user_id is null and private.has_organization_role(id, array['owner']));

create policy "Members can read their organizations' members"
  on public.organization_members for select to authenticated
  using (organization_id in (select private.member_organization_ids()));

create policy "Owners and admins can add members, only owners can add owners"
  on public.organization_members for insert to authenticated
  with check (
    private.has_organization_role(organization_id, array['owner'])
    or (private.has_organization_role(organization_id, array['admin']) and role <> 'owner')
  );

create policy "Owners and admins can change roles, only owners can touch owners"
  on public.organization_members for update to authenticated
  using (
    private.has_organization_role(organization_id, array['owner'])
    or (private.has_organization_role(organization_id, array['admin']) and role <> 'owner')
  )
  with check (
    private.has_organization_role(organization_id, array['owner'])
    or (private.has_organization_role(organization_id, array['admin']) and role <> 'owner')
  );

create policy "Members can leave, owners and admins can remove members"
  on public.organization_members for delete to authenticated
  using (
    user_id = (select auth.uid())
    or private.has_organization_role(organization_id, array['owner'])
    or (private.has_organization_role(organization_id, array['admin']) and role <> 'owner')
  );

-- ---------------------------------------------------------------------------------------------
-- Grants: column lists keep plan, personal_user_id and created_by out of users' hands.
-- ---------------------------------------------------------------------------------------------
revoke all on table public.organizations, public.organization_members
  from public, anon, authenticated, service_role;
grant select, delete on table public.organizations to authenticated;
grant insert (id, name, slug, settings) on table public.organizations to authenticated;
grant update (name, slug, settings) on table public.organizations to authenticated;
grant select, delete on table public.organization_members to authenticated;
grant insert (organization_id, user_id, role) on table public.organization_members to authenticated;
grant update (role) on table public.organization_members to authenticated;
grant select, insert, update, delete on table public.organizations, public.organization_members
  to service_role;
