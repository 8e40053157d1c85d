-- The local seed (supabase/seed.sql): users who can sign in, two organizations, agents and
-- knowledge that hybrid search finds by keyword before any embedding exists.
begin;
\ir _helpers.psql
select plan(16);

select results_eq(
  $$ select email::text, email_confirmed_at is not null, encrypted_password::text = extensions.crypt('password123', encrypted_password)
     from auth.users where email like '%.test' and email in ('alice@acme.test', 'bob@acme.test', 'carol@globex.test')
     order by email $$,
  $$ values ('alice@acme.test', true, true), ('bob@acme.test', true, true), ('carol@globex.test', true, true) $$,
  'The seed users are confirmed and their password is password123'
);
select is_empty(
  $$ select 1 from auth.users where email in ('alice@acme.test', 'bob@acme.test', 'carol@globex.test')
     and (confirmation_token is null or recovery_token is null or email_change_token_new is null or email_change is null) $$,
  'Their GoTrue token columns are empty strings, not NULL'
);
select is(
  (select count(*) from auth.identities where provider = 'email' and email in ('alice@acme.test', 'bob@acme.test', 'carol@globex.test')),
  3::bigint,
  'Each seed user has an email identity'
);
select set_eq(
  $$ select o.name, u.email::text, m.role from public.organization_members m
     join public.organizations o on o.id = m.organization_id
     join auth.users u on u.id = m.user_id
     where o.personal_user_id is null and u.email like '%.test' $$,
  $$ values ('Acme', 'alice@acme.test', 'owner'), ('Acme', 'bob@acme.test', 'member'), ('Globex', 'carol@globex.test', 'owner') $$,
  'Acme has alice (owner) and bob (member); Globex has carol (owner)'
);
select is(
  (select count(*) from public.organizations o join auth.users u on u.id = o.personal_user_id
   where u.email in ('alice@acme.test', 'bob@acme.test', 'carol@globex.test')),
  3::bigint,
  'Each seed user has a personal organization'
);
select set_eq(
  $$ select o.slug, count(*) from public.agents a join public.organizations o on o.id = a.organization_id
     where a.status = 'active' and o.slug in ('acme', 'globex') group by o.slug $$,
  $$ values ('acme', 2::bigint), ('globex', 1::bigint) $$,
  'Two active agents in Acme, one in Globex'
);
select set_eq(
  $$ select o.slug, count(distinct d.id) from public.documents d
     join public.organizations o on o.id = d.organization_id
     where o.slug in ('acme', 'globex') and exists (select 1 from public.document_sections s where s.document_id = d.id)
     group by o.slug $$,
  $$ values ('acme', 2::bigint), ('globex', 2::bigint) $$,
  'Each organization has knowledge documents with sections'
);
-- Once pg_cron runs (a running stack, a hosted project), the dispatchers claim these jobs and the
-- workers complete them, retry them or dead-letter them: the checks hold whatever became of them.
select is_empty(
  $$ select 1 from public.document_sections s join public.organizations o on o.id = s.organization_id
     where o.slug in ('acme', 'globex') and s.embedding is not null
       and exists (select 1 from private.jobs j where j.queue = 'document_embeddings'
                   and j.payload ->> 'document_id' = s.document_id::text and j.attempts = 0) $$,
  'Seed sections have no embeddings before a worker has taken their job'
);
select set_eq(
  $$ select j.queue, count(distinct coalesce(j.payload ->> 'document_id', j.payload ->> 'agent_id'))
     from (select queue, payload from private.jobs union all select queue, payload from private.dead_jobs) j
     where j.payload ->> 'document_id' in (select d.id::text from public.documents d join public.organizations o on o.id = d.organization_id where o.slug in ('acme', 'globex'))
        or j.payload ->> 'agent_id' in (select a.id::text from public.agents a join public.organizations o on o.id = a.organization_id where o.slug in ('acme', 'globex'))
     group by j.queue $$,
  $$ values ('document_embeddings', 4::bigint), ('agent_embeddings', 3::bigint) $$,
  'Their embeddings were queued for the embedding worker (claimed, retried or dead-lettered since)'
);
select is(
  (select count(*) from vault.decrypted_secrets where name in ('project_url', 'service_role_key')),
  2::bigint,
  'The vault holds the dispatcher''s project_url and service_role_key'
);

-- Keyword search, before any embedding exists
select tests.authenticate_as('alice@acme.test');
select results_eq(
  $$ select document_title from public.hybrid_search('warranty claim', null, 1) $$,
  array['Acme Anvil Warranty Policy'],
  'alice''s hybrid search for "warranty claim" finds Acme''s warranty policy first'
);
select results_eq(
  $$ select heading from public.hybrid_search('how do I file a warranty claim?', null, 1) $$,
  array['Filing a warranty claim'],
  'A natural question finds the matching section'
);
select tests.authenticate_as('bob@acme.test');
select results_eq(
  $$ select document_title from public.hybrid_search('warranty', null, 1) $$,
  array['Acme Anvil Warranty Policy'],
  'bob, a member of Acme, finds it too'
);
select tests.authenticate_as('carol@globex.test');
select is_empty(
  $$ select 1 from public.hybrid_search('warranty', null, 10) $$,
  'carol, outside Acme, finds nothing about Acme''s warranty'
);
select results_eq(
  $$ select document_title from public.hybrid_search('phishing drill', null, 1) $$,
  array['Globex Security Review Handbook'],
  'carol finds Globex''s own knowledge'
);
select is_empty(
  $$ select 1 from public.agents a join public.organizations o on o.id = a.organization_id where o.slug = 'acme' $$,
  'carol cannot see Acme''s agents'
);

select * from finish();
rollback;
