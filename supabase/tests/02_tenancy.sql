-- Tenancy: sign-up trigger, organizations, members and profiles, per role. Cast: ada owns
-- "tenant-a", adam is its admin, mia a member; otto owns "tenant-b" and is an outsider to A.
begin;
\ir _helpers.psql
select plan(48);

select tests.create_supabase_user('ada', 'ada@example.test', '{"full_name": "Ada Lovelace"}');
select tests.create_supabase_user('adam');
select tests.create_supabase_user('mia');
select tests.create_supabase_user('otto');
select tests.create_organization('tenant-a', 'ada');
select tests.create_organization('tenant-b', 'otto');
select tests.add_member((select id from public.organizations where slug = 'tenant-a'), 'adam', 'admin');
select tests.add_member((select id from public.organizations where slug = 'tenant-a'), 'mia', 'member');

create temporary table ids on commit drop as
select
  (select id from public.organizations where slug = 'tenant-a') as org_a,
  (select id from public.organizations where slug = 'tenant-b') as org_b,
  tests.get_supabase_uid('ada') as ada,
  tests.get_supabase_uid('adam') as adam,
  tests.get_supabase_uid('mia') as mia,
  tests.get_supabase_uid('otto') as otto;
grant select on ids to anon, authenticated, service_role;

-- ---------------------------------------------------------------------------------------------
-- on_auth_user_created
-- ---------------------------------------------------------------------------------------------
select is(
  (select display_name from public.profiles where id = (select ada from ids)),
  'Ada Lovelace',
  'Sign-up creates a profile named from full_name'
);
select is(
  (select display_name from public.profiles where id = (select mia from ids)),
  'mia',
  'Without a name, the profile is named after the e-mail''s local part'
);
select results_eq(
  $$
    select o.slug ~ '^ada-lovelace-[0-9a-f]{12}$', m.role
    from public.organizations o
    join public.organization_members m on m.organization_id = o.id and m.user_id = o.personal_user_id
    where o.personal_user_id = (select ada from ids)
  $$,
  $$ values (true, 'owner') $$,
  'Sign-up creates a personal organization owned by the new user'
);

-- ---------------------------------------------------------------------------------------------
-- anon
-- ---------------------------------------------------------------------------------------------
select tests.clear_authentication();
select throws_ok($$ select * from public.organizations $$, '42501', null, 'anon cannot read organizations');
select throws_ok($$ select * from public.organization_members $$, '42501', null, 'anon cannot read members');
select throws_ok($$ select * from public.profiles $$, '42501', null, 'anon cannot read profiles');
select throws_ok(
  $$ insert into public.organizations (name, slug) values ('Anon', 'anon-org') $$,
  '42501', null, 'anon cannot create organizations'
);

-- ---------------------------------------------------------------------------------------------
-- organizations
-- ---------------------------------------------------------------------------------------------
select tests.authenticate_as('mia');
select set_eq(
  $$ select slug from public.organizations where personal_user_id is null $$,
  array['tenant-a'],
  'A member reads the organizations she belongs to, and no others'
);
with changed as (
  update public.organizations set name = 'Renamed by a member' where id = (select org_a from ids) returning 1
)
select is(count(*), 0::bigint, 'A member cannot rename her organization') from changed;
select throws_ok(
  $$ update public.organizations set plan = 'enterprise' where id = (select org_a from ids) $$,
  '42501', null, 'Users cannot change an organization''s plan'
);

select tests.authenticate_as('otto');
select is_empty(
  $$ select 1 from public.organizations where id = (select org_a from ids) $$,
  'An outsider cannot read another organization'
);
with changed as (
  update public.organizations set name = 'Hijacked' where id = (select org_a from ids) returning 1
)
select is(count(*), 0::bigint, 'An outsider cannot rename another organization') from changed;
with removed as (
  delete from public.organizations where id = (select org_a from ids) returning 1
)
select is(count(*), 0::bigint, 'An outsider cannot delete another organization') from removed;

