-- People: one profile per auth user, and what happens at sign-up.
--
-- Contracts:
-- * profiles(id = auth.users.id, display_name, avatar_url), deleted with the user.
-- * on_auth_user_created (after insert on auth.users) creates the profile and a personal
--   organization owned by the new user. display_name comes from the sign-up data
--   (full_name, then name), else the e-mail's local part. The personal organization's slug is
--   `<name>-<first 12 hex digits of the user id>`. The trigger runs inside GoTrue's sign-up
--   transaction: if it fails, sign-up fails ("Database error saving new user"), so it only
--   writes rows it fully controls.
-- * Users read their own profile and the profiles of people who share an organization with
--   them; users update their own display_name and avatar_url. Inserts and deletes happen only
--   through auth.users.

create table public.profiles (
  id uuid primary key references auth.users (id) on delete cascade,
  display_name text not null check (char_length(display_name) between 1 and 200),
  avatar_url text check (char_length(avatar_url) <= 2000),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

create trigger set_updated_at
  before update on public.profiles
  for each row execute function private.set_updated_at();

-- Whether the caller shares at least one organization with the given user. For the profiles
-- policy; a per-row check, fine for the size of a member list.
create function private.shares_organization_with(user_id uuid)
returns boolean
language sql
stable
security definer
set search_path = ''
as $$
  select exists (
    select 1
    from public.organization_members mine
    join public.organization_members theirs on theirs.organization_id = mine.organization_id
    where mine.user_id = (select auth.uid())
      and theirs.user_id = shares_organization_with.user_id
  );
$$;

revoke all on function private.shares_organization_with(uuid)
  from public, anon, authenticated, service_role;
grant execute on function private.shares_organization_with(uuid) to authenticated;

-- Trigger function for on_auth_user_created: creates the profile and the personal organization
-- (whose owner membership add_creator_as_owner adds). Runs as the table owner because GoTrue
-- (supabase_auth_admin) cannot write to public.
create function private.handle_new_user()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  display_name text := left(coalesce(
    nullif(btrim(new.raw_user_meta_data ->> 'full_name'), ''),
    nullif(btrim(new.raw_user_meta_data ->> 'name'), ''),
    nullif(split_part(coalesce(new.email, ''), '@', 1), ''),
    'User'
  ), 200);
  slug_base text :=
    btrim(left(regexp_replace(lower(display_name), '[^a-z0-9]+', '-', 'g'), 40), '-');
begin
  insert into public.profiles (id, display_name, avatar_url)
  values (new.id, display_name, left(new.raw_user_meta_data ->> 'avatar_url', 2000));

  insert into public.organizations (name, slug, personal_user_id, created_by)
  values (
    left(display_name || ' (personal)', 200),
    coalesce(nullif(slug_base, ''), 'user') || '-' || left(replace(new.id::text, '-', ''), 12),
    new.id,
    new.id
  );
  return null;
end;
$$;

revoke all on function private.handle_new_user() from public, anon, authenticated, service_role;

create trigger on_auth_user_created
  after insert on auth.users
  for each row execute function private.handle_new_user();

alter table public.profiles enable row level security;

create policy "Users can read their own and their colleagues' profiles"
  on public.profiles for select to authenticated
  using (id = (select auth.uid()) or private.shares_organization_with(id));

create policy "Users can update their own profile"
  on public.profiles for update to authenticated
  using (id = (select auth.uid()))
  with check (id = (select auth.uid()));

revoke all on table public.profiles from public, anon, authenticated, service_role;
grant select on table public.profiles to authenticated;
grant update (display_name, avatar_url) on table public.profiles to authenticated;
grant select, insert, update, delete on table public.profiles to service_role;
