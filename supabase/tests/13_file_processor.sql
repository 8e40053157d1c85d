-- file-processor's schema: section sources (heading_path, page, content_hash, embedding_model),
-- private.write_document_sections per role, and overwritten files queued again.
-- Cast: in "tenant-a", ada is owner and mia a member; otto owns "tenant-b".
begin;
\ir _helpers.psql
select plan(28);

select tests.create_two_tenants();

insert into public.documents (id, organization_id, created_by, title)
values ('d1300000-0000-4000-8000-00000000000a',
        (select id from public.organizations where slug = 'tenant-a'),
        tests.get_supabase_uid('ada'), 'Ada''s guide');

create temporary table ids on commit drop as
select 'd1300000-0000-4000-8000-00000000000a'::uuid as doc;
grant select on ids to anon, authenticated, service_role;

-- ---------------------------------------------------------------------------------------------
-- columns
-- ---------------------------------------------------------------------------------------------
select has_column('public', 'document_sections', 'heading_path', 'sections have a heading path');
select has_column('public', 'document_sections', 'page', 'sections have a page');
select has_column('public', 'document_sections', 'content_hash', 'sections have a content hash');
select has_column('public', 'document_sections', 'embedding_model', 'sections name their embedding model');

-- ---------------------------------------------------------------------------------------------
-- users: API sections with heading path and page; content_hash follows content
-- ---------------------------------------------------------------------------------------------
select tests.authenticate_as('ada');
select lives_ok(
  $$ insert into public.document_sections (document_id, ordinal, heading, heading_path, page, content)
     values ((select doc from ids), 5, 'Intro', '{Guide,Intro}', 2, 'héllo') $$,
  'the document''s creator adds a section with heading path and page'
);
select is(
  (select content_hash from public.document_sections where document_id = (select doc from ids) and ordinal = 5),
  encode(sha256(convert_to('héllo', 'UTF8')), 'hex'),
  'content_hash is the SHA-256 of the UTF-8 content'
);
update public.document_sections set content = 'changed' where document_id = (select doc from ids) and ordinal = 5;
select is(
  (select content_hash from public.document_sections where document_id = (select doc from ids) and ordinal = 5),
  encode(sha256(convert_to('changed', 'UTF8')), 'hex'),
  'content_hash follows a content change'
);
select throws_ok(
  $$ update public.document_sections set embedding_model = 'mine' where document_id = (select doc from ids) $$,
  '42501', null, 'users cannot set embedding_model'
);
select throws_ok(
  $$ select private.write_document_sections((select doc from ids), '[]') $$,
  '42501', null, 'authenticated cannot call write_document_sections'
);
select tests.clear_authentication();
select throws_ok(
  $$ select private.write_document_sections((select doc from ids), '[]') $$,
  '42501', null, 'anon cannot call write_document_sections'
);

