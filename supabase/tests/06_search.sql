-- The search RPCs with synthetic embeddings (tests.embedding(axis, seed): unit vectors close to
-- one axis). Tenant A has a "near" document (80 sections along axis 1) and a "far" one (20
-- sections along axis 2, among them the target section, exactly tests.embedding(2)). Tenant B
-- holds copies of tenant A's vectors and words, so that any leak across organizations would rank
-- first. Cast: ada owns A, mia and bo are members; otto owns B.
begin;
\ir _helpers.psql
select plan(49);
-- The checks below turn seq scans off to see the index paths. A long-lived session (a running
-- stack, Postgres 15 under `supabase test db`) may reuse a generic plan of the search functions
-- cached before that, whatever the settings say now: plan every call afresh.
set local plan_cache_mode = force_custom_plan;

select tests.create_supabase_user('ada');
select tests.create_supabase_user('mia');
select tests.create_supabase_user('bo');
select tests.create_supabase_user('otto');
select tests.create_organization('tenant-a', 'ada');
select tests.create_organization('tenant-b', 'otto');
select tests.add_member((select id from public.organizations where slug = 'tenant-a'), 'mia', 'member');
select tests.add_member((select id from public.organizations where slug = 'tenant-a'), 'bo', 'member');

create temporary table ids on commit drop as
select
  (select id from public.organizations where slug = 'tenant-a') as org_a,
  (select id from public.organizations where slug = 'tenant-b') as org_b,
  'd0000000-0000-4000-8000-000000000001'::uuid as near_doc,
  'd0000000-0000-4000-8000-000000000002'::uuid as far_doc,
  'd0000000-0000-4000-8000-000000000003'::uuid as b_doc,
  '5e000000-0000-4000-8000-000000000001'::uuid as target,
  tests.get_supabase_uid('mia') as mia;
grant select on ids to anon, authenticated, service_role;

insert into public.documents (id, organization_id, created_by, title, status, tags)
values
  ((select near_doc from ids), (select org_a from ids), tests.get_supabase_uid('ada'), 'Near', 'processed', '{near}'),
  ((select far_doc from ids), (select org_a from ids), tests.get_supabase_uid('ada'), 'Far', 'processed', '{far}'),
  ((select b_doc from ids), (select org_b from ids), tests.get_supabase_uid('otto'), 'B', 'processed', '{near,far}');

insert into public.document_sections (document_id, ordinal, content, embedding)
select (select near_doc from ids), i, 'Near section number ' || i, tests.embedding(1, i, 0.01)
from generate_series(1, 80) i;
insert into public.document_sections (id, document_id, ordinal, heading, content, embedding)
values ((select target from ids), (select far_doc from ids), 0, 'Airships',
        'The zeppelin hangar doubles as a workshop.', tests.embedding(2));
insert into public.document_sections (document_id, ordinal, content, embedding)
select (select far_doc from ids), i, 'Far section number ' || i, tests.embedding(2, i, 0.01)
from generate_series(1, 19) i;
insert into public.document_sections (document_id, ordinal, heading, content, embedding)
select (select b_doc from ids), i, 'Airships', 'Tenant B zeppelin notes ' || i,
       case when i = 0 then tests.embedding(2) else tests.embedding(1, i, 0.01) end
from generate_series(0, 20) i;

-- Embeddings of sections and messages stay in the heap row (storage PLAIN), so the planner's
-- price of an exact scan includes them and the HNSW index is chosen once it pays
-- (*_embedding_storage_plain.sql).
select is(
  (select attstorage::text from pg_attribute
   where attrelid = 'public.document_sections'::regclass and attname = 'embedding'),
  'p',
  'Section embeddings are stored inline, never moved to TOAST'
);
select is(
  (select attstorage::text from pg_attribute
   where attrelid = 'public.messages'::regclass and attname = 'embedding'),
  'p',
  'Message embeddings are stored inline, never moved to TOAST'
);

-- ---------------------------------------------------------------------------------------------
-- match_document_sections
-- ---------------------------------------------------------------------------------------------
select tests.authenticate_as('mia');
select results_eq(
  $$ select id, similarity > 0.999 from public.match_document_sections(tests.embedding(2), 1) $$,
  $$ select target, true from ids $$,
  'A vector-only query finds the section with that embedding first'
);
select results_eq(
  $$ select id from public.match_document_sections(tests.embedding(2), 1, jsonb_build_object('document_id', (select far_doc from ids))) $$,
  $$ select target from ids $$,
  'A filtered vector query finds it too'
);
select ok(
  (select bool_and(organization_id = (select org_a from ids)) and count(*) = 10
   from public.match_document_sections(tests.embedding(1, 3, 0.01), 10)),
  'A member finds only her organization''s sections, even where another''s are identical'
);
select is_empty(
  $$ select 1 from public.match_document_sections(tests.embedding(2), 10, jsonb_build_object('organization_id', (select org_b from ids))) $$,
  'Filtering on another organization finds nothing'
);

