-- Agents, agent executions and the activity log, per role. Cast: in "tenant-a", ada is owner,
-- adam admin, mia and bo members; otto owns "tenant-b".
begin;
\ir _helpers.psql
select plan(48);

select tests.create_two_tenants();

insert into public.agents (id, organization_id, owner_id, name, description)
values
  ('a0000000-0000-4000-8000-000000000001', (select id from public.organizations where slug = 'tenant-a'),
   tests.get_supabase_uid('bo'), 'Bo''s agent', 'Answers questions about widgets'),
  ('a0000000-0000-4000-8000-000000000002', (select id from public.organizations where slug = 'tenant-b'),
   tests.get_supabase_uid('otto'), 'Otto''s agent', 'Tenant B only');

create temporary table ids on commit drop as
select
  (select id from public.organizations where slug = 'tenant-a') as org_a,
  (select id from public.organizations where slug = 'tenant-b') as org_b,
  'a0000000-0000-4000-8000-000000000001'::uuid as bo_agent,
  'a0000000-0000-4000-8000-000000000002'::uuid as otto_agent,
  tests.get_supabase_uid('mia') as mia,
  tests.get_supabase_uid('bo') as bo;
grant select on ids to anon, authenticated, service_role;

-- ---------------------------------------------------------------------------------------------
-- agents
-- ---------------------------------------------------------------------------------------------
select tests.clear_authentication();
select throws_ok($$ select * from public.agents $$, '42501', null, 'anon cannot read agents');
select throws_ok(
  $$ insert into public.agents (organization_id, name) values ((select org_a from ids), 'Anon agent') $$,
  '42501', null, 'anon cannot create agents'
);

select tests.authenticate_as('mia');
select results_eq(
  $$ insert into public.agents (id, organization_id, name, description)
     values ('a0000000-0000-4000-8000-000000000003', (select org_a from ids), 'Mia''s agent', 'Drafts emails')
     returning owner_id $$,
  $$ select mia from ids $$,
  'A member creates an agent she owns'
);
select throws_ok(
  $$ insert into public.agents (organization_id, name) values ((select org_b from ids), 'Intruder') $$,
  '42501',
  'new row violates row-level security policy for table "agents"',
  'A member cannot create an agent in another organization'
);
select throws_ok(
  $$ insert into public.agents (organization_id, owner_id, name) values ((select org_a from ids), (select bo from ids), 'Planted') $$,
  '42501', null, 'A member cannot create an agent in someone else''s name'
);
select set_eq(
  $$ select name from public.agents $$,
  array['Bo''s agent', 'Mia''s agent'],
  'A member reads her organization''s agents and no others'
);
with changed as (
  update public.agents set status = 'inactive' where id = 'a0000000-0000-4000-8000-000000000003' returning 1
)
select is(count(*), 1::bigint, 'An agent''s owner updates it') from changed;
with changed as (
  update public.agents set system_prompt = 'Be rude' where id = (select bo_agent from ids) returning 1
)
select is(count(*), 0::bigint, 'A member cannot update a colleague''s agent') from changed;
with removed as (
  delete from public.agents where id = (select bo_agent from ids) returning 1
)
select is(count(*), 0::bigint, 'A member cannot delete a colleague''s agent') from removed;
select throws_ok(
  $$ update public.agents set organization_id = (select org_b from ids) where id = 'a0000000-0000-4000-8000-000000000003' $$,
  '42501', null, 'An agent cannot be moved to another organization'
);
select throws_ok(
  $$ update public.agents set description_embedding = tests.embedding(1) where id = 'a0000000-0000-4000-8000-000000000003' $$,
  '42501', null, 'Users cannot write description embeddings'
);

select tests.authenticate_as('otto');
select is_empty(
  $$ select 1 from public.agents where organization_id = (select org_a from ids) $$,
  'An outsider cannot read another organization''s agents'
);
with changed as (
  update public.agents set name = 'Pwned' where organization_id = (select org_a from ids) returning 1
)
select is(count(*), 0::bigint, 'An outsider cannot update another organization''s agents') from changed;
with removed as (
  delete from public.agents where organization_id = (select org_a from ids) returning 1
)
select is(count(*), 0::bigint, 'An outsider cannot delete another organization''s agents') from removed;

