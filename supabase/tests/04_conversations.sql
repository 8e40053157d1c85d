-- Conversations and messages: private to their user, counters, numbering and the summary job.
-- Cast: in "tenant-a", ada is owner and mia a member; otto owns "tenant-b".
begin;
\ir _helpers.psql
select plan(36);

select tests.create_supabase_user('ada');
select tests.create_supabase_user('mia');
select tests.create_supabase_user('otto');
select tests.create_organization('tenant-a', 'ada');
select tests.create_organization('tenant-b', 'otto');
select tests.add_member((select id from public.organizations where slug = 'tenant-a'), 'mia', 'member');

insert into public.agents (id, organization_id, owner_id, name, summary_threshold)
values
  ('a0000000-0000-4000-8000-000000000001', (select id from public.organizations where slug = 'tenant-a'),
   tests.get_supabase_uid('ada'), 'Helper', 3),
  ('a0000000-0000-4000-8000-000000000002', (select id from public.organizations where slug = 'tenant-b'),
   tests.get_supabase_uid('otto'), 'Other helper', 3);

create temporary table ids on commit drop as
select
  (select id from public.organizations where slug = 'tenant-a') as org_a,
  'a0000000-0000-4000-8000-000000000001'::uuid as agent_a,
  'a0000000-0000-4000-8000-000000000002'::uuid as agent_b,
  'c0000000-0000-4000-8000-000000000001'::uuid as chat,
  tests.get_supabase_uid('ada') as ada,
  tests.get_supabase_uid('mia') as mia;
grant select on ids to anon, authenticated, service_role;

create temporary view summary_jobs as
select j.* from private.jobs j
where j.queue = 'conversation_summaries' and j.payload ->> 'conversation_id' = 'c0000000-0000-4000-8000-000000000001';
grant select on summary_jobs to service_role;

-- ---------------------------------------------------------------------------------------------
-- conversations
-- ---------------------------------------------------------------------------------------------
select tests.clear_authentication();
select throws_ok($$ select * from public.conversations $$, '42501', null, 'anon cannot read conversations');
select throws_ok($$ select * from public.messages $$, '42501', null, 'anon cannot read messages');
select throws_ok(
  $$ insert into public.conversations (agent_id) values ((select agent_a from ids)) $$,
  '42501', null, 'anon cannot start conversations'
);

select tests.authenticate_as('mia');
select results_eq(
  $$ insert into public.conversations (id, agent_id, title) values ((select chat from ids), (select agent_a from ids), 'Hello')
     returning user_id, organization_id, message_count $$,
  $$ select mia, org_a, 0 from ids $$,
  'A member starts a conversation with her organization''s agent; it is hers and in its organization'
);
select throws_ok(
  $$ insert into public.conversations (agent_id) values ((select agent_b from ids)) $$,
  '42501',
  'new row violates row-level security policy for table "conversations"',
  'A user cannot talk to another organization''s agent'
);
select throws_ok(
  $$ insert into public.conversations (agent_id, user_id) values ((select agent_a from ids), (select ada from ids)) $$,
  '42501', null, 'A user cannot start a conversation in someone else''s name'
);
select throws_ok(
  $$ update public.conversations set summary = 'forged' where id = (select chat from ids) $$,
  '42501', null, 'A user cannot write the summary'
);
with changed as (
  update public.conversations set title = 'Renamed' where id = (select chat from ids) returning 1
)
select is(count(*), 1::bigint, 'A user renames her conversation') from changed;

-- ---------------------------------------------------------------------------------------------
-- messages
-- ---------------------------------------------------------------------------------------------
select results_eq(
  $$ insert into public.messages (conversation_id, role, content)
     values ((select chat from ids), 'user', 'Hi there, I need help with my order')
     returning seq, user_id, token_estimate $$,
  $$ select * from (values (1, (select mia from ids), 9)) v $$,
  'Messages are numbered in order, owned by the conversation''s user, with a token estimate'
);
-- Assistant turns are written by the functions as service_role (10_security.sql: clients may not).
select tests.authenticate_as_service_role();
select results_eq(
  $$ insert into public.messages (conversation_id, role, content)
     values ((select chat from ids), 'assistant', 'Sure, what is the order number?')
     returning seq, user_id, token_estimate $$,
  $$ select * from (values (2, (select mia from ids), 8)) v $$,
  'The next message continues the numbering, whoever writes it'
);
select tests.authenticate_as('mia');
select results_eq(
  $$ select message_count, last_message_seq, last_message_at is not null from public.conversations where id = (select chat from ids) $$,
  $$ values (2, 2, true) $$,
  'The conversation counts its messages'
);
select tests.reset_role();
select is_empty($$ select 1 from summary_jobs $$, 'Below the threshold, no summary job');
select tests.authenticate_as('mia');
select throws_ok(
  $$ update public.messages set content = 'edited' where conversation_id = (select chat from ids) $$,
  '42501', null, 'Messages cannot be edited'
);
select throws_ok(
  $$ insert into public.messages (conversation_id, role, content, user_id) values ((select chat from ids), 'user', 'x', (select ada from ids)) $$,
  '42501', null, 'A message cannot be attributed to another user'
);
select tests.authenticate_as_service_role();
select throws_ok(
  $$ insert into public.messages (conversation_id, role, content) values ((select chat from ids), 'narrator', 'x') $$,
  '23514', null, 'Roles are user, assistant, system or tool'
);