-- Filters applied during the HNSW walk: the query points at the 80 "near" sections, the filter
-- keeps only "far" ones, all beyond ef_search (40) nearest neighbours. On tables this small the
-- planner rightly prefers an exact btree scan plus sort; turning seq scans and sorts off makes it
-- take the ordered HNSW path it takes on real data, which is what these checks are about.
set local enable_seqscan = off;
set local enable_sort = off;
select is(
  (select count(*) from public.match_document_sections(
     tests.embedding(1), 10, jsonb_build_object('document_id', (select far_doc from ids)))),
  10::bigint,
  'A filtered query returns match_count rows when that many match (iterative index scan)'
);
select is(
  (select count(*) from public.match_document_sections(tests.embedding(1), 10, '{"tags": ["far"]}')),
  10::bigint,
  'A tag filter returns match_count rows as well'
);
select ok(
  (select bool_and(document_id = (select far_doc from ids))
   from public.match_document_sections(tests.embedding(1), 10, '{"tags": ["far"]}')),
  'The tag filter keeps only documents carrying the tags'
);
select is(
  (select count(*) from public.match_document_sections(
     tests.embedding(1), 10,
     jsonb_build_object('document_ids', jsonb_build_array((select far_doc from ids), (select near_doc from ids))))),
  10::bigint,
  'A document_ids filter works'
);
set local hnsw.iterative_scan = off;
select ok(
  (select count(*) from (
     select s.id from public.document_sections s
     where s.document_id = (select far_doc from ids)
     order by s.embedding operator(extensions.<=>) tests.embedding(1)
     limit 10) plain) < 10,
  'Without iterative scans the same filtered query comes up short (why the functions enable them)'
);
reset hnsw.iterative_scan;
select matches(
  tests.explain($$
    select s.id from public.document_sections s
    where s.embedding is not null and s.document_id = 'd0000000-0000-4000-8000-000000000002'
    order by s.embedding operator(extensions.<=>) tests.embedding(1)
    limit 10 $$),
  'Index Scan using document_sections_embedding_idx',
  'The filtered nearest-neighbour query plans an HNSW index scan'
);
create temporary table scans (before bigint) on commit drop;
grant all on scans to authenticated, service_role;
insert into scans select tests.index_scans('public.document_sections_embedding_idx');
select ok(
  (select count(*) from public.match_document_sections(tests.embedding(1), 5, jsonb_build_object('document_id', (select far_doc from ids)))) = 5
    and tests.index_scans('public.document_sections_embedding_idx') > (select before from scans),
  'match_document_sections itself scans the HNSW index'
);
truncate scans;
insert into scans select tests.index_scans('public.document_sections_embedding_idx');
select results_eq(
  $$ select id from public.match_document_sections(tests.embedding(2), 1) $$,
  $$ select target from ids $$,
  'Through the HNSW index, a vector-only query finds the target section first'
);
select results_eq(
  $$ select id from public.match_document_sections(tests.embedding(2), 1, '{"tags": ["far"]}') $$,
  $$ select target from ids $$,
  'Through the HNSW index, a filtered vector-only query finds it first too'
);
select cmp_ok(
  tests.index_scans('public.document_sections_embedding_idx') - (select before from scans),
  '>=',
  2::bigint,
  'Both of those queries walked the HNSW index'
);
select results_eq(
  $$ select count(*), bool_and(similarity >= 0.5) from public.match_document_sections(tests.embedding(2), 50, '{}', 0.5) $$,
  $$ values (20::bigint, true) $$,
  'min_similarity drops weaker matches'
);
reset enable_seqscan;
reset enable_sort;

select throws_ok(
  $$ select * from public.match_document_sections(tests.embedding(1), 5, '{"owner": "me"}') $$,
  '22023', 'Unknown filter keys: "owner"', 'Unknown filter keys are refused'
);
select throws_ok(
  $$ select * from public.match_document_sections(tests.embedding(1), 0) $$,
  '22023', 'match_count must be between 1 and 100', 'match_count must be positive'
);
select throws_ok(
  $$ select * from public.match_document_sections(tests.embedding(1), 5, '{"document_id": "nope"}') $$,
  '22P02', null, 'Malformed ids in the filter are refused'
);

select tests.authenticate_as('otto');
select ok(
  (select bool_and(organization_id = (select org_b from ids)) and count(*) > 0
   from public.match_document_sections(tests.embedding(2), 10)),
  'An outsider finds only his own organization''s sections'
);
select is_empty(
  $$ select 1 from public.match_document_sections(tests.embedding(2), 10, jsonb_build_object('document_id', (select far_doc from ids))) $$,
  'An outsider finds nothing in another organization''s document'
);