select tests.authenticate_as('adam');
with changed as (
  update public.agents set temperature = 0.3 where id = 'a0000000-0000-4000-8000-000000000003' returning 1
)
select is(count(*), 1::bigint, 'An admin updates any agent of his organization') from changed;

select tests.authenticate_as('mia');
with removed as (
  delete from public.agents where id = 'a0000000-0000-4000-8000-000000000003' returning 1
)
select is(count(*), 1::bigint, 'An agent''s owner deletes it') from removed;

select tests.authenticate_as_service_role();
with changed as (
  update public.agents set description_embedding = tests.embedding(7) where id = (select bo_agent from ids) returning 1
)
select is(count(*), 1::bigint, 'service_role writes description embeddings') from changed;
select tests.reset_role();
select is(
  (select count(*) from private.jobs where queue = 'agent_embeddings' and payload ->> 'agent_id' = (select bo_agent::text from ids)),
  1::bigint,
  'Creating an agent enqueued one embedding job for it'
);
update public.agents set description = 'Answers questions about gadgets' where id = (select bo_agent from ids);
select ok(
  (select description_embedding is null from public.agents where id = (select bo_agent from ids)),
  'Changing the description clears the stale embedding'
);

delete from public.organization_members
where organization_id = (select org_a from ids) and user_id = (select bo from ids);
select tests.authenticate_as('bo');
with changed as (
  update public.agents set name = 'Still mine?' where id = (select bo_agent from ids) returning 1
)
select is(count(*), 0::bigint, 'An agent''s owner who left the organization can no longer change it') from changed;
select tests.reset_role();
select tests.add_member((select org_a from ids), 'bo', 'member');

-- ---------------------------------------------------------------------------------------------
-- agent_executions
-- ---------------------------------------------------------------------------------------------
select tests.authenticate_as('mia');
insert into public.conversations (id, agent_id) values ('c0000000-0000-4000-8000-000000000001', (select bo_agent from ids));
select throws_ok(
  $$ insert into public.agent_executions (agent_id, user_id) values ((select bo_agent from ids), (select mia from ids)) $$,
  '42501', null, 'Users cannot write executions'
);

select tests.authenticate_as_service_role();
select results_eq(
  $$ insert into public.agent_executions (id, agent_id, organization_id, user_id, conversation_id, input, idempotency_key)
     values ('e0000000-0000-4000-8000-000000000001', (select bo_agent from ids), (select org_b from ids),
             (select mia from ids), 'c0000000-0000-4000-8000-000000000001', '{"message": "hi"}', 'key-1')
     returning organization_id, status, started_at is null $$,
  $$ select org_a, 'pending', true from ids $$,
  'service_role records an execution in its agent''s organization, pending'
);
select throws_ok(
  $$ insert into public.agent_executions (agent_id, user_id, idempotency_key)
     values ((select bo_agent from ids), (select mia from ids), 'key-1') $$,
  '23505', null, 'An idempotency key is unique per user'
);
select lives_ok(
  $$ insert into public.agent_executions (agent_id, user_id, idempotency_key)
     values ((select bo_agent from ids), (select bo from ids), 'key-1') $$,
  'Another user may use the same idempotency key'
);
select throws_ok(
  $$ insert into public.agent_executions (agent_id, user_id, conversation_id)
     values ((select bo_agent from ids), (select bo from ids), 'c0000000-0000-4000-8000-000000000001') $$,
  '23514', null, 'An execution cannot point at another user''s conversation'
);
select results_eq(
  $$ update public.agent_executions set status = 'running' where id = 'e0000000-0000-4000-8000-000000000001'
     returning started_at is not null, completed_at is null $$,
  $$ values (true, true) $$,
  'pending -> running stamps started_at'
);
select results_eq(
  $$ update public.agent_executions
     set status = 'completed', prompt_tokens = 120, completion_tokens = 30, output = '{"text": "hello"}'
     where id = 'e0000000-0000-4000-8000-000000000001'
     returning completed_at is not null, total_tokens $$,
  $$ values (true, 150) $$,
  'running -> completed stamps completed_at; total_tokens is derived'
);
select throws_ok(
  $$ update public.agent_executions set status = 'running' where id = 'e0000000-0000-4000-8000-000000000001' $$,
  '23514', 'Execution status cannot go from "completed" to "running"', 'A finished execution cannot go back'
);
select results_eq(
  $$ insert into public.agent_executions (agent_id, user_id, status)
     values ((select bo_agent from ids), (select bo from ids), 'failed')
     returning started_at is not null and completed_at is not null $$,
  $$ values (true) $$,
  'An execution recorded as finished gets both timestamps'
);
select throws_ok(
  $$ update public.agent_executions set status = 'pending' where user_id = (select bo from ids) and status = 'failed' $$,
  '23514', null, 'failed -> pending is refused'
);