-- ---------------------------------------------------------------------------------------------
-- service_role: write_document_sections
-- ---------------------------------------------------------------------------------------------
select tests.authenticate_as_service_role();
select throws_ok(
  $$ select private.write_document_sections((select doc from ids), '{}') $$,
  '22023', 'sections must be a JSON array', 'sections must be an array'
);
select is(
  private.write_document_sections((select doc from ids), jsonb_build_array(
    jsonb_build_object('ordinal', 0, 'heading', 'Guide > Setup', 'heading_path', array['Guide', 'Setup'],
      'content', 'Install the tool.', 'token_count', 4,
      'embedding', tests.embedding(1)::text, 'embedding_model', 'model-a'),
    jsonb_build_object('ordinal', 1, 'heading', null, 'page', 3, 'content', 'Second part.', 'token_count', 3)
  )),
  '{"inserted": 2, "updated": 0, "deleted": 1, "unchanged": 0, "without_embedding": 1}'::jsonb,
  'one call inserts the new sections and deletes those no longer present'
);
select results_eq(
  $$ select ordinal, heading_path, page, embedding_model from public.document_sections
     where document_id = (select doc from ids) order by ordinal $$,
  $$ values (0, '{Guide,Setup}'::text[], null::integer, 'model-a'::text),
            (1, '{}'::text[], 3, null::text) $$,
  'sections are stored with their paths, pages and embedding model'
);
select is(
  (select count(*)::integer from private.jobs
   where queue = 'document_embeddings' and payload ->> 'document_id' = (select doc::text from ids)
     and status = 'queued'),
  1,
  'a section without an embedding queues the document''s embedding job'
);
select is(
  private.write_document_sections((select doc from ids), jsonb_build_array(
    jsonb_build_object('ordinal', 0, 'heading', 'Guide > Setup', 'heading_path', array['Guide', 'Setup'],
      'content', 'Install the tool.', 'token_count', 4),
    jsonb_build_object('ordinal', 1, 'heading', null, 'page', 3, 'content', 'Second part.', 'token_count', 3)
  )),
  '{"inserted": 0, "updated": 0, "deleted": 0, "unchanged": 2, "without_embedding": 0}'::jsonb,
  'the same sections again change nothing'
);
select ok(
  (select embedding is not null from public.document_sections where document_id = (select doc from ids) and ordinal = 0),
  'an unchanged section keeps its embedding'
);
select is(
  private.write_document_sections((select doc from ids), jsonb_build_array(
    jsonb_build_object('ordinal', 0, 'heading', null, 'content', 'A new opening.', 'token_count', 3),
    jsonb_build_object('ordinal', 1, 'heading', 'Guide > Setup', 'heading_path', array['Guide', 'Setup'],
      'content', 'Install the tool.', 'token_count', 4),
    jsonb_build_object('ordinal', 2, 'heading', null, 'page', 3, 'content', 'Second part.', 'token_count', 3)
  )),
  '{"inserted": 1, "updated": 2, "deleted": 0, "unchanged": 0, "without_embedding": 2}'::jsonb,
  'inserting a section before the others shifts them'
);
select results_eq(
  $$ select ordinal, embedding::text, embedding_model from public.document_sections
     where document_id = (select doc from ids) order by ordinal $$,
  $$ values (0, null::text, null::text), (1, tests.embedding(1)::text, 'model-a'), (2, null, null) $$,
  'a section whose text moved keeps its embedding; new text has none'
);
select is(
  private.write_document_sections((select doc from ids), jsonb_build_array(
    jsonb_build_object('ordinal', 0, 'heading', 'Other heading', 'content', 'Install the tool.', 'token_count', 4)
  )) ->> 'without_embedding',
  '1',
  'an embedding is not reused under another heading (the heading is embedded too)'
);
select is(
  (select count(*)::integer from public.document_sections where document_id = (select doc from ids)),
  1,
  'sections past the new end are deleted'
);
select is(
  private.write_document_sections((select doc from ids), '[]') ->> 'deleted',
  '1',
  'an empty array removes every section'
);
select throws_ok(
  $$ select private.write_document_sections((select doc from ids), '[{"ordinal": 0, "content": ""}]') $$,
  '23514', null, 'sections keep the table''s checks (empty content refused)'
);
select tests.reset_role();

select is(
  (select count(*)::integer from pg_proc p join pg_namespace n on n.oid = p.pronamespace
   where n.nspname = 'private' and p.proname in ('write_document_sections', 'set_section_content_hash')
     and p.prosecdef and 'search_path=""' = any (p.proconfig)),
  2,
  'the new private functions are security definer with an empty search_path'
);
select is(
  (select count(*)::integer from information_schema.column_privileges
   where table_schema = 'public' and table_name = 'document_sections' and grantee = 'authenticated'
     and privilege_type in ('INSERT', 'UPDATE') and column_name in ('heading_path', 'page')),
  4,
  'authenticated may insert and update heading_path and page'
);

-- ---------------------------------------------------------------------------------------------
-- overwritten files are processed again
-- ---------------------------------------------------------------------------------------------
create temporary view file_path as
select (select id from public.organizations where slug = 'tenant-a')::text || '/'
       || tests.get_supabase_uid('ada')::text || '/guide.md' as name;
insert into storage.objects (bucket_id, name, version, metadata)
values ('documents', (select name from file_path), 'v1', '{"size": 10, "mimetype": "text/markdown"}');
update public.file_uploads set status = 'processed' where path = (select name from file_path);
update public.documents set status = 'processed'
where id = (select document_id from public.file_uploads where path = (select name from file_path));
update storage.objects set version = 'v2', metadata = '{"size": 12, "mimetype": "text/plain"}'
where bucket_id = 'documents' and name = (select name from file_path);
select results_eq(
  $$ select f.status, f.size_bytes, d.status from public.file_uploads f
     join public.documents d on d.id = f.document_id where f.path = (select name from file_path) $$,
  $$ values ('pending'::text, 12::bigint, 'pending'::text) $$,
  'an overwrite puts the upload and its document back to pending'
);
select is(
  (select count(*)::integer from private.jobs j
   where j.queue = 'file_processing'
     and j.payload ->> 'file_upload_id' = (select id::text from public.file_uploads where path = (select name from file_path))),
  2,
  'an overwrite queues processing again, beside the first upload''s job'
);
update storage.objects set metadata = '{"size": 12, "mimetype": "text/plain", "touched": true}'
where bucket_id = 'documents' and name = (select name from file_path);
select is(
  (select count(*)::integer from private.jobs j
   where j.queue = 'file_processing'
     and j.payload ->> 'file_upload_id' = (select id::text from public.file_uploads where path = (select name from file_path))),
  2,
  'a metadata change without a new version queues nothing'
);
select is(
  (select count(*)::integer from pg_trigger
   where tgname = 'on_document_file_overwritten' and tgrelid = 'storage.objects'::regclass),
  1,
  'the overwrite trigger is on storage.objects'
);

select * from finish();
rollback;
