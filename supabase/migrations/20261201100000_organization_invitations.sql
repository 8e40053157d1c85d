-- Invitations: memberships are offered and accepted, never imposed.
--
-- Before this migration an organization's owners and admins inserted any user id into
-- organization_members; the victim's profile became readable to them and the organization's
-- documents appeared in the victim's searches. Now users cannot insert memberships at all; owners
-- and admins invite, and only the invitee turns an invitation into a membership.
--
-- Contracts:
-- * organization_invitations(organization_id, organization_name, user_id | email, role,
--   invited_by, expires_at). Exactly one of user_id and email names the invitee; email is stored
--   lower-cased and matches the invitee's confirmed auth e-mail. organization_name is copied at
--   insert so the invitee, who cannot read the organization yet, knows what they are invited to.
--   One pending invitation per invitee and organization (23505). expires_at defaults to 7 days,
--   at most 30. Inviting a current member fails with 23505; personal organizations take no
--   invitations (23514).
-- * Who does what: owners invite with any role, admins with admin or member (42501 otherwise);
--   invited_by is always the caller. Owners and admins of the organization and the invitee read
--   invitations. The invitee declines (delete, or decline_invitation(id)); owners revoke any,
--   admins the non-owner ones (delete). Nobody updates an invitation.
-- * accept_invitation(invitation_id) -> organization_members: for the invitee only. Adds the
--   caller with the invited role (a current member keeps their role), deletes the invitation and
--   returns the membership. Unknown, foreign or already used ids fail with P0002, an expired
--   invitation with 22023, and one whose inviter can no longer grant the role (removed or
--   demoted since) with 42501. Both RPCs are security definer (they write what the caller may
--   not), in public so the Data API exposes them, with search_path ''.
-- * No bearer token: acceptance is bound to the invitee's identity (user id or confirmed e-mail),
--   so a forwarded or leaked invitation link cannot be used by another account.
-- * organization_members: no INSERT for authenticated any more (the policy and the column grant
--   are gone). Memberships come from add_creator_as_owner, accept_invitation, service_role and
--   the table owner (the seed).

create table public.organization_invitations (
  id uuid primary key default gen_random_uuid(),
  organization_id uuid not null references public.organizations (id) on delete cascade,
  organization_name text not null default '',
  user_id uuid references auth.users (id) on delete cascade,
  email text check (char_length(email) between 3 and 320 and email ~ '^[^@[:space:]]+@[^@[:space:]]+$'),
  role text not null default 'member' check (role in ('owner', 'admin', 'member')),
  invited_by uuid default auth.uid() references auth.users (id) on delete cascade,
  expires_at timestamptz not null default now() + interval '7 days',
  created_at timestamptz not null default now(),
  check (num_nonnulls(user_id, email) = 1),
  check (expires_at > created_at and expires_at <= created_at + interval '30 days')
);

create unique index organization_invitations_user_idx
  on public.organization_invitations (organization_id, user_id) where user_id is not null;
create unique index organization_invitations_email_idx
  on public.organization_invitations (organization_id, email) where email is not null;
create index organization_invitations_invitee_user_idx
  on public.organization_invitations (user_id) where user_id is not null;
create index organization_invitations_invitee_email_idx
  on public.organization_invitations (email) where email is not null;
create index organization_invitations_invited_by_idx
  on public.organization_invitations (invited_by);

-- The caller's confirmed e-mail, lower-cased; null without a user or before confirmation. For the
-- invitation policies and RPCs (an unconfirmed address proves nothing).
create function private.current_user_email()
returns text
language sql
stable
security definer
set search_path = ''
as $$
  select lower(u.email)
  from auth.users u
  where u.id = (select auth.uid())
    and u.email_confirmed_at is not null;
$$;

revoke all on function private.current_user_email() from public, anon, authenticated, service_role;
grant execute on function private.current_user_email() to authenticated;

-- Trigger function (before insert): refuses callers who may not invite, normalises the e-mail,
-- records the organization's name and refuses personal organizations and current members.
create function private.prepare_invitation()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  organization public.organizations;
begin
  -- The insert policy would refuse a caller who may not invite, but only after this trigger:
  -- check first, so that the errors below tell nothing about organizations one cannot manage.
  if (select auth.uid()) is not null
    and not private.has_organization_role(new.organization_id, array['owner', 'admin'])
  then
    raise exception 'Only owners and admins of organization "%" can invite', new.organization_id
      using errcode = '42501';
  end if;
  new.email := lower(btrim(new.email));
  select * into organization from public.organizations o where o.id = new.organization_id;
  if not found then
    raise exception 'Unknown organization: "%"', new.organization_id using errcode = '23503';
  end if;
  if organization.personal_user_id is not null then
    raise exception 'Personal organization "%" takes no invitations', new.organization_id
      using errcode = '23514';
  end if;
  new.organization_name := organization.name;
  if exists (
    select 1
    from public.organization_members m
    left join auth.users u on u.id = m.user_id
    where m.organization_id = new.organization_id
      and (m.user_id = new.user_id or lower(u.email) = new.email)
  ) then
    raise exception 'The invitee is already a member of organization "%"', new.organization_id
      using errcode = '23505';
  end if;
  return new;