select tests.authenticate_as('adam');
with changed as (
  update public.organizations set name = 'Tenant A Inc.' where id = (select org_a from ids) returning name
)
select is(max(name), 'Tenant A Inc.', 'An admin renames his organization') from changed;
with removed as (
  delete from public.organizations where id = (select org_a from ids) returning 1
)
select is(count(*), 0::bigint, 'An admin cannot delete his organization') from removed;

select results_eq(
  $$ insert into public.organizations (name, slug) values ('Adam Labs', 'adam-labs') returning slug $$,
  array['adam-labs'],
  'A user creates an organization and reads it back in the same statement'
);
select is(
  (select role from public.organization_members m
   join public.organizations o on o.id = m.organization_id
   where o.slug = 'adam-labs' and m.user_id = (select adam from ids)),
  'owner',
  'The creator of an organization becomes its owner'
);
select throws_ok(
  $$ insert into public.organizations (name, slug, created_by) values ('Spoof', 'spoof', (select ada from ids)) $$,
  '42501', null, 'A user cannot create an organization in someone else''s name'
);

select tests.authenticate_as('ada');
with removed as (
  delete from public.organizations where personal_user_id = (select ada from ids) returning 1
)
select is(count(*), 0::bigint, 'An owner cannot delete her personal organization') from removed;

select tests.authenticate_as_service_role();
with changed as (
  update public.organizations set plan = 'pro' where id = (select org_a from ids) returning plan
)
select is(max(plan), 'pro', 'service_role changes the plan') from changed;
select ok(
  (select count(*) from public.organizations where slug in ('tenant-a', 'tenant-b')) = 2,
  'service_role reads every organization'
);

-- ---------------------------------------------------------------------------------------------
-- profiles
-- ---------------------------------------------------------------------------------------------
select tests.authenticate_as('adam');
select set_eq(
  $$ select display_name from public.profiles $$,
  array['adam', 'Ada Lovelace', 'mia'],
  'A user reads his own profile and his colleagues'', and no one else''s'
);
with changed as (
  update public.profiles set display_name = 'Adam A.' where id = (select adam from ids) returning display_name
)
select is(max(display_name), 'Adam A.', 'A user renames himself') from changed;
with changed as (
  update public.profiles set display_name = 'Mallory' where id = (select ada from ids) returning 1
)
select is(count(*), 0::bigint, 'A user cannot rename a colleague') from changed;
select throws_ok(
  $$ insert into public.profiles (id, display_name) values (gen_random_uuid(), 'Ghost') $$,
  '42501', null, 'Users cannot create profiles'
);
select tests.create_supabase_user('stranger');
select tests.authenticate_as('stranger');
select set_eq(
  $$ select display_name from public.profiles $$,
  array['stranger'],
  'A user with no shared organization reads only his own profile'
);

-- ---------------------------------------------------------------------------------------------
-- organization_members
-- ---------------------------------------------------------------------------------------------
select tests.authenticate_as('mia');
select is(
  (select count(*) from public.organization_members where organization_id = (select org_a from ids)),
  3::bigint,
  'A member reads her organization''s member list'
);
select throws_ok(
  $$ insert into public.organization_members (organization_id, user_id, role)
     values ((select org_a from ids), (select otto from ids), 'member') $$,
  '42501', null, 'A member cannot add members'
);
with changed as (
  update public.organization_members set role = 'admin'
  where organization_id = (select org_a from ids) and user_id = (select mia from ids)
  returning 1
)
select is(count(*), 0::bigint, 'A member cannot promote herself') from changed;