select tests.authenticate_as_service_role();
select ok(
  (select bool_and(organization_id = (select org_b from ids)) and count(*) = 10
   from public.match_document_sections(tests.embedding(1), 10, jsonb_build_object('organization_id', (select org_b from ids)))),
  'service_role scopes a search with the organization_id filter'
);

-- ---------------------------------------------------------------------------------------------
-- hybrid_search
-- ---------------------------------------------------------------------------------------------
select tests.authenticate_as('mia');
select results_eq(
  $$ select id, full_text_rank, semantic_rank from public.hybrid_search(null, tests.embedding(2), 1) $$,
  $$ select target, null::integer, 1 from ids $$,
  'A vector-only hybrid search finds the section with that embedding first'
);
select results_eq(
  $$ select id from public.hybrid_search('', tests.embedding(2), 1, filter => jsonb_build_object('document_id', (select far_doc from ids))) $$,
  $$ select target from ids $$,
  'A filtered vector-only hybrid search finds it too'
);
select results_eq(
  $$ select id, document_title, full_text_rank, semantic_rank from public.hybrid_search('zeppelin', null, 5) $$,
  $$ select target, 'Far', 1, null::integer from ids $$,
  'A keyword-only hybrid search finds the section with the word, in the member''s organization only'
);
select results_eq(
  $$ select id, full_text_rank, semantic_rank from public.hybrid_search('zeppelins', tests.embedding(2), 1) $$,
  $$ select target, 1, 1 from ids $$,
  'Ranked first on both sides, a section ranks first overall (words are stemmed)'
);
select ok(
  (select abs(score - (1.0 / 51 + 1.0 / 51)) < 1e-9 from public.hybrid_search('zeppelin', tests.embedding(2), 1)),
  'The score is the reciprocal rank fusion with rrf_k = 50'
);
select results_eq(
  $$ select id from public.hybrid_search('zeppelin', tests.embedding(1), 1, full_text_weight => 10, semantic_weight => 1) $$,
  $$ select target from ids $$,
  'Weights favour one side'
);
set local enable_seqscan = off;
set local enable_sort = off;
truncate scans;
insert into scans select tests.index_scans('public.document_sections_embedding_idx');
select is(
  (select count(*) from public.hybrid_search(null, tests.embedding(1), 10, filter => jsonb_build_object('document_id', (select far_doc from ids)))),
  10::bigint,
  'A filtered hybrid search returns match_count rows when that many match'
);
select results_eq(
  $$ select id from public.hybrid_search(null, tests.embedding(2), 1) $$,
  $$ select target from ids $$,
  'Through the HNSW index, a vector-only hybrid search finds the target section first'
);
select results_eq(
  $$ select id from public.hybrid_search(null, tests.embedding(2), 1, filter => '{"tags": ["far"]}') $$,
  $$ select target from ids $$,
  'Through the HNSW index, a filtered vector-only hybrid search finds it first too'
);
select cmp_ok(
  tests.index_scans('public.document_sections_embedding_idx') - (select before from scans),
  '>=',
  3::bigint,
  'hybrid_search walked the HNSW index for each of those queries'
);
reset enable_seqscan;
reset enable_sort;
select throws_ok(
  $$ select * from public.hybrid_search('x', null, 5, rrf_k => 0) $$,
  '22023', null, 'rrf_k must be positive'
);
select throws_ok(
  $$ select * from public.hybrid_search('x', null, 5, filter => '[]') $$,
  '22023', 'Filter must be a JSON object', 'A filter must be an object'
);

select tests.authenticate_as('otto');
select ok(
  (select bool_and(organization_id = (select org_b from ids)) and count(*) = 5
   from public.hybrid_search('zeppelin', tests.embedding(2), 5)),
  'An outsider''s hybrid search stays in his organization'
);

-- ---------------------------------------------------------------------------------------------
-- match_messages
-- ---------------------------------------------------------------------------------------------
select tests.reset_role();
insert into public.agents (id, organization_id, owner_id, name, description, description_embedding, status)
values
  ('a0000000-0000-4000-8000-000000000001', (select org_a from ids), tests.get_supabase_uid('ada'), 'Anchor', 'x', tests.embedding(5), 'active'),
  ('a0000000-0000-4000-8000-000000000002', (select org_a from ids), tests.get_supabase_uid('ada'), 'Twin', 'x', tests.embedding(5, 1, 0.01), 'active'),
  ('a0000000-0000-4000-8000-000000000003', (select org_a from ids), tests.get_supabase_uid('ada'), 'Retired twin', 'x', tests.embedding(5, 2, 0.01), 'archived'),
  ('a0000000-0000-4000-8000-000000000004', (select org_a from ids), tests.get_supabase_uid('ada'), 'Stranger', 'x', tests.embedding(6), 'inactive'),
  ('a0000000-0000-4000-8000-000000000005', (select org_b from ids), tests.get_supabase_uid('otto'), 'Foreign twin', 'x', tests.embedding(5, 3, 0.01), 'active');