select tests.authenticate_as('ada');
select is_empty($$ select 1 from public.conversations where id = (select chat from ids) $$,
  'A colleague cannot read someone else''s conversation');
select is_empty($$ select 1 from public.messages where conversation_id = (select chat from ids) $$,
  'A colleague cannot read someone else''s messages');
select throws_ok(
  $$ insert into public.messages (conversation_id, role, content) values ((select chat from ids), 'user', 'sneaky') $$,
  '42501',
  'new row violates row-level security policy for table "messages"',
  'A colleague cannot add messages to someone else''s conversation'
);
with changed as (
  update public.conversations set title = 'Mine now' where id = (select chat from ids) returning 1
)
select is(count(*), 0::bigint, 'A colleague cannot rename someone else''s conversation') from changed;
with removed as (
  delete from public.messages where conversation_id = (select chat from ids) returning 1
)
select is(count(*), 0::bigint, 'A colleague cannot delete someone else''s messages') from removed;
with removed as (
  delete from public.conversations where id = (select chat from ids) returning 1
)
select is(count(*), 0::bigint, 'A colleague cannot delete someone else''s conversation') from removed;

select tests.authenticate_as('otto');
select is_empty($$ select 1 from public.conversations where organization_id = (select org_a from ids) $$,
  'An outsider reads no conversations of another organization');

-- ---------------------------------------------------------------------------------------------
-- Summary jobs: agent threshold 3
-- ---------------------------------------------------------------------------------------------
select tests.authenticate_as('mia');
insert into public.messages (conversation_id, role, content) values ((select chat from ids), 'user', 'It is 4711');
select tests.reset_role();
select results_eq(
  $$ select payload, dedupe_key, status from summary_jobs $$,
  $$ values ('{"conversation_id": "c0000000-0000-4000-8000-000000000001"}'::jsonb,
             'conversation:c0000000-0000-4000-8000-000000000001', 'queued') $$,
  'Reaching the threshold enqueues a summary job'
);
select tests.authenticate_as_service_role();
insert into public.messages (conversation_id, role, content)
values ((select chat from ids), 'assistant', 'Found it'), ((select chat from ids), 'user', 'Thanks');
select tests.reset_role();
select is((select count(*) from summary_jobs), 1::bigint, 'At most one summary job is pending per conversation');
select is(
  (select array_agg(seq order by seq) from public.messages where conversation_id = (select chat from ids)),
  array[1, 2, 3, 4, 5],
  'A multi-row insert keeps the numbering gap-free'
);

-- The worker summarises everything so far and completes its job.
select tests.authenticate_as_service_role();
with changed as (
  update public.conversations set summary = 'Order 4711 was found.', summarized_until = last_message_seq
  where id = (select chat from ids) returning 1
)
select is(count(*), 1::bigint, 'service_role writes the summary') from changed;
select ok(private.complete_job((select id from summary_jobs)), 'The worker completes its summary job');
select tests.authenticate_as_service_role();
insert into public.messages (conversation_id, role, content)
values ((select chat from ids), 'user', 'One more'), ((select chat from ids), 'assistant', 'Sure');
select tests.reset_role();
select is(
  (select count(*) from summary_jobs where status <> 'completed'),
  0::bigint,
  'Two messages after a summary stay below the threshold'
);
select tests.authenticate_as('mia');
insert into public.messages (conversation_id, role, content) values ((select chat from ids), 'user', 'And another');
select tests.reset_role();
select is(
  (select count(*) from summary_jobs where status = 'queued'),
  1::bigint,
  'Three messages after the last summary enqueue the next summary job'
);

-- ---------------------------------------------------------------------------------------------
-- Deleting
-- ---------------------------------------------------------------------------------------------
select tests.authenticate_as('mia');
with removed as (
  delete from public.messages where conversation_id = (select chat from ids) and seq = 8 returning 1
)
select is(count(*), 1::bigint, 'A user deletes her own message') from removed;
select results_eq(
  $$ select message_count, last_message_seq from public.conversations where id = (select chat from ids) $$,
  $$ values (7, 8) $$,
  'Deleting a message lowers the count; numbers are never reused'
);
select results_eq(
  $$ insert into public.messages (conversation_id, role, content) values ((select chat from ids), 'user', 'Back') returning seq $$,
  $$ values (9) $$,
  'The next message continues the numbering'
);

select tests.authenticate_as_service_role();
select ok((select count(*) from public.messages where conversation_id = (select chat from ids)) = 8,
  'service_role reads every message');

select tests.authenticate_as('mia');
with removed as (
  delete from public.conversations where id = (select chat from ids) returning 1
)
select is(count(*), 1::bigint, 'A user deletes her conversation') from removed;
select tests.reset_role();
select is_empty($$ select 1 from public.messages where conversation_id = (select chat from ids) $$,
  'Its messages go with it');

select tests.authenticate_as('mia');
select throws_ok(
  $$ insert into public.messages (conversation_id, role, content) values (gen_random_uuid(), 'user', 'lost') $$,
  '23503', null, 'A message needs an existing conversation'
);

select * from finish();
rollback;