end;
$$;

revoke all on function private.prepare_invitation() from public, anon, authenticated, service_role;

create trigger prepare_invitation
  before insert on public.organization_invitations
  for each row execute function private.prepare_invitation();

alter table public.organization_invitations enable row level security;

create policy "Invitees, owners and admins can read invitations"
  on public.organization_invitations for select to authenticated
  using (
    user_id = (select auth.uid())
    or email = (select private.current_user_email())
    or private.has_organization_role(organization_id, array['owner', 'admin'])
  );

create policy "Owners invite with any role, admins without owner"
  on public.organization_invitations for insert to authenticated
  with check (
    invited_by = (select auth.uid())
    and (
      private.has_organization_role(organization_id, array['owner'])
      or (private.has_organization_role(organization_id, array['admin']) and role <> 'owner')
    )
  );

create policy "Invitees decline, owners and admins revoke"
  on public.organization_invitations for delete to authenticated
  using (
    user_id = (select auth.uid())
    or email = (select private.current_user_email())
    or private.has_organization_role(organization_id, array['owner'])
    or (private.has_organization_role(organization_id, array['admin']) and role <> 'owner')
  );

revoke all on table public.organization_invitations from public, anon, authenticated, service_role;
grant select, delete on table public.organization_invitations to authenticated;
grant insert (organization_id, user_id, email, role, expires_at)
  on table public.organization_invitations to authenticated;
grant select, insert, update, delete on table public.organization_invitations to service_role;

-- ---------------------------------------------------------------------------------------------
-- Accept and decline
-- ---------------------------------------------------------------------------------------------

-- Turns the caller's invitation into a membership (see the contracts above).
create function public.accept_invitation(invitation_id uuid)
returns public.organization_members
language plpgsql
security definer
set search_path = ''
as $$
declare
  caller uuid := (select auth.uid());
  invitation public.organization_invitations;
  membership public.organization_members;
begin
  select * into invitation
  from public.organization_invitations i
  where i.id = accept_invitation.invitation_id
    and caller is not null
    and (i.user_id = caller or i.email = private.current_user_email())
  for update;
  if not found then
    raise exception 'Invitation "%" not found', accept_invitation.invitation_id
      using errcode = 'P0002';
  end if;
  if invitation.expires_at <= now() then
    raise exception 'Invitation "%" has expired', invitation.id
      using errcode = '22023', hint = 'Ask for a new invitation.';
  end if;
  if invitation.invited_by is not null and not exists (
    select 1
    from public.organization_members m
    where m.organization_id = invitation.organization_id
      and m.user_id = invitation.invited_by
      and (m.role = 'owner' or (m.role = 'admin' and invitation.role <> 'owner'))
  ) then
    raise exception 'Invitation "%" is no longer valid: its inviter cannot add % members any more',
      invitation.id, invitation.role
      using errcode = '42501';
  end if;

  insert into public.organization_members (organization_id, user_id, role)
  values (invitation.organization_id, caller, invitation.role)
  on conflict (organization_id, user_id) do nothing;
  select * into membership
  from public.organization_members m
  where m.organization_id = invitation.organization_id and m.user_id = caller;
  delete from public.organization_invitations i where i.id = invitation.id;
  return membership;
end;
$$;

-- Deletes the caller's invitation; true when there was one.
create function public.decline_invitation(invitation_id uuid)
returns boolean
language plpgsql
security definer
set search_path = ''
as $$
declare
  caller uuid := (select auth.uid());
begin
  delete from public.organization_invitations i
  where i.id = decline_invitation.invitation_id
    and caller is not null
    and (i.user_id = caller or i.email = private.current_user_email());
  return found;
end;
$$;

revoke all on function public.accept_invitation(uuid) from public, anon, authenticated, service_role;
revoke all on function public.decline_invitation(uuid) from public, anon, authenticated, service_role;
grant execute on function public.accept_invitation(uuid) to authenticated;
grant execute on function public.decline_invitation(uuid) to authenticated;

-- ---------------------------------------------------------------------------------------------
-- organization_members: no direct inserts by users
-- ---------------------------------------------------------------------------------------------
drop policy "Owners and admins can add members, only owners can add owners"
  on public.organization_members;
revoke insert on table public.organization_members from authenticated;