select tests.authenticate_as('otto');
select is_empty(
  $$ select 1 from public.organization_members where organization_id = (select org_a from ids) $$,
  'An outsider cannot read another organization''s members'
);
with removed as (
  delete from public.organization_members where organization_id = (select org_a from ids) returning 1
)
select is(count(*), 0::bigint, 'An outsider cannot remove another organization''s members') from removed;
select throws_ok(
  $$ insert into public.organization_members (organization_id, user_id, role)
     values ((select org_a from ids), (select otto from ids), 'owner') $$,
  '42501', null, 'An outsider cannot add himself to another organization'
);

select tests.authenticate_as('adam');
select throws_ok(
  $$ insert into public.organization_members (organization_id, user_id, role)
     values ((select org_a from ids), (select otto from ids), 'member') $$,
  '42501', null, 'An admin cannot impose a membership (invitations: 10_security.sql)'
);
insert into public.organization_invitations (organization_id, user_id, role)
values ((select org_a from ids), (select otto from ids), 'member');
select tests.authenticate_as('otto');
select lives_ok(
  $$ select public.accept_invitation(i.id) from public.organization_invitations i
     where i.organization_id = (select org_a from ids) $$,
  'An invited user accepts and becomes a member'
);
select tests.authenticate_as('adam');
select throws_ok(
  $$ update public.organization_members set role = 'owner'
     where organization_id = (select org_a from ids) and user_id = (select otto from ids) $$,
  '42501', null, 'An admin cannot make an owner'
);
select throws_ok(
  $$ insert into public.organization_members (organization_id, user_id, role)
     values ((select org_a from ids), (select otto from ids), 'owner') $$,
  '42501', null, 'An admin cannot add an owner'
);
with changed as (
  update public.organization_members set role = 'member'
  where organization_id = (select org_a from ids) and user_id = (select ada from ids)
  returning 1
)
select is(count(*), 0::bigint, 'An admin cannot demote an owner') from changed;
with removed as (
  delete from public.organization_members
  where organization_id = (select org_a from ids) and user_id = (select otto from ids)
  returning 1
)
select is(count(*), 1::bigint, 'An admin removes a member') from removed;

select tests.authenticate_as('mia');
with removed as (
  delete from public.organization_members
  where organization_id = (select org_a from ids) and user_id = (select mia from ids)
  returning 1
)
select is(count(*), 1::bigint, 'A member leaves her organization') from removed;
select is_empty(
  $$ select 1 from public.organizations where id = (select org_a from ids) $$,
  'After leaving, she no longer reads the organization'
);

-- The last owner
select tests.authenticate_as('ada');
select throws_ok(
  $$ update public.organization_members set role = 'admin'
     where organization_id = (select org_a from ids) and user_id = (select ada from ids) $$,
  '23514', null, 'The last owner cannot demote herself'
);
select throws_ok(
  $$ delete from public.organization_members
     where organization_id = (select org_a from ids) and user_id = (select ada from ids) $$,
  '23514', null, 'The last owner cannot leave'
);
select lives_ok(
  $$ update public.organization_members set role = 'owner'
     where organization_id = (select org_a from ids) and user_id = (select adam from ids) $$,
  'An owner makes an admin owner'
);
select lives_ok(
  $$ delete from public.organization_members
     where organization_id = (select org_a from ids) and user_id = (select ada from ids) $$,
  'With another owner, an owner may leave'
);

select tests.authenticate_as('adam');
select lives_ok(
  $$ delete from public.organizations where slug = 'adam-labs' $$,
  'Deleting an organization removes its last owner with it'
);
select tests.reset_role();
select is_empty(
  $$ select 1 from public.organization_members m where not exists
     (select 1 from public.organizations o where o.id = m.organization_id) $$,
  'No members are left behind by a deleted organization'
);
select lives_ok(
  $$ delete from auth.users where id = (select otto from ids) $$,
  'Deleting a user who is the last owner of organizations succeeds'
);
select is_empty(
  $$ select 1 from public.organizations where personal_user_id = (select otto from ids) $$,
  'A deleted user''s personal organization goes with them'
);

select * from finish();
rollback;
