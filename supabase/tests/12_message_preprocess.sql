-- message-preprocess and conversation-summarize: redaction settings under the organization's
-- policies, the summary columns, and the summary lease (one summarizer at a time, only forwards).
-- Cast (tests.create_two_tenants): in "tenant-a", ada is owner, adam admin, mia and bo members;
-- otto owns "tenant-b".
begin;
\ir _helpers.psql
select plan(28);

select tests.create_two_tenants();

insert into public.agents (id, organization_id, owner_id, name, summary_threshold)
values ('a1200000-0000-4000-8000-000000000001', (select id from public.organizations where slug = 'tenant-a'),
        tests.get_supabase_uid('ada'), 'Memory', 3);
insert into public.conversations (id, user_id, agent_id)
values ('c1200000-0000-4000-8000-000000000001', tests.get_supabase_uid('mia'),
        'a1200000-0000-4000-8000-000000000001');
insert into public.messages (conversation_id, role, content)
select 'c1200000-0000-4000-8000-000000000001', 'user', 'Message ' || n from generate_series(1, 4) n;

create temporary table ids on commit drop as
select
  (select id from public.organizations where slug = 'tenant-a') as org_a,
  'c1200000-0000-4000-8000-000000000001'::uuid as chat;
grant select on ids to anon, authenticated, service_role;

-- ---------------------------------------------------------------------------------------------
-- Redaction settings: organizations.settings -> 'redaction'
-- ---------------------------------------------------------------------------------------------
select tests.authenticate_as('adam');
with changed as (
  update public.organizations
  set settings = settings || '{"redaction": {"types": ["email", "card"], "phone_region": "DE"}}'
  where id = (select org_a from ids) returning 1
)
select is(count(*), 1::bigint, 'An admin chooses the redaction types') from changed;

select tests.authenticate_as('ada');
with changed as (
  update public.organizations
  set settings = jsonb_set(settings, '{redaction,enabled}', 'false')
  where id = (select org_a from ids) returning 1
)
select is(count(*), 1::bigint, 'An owner turns redaction off') from changed;

select tests.authenticate_as('mia');
select is(
  (select settings -> 'redaction' from public.organizations where id = (select org_a from ids)),
  '{"types": ["email", "card"], "enabled": false, "phone_region": "DE"}'::jsonb,
  'A member reads the settings message-preprocess applies for her'
);
with changed as (
  update public.organizations set settings = '{"redaction": {"enabled": true}}'
  where id = (select org_a from ids) returning 1
)
select is(count(*), 0::bigint, 'A member cannot change the redaction settings') from changed;

select tests.authenticate_as('otto');
with changed as (
  update public.organizations set settings = '{"redaction": {"enabled": true}}'
  where id = (select org_a from ids) returning 1
)
select is(count(*), 0::bigint, 'An outsider cannot change another organization''s settings') from changed;

select tests.authenticate_as('ada');
select throws_ok(
  $$ update public.organizations set settings = '{"redaction": {"types": ["emails"]}}' where id = (select org_a from ids) $$,
  '23514', null, 'An unknown redaction type is refused'
);
select throws_ok(
  $$ update public.organizations set settings = '{"redaction": {"enabled": "no"}}' where id = (select org_a from ids) $$,
  '23514', null, '"enabled" must be a boolean'
);
select throws_ok(
  $$ update public.organizations set settings = '{"redaction": {"enable": false}}' where id = (select org_a from ids) $$,
  '23514', null, 'A misspelt key is refused rather than ignored'
);
select throws_ok(
  $$ update public.organizations set settings = '{"redaction": {"phone_region": "germany"}}' where id = (select org_a from ids) $$,
  '23514', null, 'A phone region is two upper-case letters'
);
select throws_ok(
  $$ update public.organizations set settings = '{"redaction": ["email"]}' where id = (select org_a from ids) $$,
  '23514', null, 'The redaction settings are an object'
);
select lives_ok(
  $$ update public.organizations set settings = '{"redaction": {"types": []}, "theme": "dark"}' where id = (select org_a from ids) $$,
  'An empty type list and other settings are accepted'
);

-- ---------------------------------------------------------------------------------------------
-- Summary columns: readable by the user, written by service_role only
-- ---------------------------------------------------------------------------------------------
select tests.authenticate_as('mia');
select lives_ok(
  $$ select summary_embedding, summary_model, summarized_at from public.conversations where id = (select chat from ids) $$,
  'The user reads her conversation''s summary state'
);
select throws_ok(
  $$ update public.conversations set summary_model = 'forged' where id = (select chat from ids) $$,
  '42501', null, 'The user cannot write the summary model'
);
select throws_ok(
  $$ select private.claim_conversation_summary((select chat from ids)) $$,
  '42501', null, 'A user cannot take a summary lease'
);