select tests.authenticate_as('mia');
select results_eq(
  $$ select id from public.agent_executions $$,
  $$ values ('e0000000-0000-4000-8000-000000000001'::uuid) $$,
  'A user reads her own executions and not her colleagues'''
);
select throws_ok(
  $$ update public.agent_executions set status = 'cancelled' where id = 'e0000000-0000-4000-8000-000000000001' $$,
  '42501', null, 'A user cannot update her executions'
);
select throws_ok(
  $$ delete from public.agent_executions where id = 'e0000000-0000-4000-8000-000000000001' $$,
  '42501', null, 'A user cannot delete her executions'
);

select tests.authenticate_as('bo');
select is(
  (select count(*) from public.agent_executions where agent_id = (select bo_agent from ids)),
  3::bigint,
  'The agent''s owner reads every execution of the agent'
);
select tests.authenticate_as('adam');
select is(
  (select count(*) from public.agent_executions where agent_id = (select bo_agent from ids)),
  3::bigint,
  'An organization admin reads every execution of its agents'
);
select tests.authenticate_as('otto');
select is_empty(
  $$ select 1 from public.agent_executions where organization_id = (select org_a from ids) $$,
  'An outsider reads no executions of another organization'
);
select tests.clear_authentication();
select throws_ok($$ select * from public.agent_executions $$, '42501', null, 'anon cannot read executions');

-- ---------------------------------------------------------------------------------------------
-- activities
-- ---------------------------------------------------------------------------------------------
select tests.reset_role();
select results_eq(
  $$ select user_id, organization_id, details ->> 'name' from public.activities
     where action = 'agent.created' and resource_id = 'a0000000-0000-4000-8000-000000000003' $$,
  $$ select mia, org_a, 'Mia''s agent' from ids $$,
  'Creating an agent records who did it, where and what'
);
select results_eq(
  $$ select details -> 'changed', details -> 'status' from public.activities
     where action = 'agent.updated' and resource_id = 'a0000000-0000-4000-8000-000000000003'
     order by created_at limit 1 $$,
  $$ values ('["status"]'::jsonb, '{"from": "active", "to": "inactive"}'::jsonb) $$,
  'An update records the changed columns and the status change'
);
select results_eq(
  $$ select user_id from public.activities
     where action = 'agent_execution.completed' and resource_id = 'e0000000-0000-4000-8000-000000000001' $$,
  $$ select mia from ids $$,
  'A status change of an execution run by service_role is attributed to the execution''s user'
);
select is(
  (select count(*) from public.activities
   where resource_id = 'e0000000-0000-4000-8000-000000000001' and resource_type = 'agent_execution'),
  3::bigint,
  'An execution logs its creation and each status change, not its other updates'
);
select throws_ok(
  $$ update public.activities set action = 'agent.forged' $$,
  '42501', 'Activities are append-only', 'Activities cannot be updated, even by the table owner'
);

select tests.authenticate_as('mia');
select ok(
  (select bool_and(user_id = (select mia from ids)) and count(*) > 0 from public.activities),
  'A member reads her own activities only'
);
select throws_ok(
  $$ insert into public.activities (action, resource_type) values ('agent.created', 'agent') $$,
  '42501', null, 'Users cannot write activities'
);
select throws_ok(
  $$ delete from public.activities $$,
  '42501', null, 'Users cannot delete activities'
);

select tests.authenticate_as('adam');
select ok(
  (select count(*) from public.activities
   where organization_id = (select org_a from ids) and user_id = (select mia from ids)) > 0,
  'An admin reads his organization''s activities, including other members'''
);
select tests.authenticate_as('otto');
select is_empty(
  $$ select 1 from public.activities where organization_id = (select org_a from ids) $$,
  'An outsider reads no activities of another organization'
);
select tests.authenticate_as_service_role();
select throws_ok(
  $$ delete from public.activities $$,
  '42501', null, 'service_role cannot delete activities'
);

select * from finish();
rollback;