insert into public.conversations (id, user_id, agent_id)
values
  ('c0000000-0000-4000-8000-000000000001', tests.get_supabase_uid('mia'), 'a0000000-0000-4000-8000-000000000001'),
  ('c0000000-0000-4000-8000-000000000002', tests.get_supabase_uid('mia'), 'a0000000-0000-4000-8000-000000000002'),
  ('c0000000-0000-4000-8000-000000000003', tests.get_supabase_uid('bo'), 'a0000000-0000-4000-8000-000000000001');
insert into public.messages (conversation_id, role, content, embedding)
select c.id, 'user', 'Message ' || i || ' in ' || c.id, tests.embedding(3, i, 0.01)
from (values ('c0000000-0000-4000-8000-000000000001'::uuid), ('c0000000-0000-4000-8000-000000000002'::uuid),
             ('c0000000-0000-4000-8000-000000000003'::uuid)) c (id),
     generate_series(1, 5) i;

select tests.authenticate_as('mia');
select results_eq(
  $$ select message_conversation_id, seq from public.match_messages(tests.embedding(3, 4, 0.01), 1, 'c0000000-0000-4000-8000-000000000001') $$,
  $$ select 'c0000000-0000-4000-8000-000000000001'::uuid, 4 $$,
  'match_messages finds the closest message of the conversation first'
);
select ok(
  (select count(*) = 10 and bool_and(message_conversation_id <> 'c0000000-0000-4000-8000-000000000003')
   from public.match_messages(tests.embedding(3, 4, 0.01), 20)),
  'match_messages covers all of the caller''s conversations and no one else''s'
);
select is_empty(
  $$ select 1 from public.match_messages(tests.embedding(3), 5, 'c0000000-0000-4000-8000-000000000003') $$,
  'match_messages finds nothing in another user''s conversation'
);
set local enable_seqscan = off;
set local enable_sort = off;
truncate scans;
insert into scans select tests.index_scans('public.messages_embedding_idx');
select ok(
  (select count(*) from public.match_messages(tests.embedding(1), 3, 'c0000000-0000-4000-8000-000000000002')) = 3
    and tests.index_scans('public.messages_embedding_idx') > (select before from scans),
  'match_messages scans the HNSW index and fills match_count within a conversation'
);
reset enable_seqscan;
reset enable_sort;
select tests.authenticate_as_service_role();
select is_empty(
  $$ select 1 from public.match_messages(tests.embedding(3), 5) $$,
  'service_role without a user has no messages of its own'
);

-- ---------------------------------------------------------------------------------------------
-- find_similar_agents
-- ---------------------------------------------------------------------------------------------
select tests.authenticate_as('mia');
select results_eq(
  $$ select name from public.find_similar_agents('a0000000-0000-4000-8000-000000000001', 5, 0.5) $$,
  array['Twin'],
  'Similar agents: same organizations, not itself, not archived, above min_similarity'
);
select results_eq(
  $$ select name from public.find_similar_agents('a0000000-0000-4000-8000-000000000001') $$,
  array['Twin', 'Stranger'],
  'Without a threshold, every other live agent of the caller''s organizations, most similar first'
);
set local enable_seqscan = off;
set local enable_sort = off;
truncate scans;
insert into scans select tests.index_scans('public.agents_description_embedding_idx');
select ok(
  (select count(*) from public.find_similar_agents('a0000000-0000-4000-8000-000000000001', 2)) = 2
    and tests.index_scans('public.agents_description_embedding_idx') > (select before from scans),
  'find_similar_agents scans the HNSW index'
);
reset enable_seqscan;
reset enable_sort;
select tests.authenticate_as('otto');
select is_empty(
  $$ select 1 from public.find_similar_agents('a0000000-0000-4000-8000-000000000001') $$,
  'An outsider cannot look up similar agents of another organization''s agent'
);
select is_empty(
  $$ select 1 from public.find_similar_agents('a0000000-0000-4000-8000-000000000005') $$,
  'An outsider''s search never returns agents of organizations he is not in'
);

-- ---------------------------------------------------------------------------------------------
-- anon
-- ---------------------------------------------------------------------------------------------
select tests.clear_authentication();
select throws_ok($$ select * from public.hybrid_search('zeppelin') $$, '42501', null, 'anon cannot call hybrid_search');
select throws_ok($$ select * from public.match_messages(tests.embedding(3)) $$, '42501', null, 'anon cannot call match_messages');
select throws_ok(
  $$ select * from public.find_similar_agents('a0000000-0000-4000-8000-000000000001') $$,
  '42501', null, 'anon cannot call find_similar_agents'
);

select * from finish();
rollback;