-- ---------------------------------------------------------------------------------------------
-- The lease
-- ---------------------------------------------------------------------------------------------
select tests.authenticate_as_service_role();
create temporary table leases (name text primary key, token uuid) on commit drop;
grant all on leases to service_role;
insert into leases values ('first', private.claim_conversation_summary((select chat from ids)));
select isnt((select token from leases where name = 'first'), null, 'The first summarizer takes the lease');
select is(
  private.claim_conversation_summary((select chat from ids)), null,
  'A second summarizer does not get the lease while it is held'
);
select throws_ok(
  $$ select private.claim_conversation_summary('c1200000-0000-4000-8000-00000000ffff') $$,
  'P0002', null, 'A lease on a missing conversation raises no_data_found'
);
select is(
  private.store_conversation_summary((select chat from ids), gen_random_uuid(), 'forged', 4, null, 'x'),
  false,
  'A summary written without the lease is not stored'
);
select is(
  private.store_conversation_summary(
    (select chat from ids), (select token from leases where name = 'first'),
    'Messages 1 to 3', 3, tests.embedding(1), 'local-summary-v1'
  ),
  true,
  'The lease holder stores its summary'
);
select results_eq(
  $$ select summary, summarized_until, summary_model, summary_embedding is not null, summarized_at is not null
     from public.conversations where id = (select chat from ids) $$,
  $$ values ('Messages 1 to 3'::text, 3, 'local-summary-v1'::text, true, true) $$,
  'The summary, its extent, model and embedding are on the conversation'
);

insert into leases values ('second', private.claim_conversation_summary((select chat from ids)));
select isnt((select token from leases where name = 'second'), null, 'Storing released the lease');
select is(
  private.store_conversation_summary(
    (select chat from ids), (select token from leases where name = 'second'), 'Older', 2, null, 'x'
  ),
  false,
  'A summary never moves backwards'
);
insert into leases values ('third', private.claim_conversation_summary((select chat from ids)));
select is(
  private.store_conversation_summary(
    (select chat from ids), (select token from leases where name = 'third'), 'Too far', 9, null, 'x'
  ),
  false,
  'A summary cannot cover messages that do not exist'
);
insert into leases values ('fourth', private.claim_conversation_summary((select chat from ids)));
select private.release_conversation_summary((select chat from ids), (select token from leases where name = 'fourth'));
select isnt(
  private.claim_conversation_summary((select chat from ids)), null,
  'A released lease can be taken again'
);
select is(
  (select summary from public.conversations where id = (select chat from ids)),
  'Messages 1 to 3',
  'Refused writes left the stored summary as it was'
);

-- ---------------------------------------------------------------------------------------------
-- match_conversation_summaries: the caller's own summaries, best first
-- ---------------------------------------------------------------------------------------------
select tests.reset_role();
insert into public.conversations (id, user_id, agent_id, summary, summary_embedding)
values ('c1200000-0000-4000-8000-000000000002', tests.get_supabase_uid('mia'),
        'a1200000-0000-4000-8000-000000000001', 'About axis two', tests.embedding(2)),
       ('c1200000-0000-4000-8000-000000000003', tests.get_supabase_uid('bo'),
        'a1200000-0000-4000-8000-000000000001', 'Bo''s, about axis one', tests.embedding(1, 7));

select tests.authenticate_as('mia');
select results_eq(
  $$ select id, summary from public.match_conversation_summaries(tests.embedding(1, 3), 5) $$,
  $$ values ('c1200000-0000-4000-8000-000000000001'::uuid, 'Messages 1 to 3'::text),
            ('c1200000-0000-4000-8000-000000000002'::uuid, 'About axis two'::text) $$,
  'A user recalls her own conversations by summary, the closest first, never someone else''s'
);
select throws_ok(
  $$ select * from public.match_conversation_summaries(tests.embedding(1), 0) $$,
  '22023', null, 'match_count is between 1 and 100'
);
select tests.clear_authentication();
select throws_ok(
  $$ select * from public.match_conversation_summaries(tests.embedding(1)) $$,
  '42501', null, 'anon cannot recall summaries'
);

select * from finish();
rollback;
