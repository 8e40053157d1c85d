-- Knowledge: documents, sections, file uploads and the `documents` storage bucket, per role.
-- Cast: in "tenant-a", ada is owner, adam admin, mia and bo members; otto owns "tenant-b".
begin;
\ir _helpers.psql
select plan(53);

select tests.create_two_tenants();

insert into public.documents (id, organization_id, created_by, title)
values
  ('d0000000-0000-4000-8000-00000000000a', (select id from public.organizations where slug = 'tenant-a'),
   tests.get_supabase_uid('ada'), 'Ada''s handbook'),
  ('d0000000-0000-4000-8000-00000000000b', (select id from public.organizations where slug = 'tenant-b'),
   tests.get_supabase_uid('otto'), 'Otto''s secrets');
insert into public.document_sections (document_id, ordinal, content)
values ('d0000000-0000-4000-8000-00000000000b', 0, 'Tenant B confidential plans');

create temporary table ids on commit drop as
select
  (select id from public.organizations where slug = 'tenant-a') as org_a,
  (select id from public.organizations where slug = 'tenant-b') as org_b,
  'd0000000-0000-4000-8000-000000000001'::uuid as mia_doc,
  'd0000000-0000-4000-8000-00000000000a'::uuid as ada_doc,
  'd0000000-0000-4000-8000-00000000000b'::uuid as otto_doc,
  tests.get_supabase_uid('mia') as mia,
  tests.get_supabase_uid('bo') as bo;
grant select on ids to anon, authenticated, service_role;

create temporary view object_paths as
select
  (select org_a from ids)::text || '/' || (select mia from ids)::text || '/report.md' as mine,
  (select org_a from ids)::text || '/' || (select bo from ids)::text || '/report.md' as bos,
  (select org_b from ids)::text || '/' || (select mia from ids)::text || '/report.md' as other_org;
grant select on object_paths to anon, authenticated, service_role;

-- ---------------------------------------------------------------------------------------------
-- anon
-- ---------------------------------------------------------------------------------------------
select tests.clear_authentication();
select throws_ok($$ select * from public.documents $$, '42501', null, 'anon cannot read documents');
select throws_ok($$ select * from public.document_sections $$, '42501', null, 'anon cannot read sections');
select throws_ok($$ select * from public.file_uploads $$, '42501', null, 'anon cannot read file uploads');
select throws_ok(
  $$ insert into public.documents (organization_id, title) values ((select org_a from ids), 'Anon doc') $$,
  '42501', null, 'anon cannot add documents'
);
select is_empty($$ select 1 from storage.objects where bucket_id = 'documents' $$, 'anon sees no document files');
select throws_ok(
  $$ insert into storage.objects (bucket_id, name) values ('documents', (select mine from object_paths)) $$,
  '42501', null, 'anon cannot upload document files'
);

-- ---------------------------------------------------------------------------------------------
-- documents
-- ---------------------------------------------------------------------------------------------
select tests.authenticate_as('mia');
select results_eq(
  $$ insert into public.documents (id, organization_id, title, tags)
     values ((select mia_doc from ids), (select org_a from ids), 'Mia''s notes', '{notes}')
     returning created_by, source, status $$,
  $$ select mia, 'api', 'pending' from ids $$,
  'A member adds a document to her organization'
);
select throws_ok(
  $$ insert into public.documents (organization_id, title) values ((select org_b from ids), 'Planted') $$,
  '42501',
  'new row violates row-level security policy for table "documents"',
  'A member cannot add a document to another organization'
);
select throws_ok(
  $$ insert into public.documents (organization_id, title, status) values ((select org_a from ids), 'Done already', 'processed') $$,
  '42501', null, 'A user cannot set a document''s processing status'
);
select set_eq(
  $$ select title from public.documents $$,
  array['Mia''s notes', 'Ada''s handbook'],
  'A member reads her organization''s documents and no others'
);
with changed as (
  update public.documents set title = 'Mia''s better notes' where id = (select mia_doc from ids) returning 1
)
select is(count(*), 1::bigint, 'A creator updates her document') from changed;
with changed as (
  update public.documents set title = 'Mine now' where id = (select ada_doc from ids) returning 1
)
select is(count(*), 0::bigint, 'A member cannot update a colleague''s document') from changed;
select throws_ok(
  $$ update public.documents set usage_count = 1000 where id = (select mia_doc from ids) $$,
  '42501', null, 'A user cannot change usage counts'
);

select tests.authenticate_as('bo');
with removed as (
  delete from public.documents where id = (select mia_doc from ids) returning 1
)
select is(count(*), 0::bigint, 'A member cannot delete a colleague''s document') from removed;

select tests.authenticate_as('adam');
with changed as (
  update public.documents set tags = '{notes,reviewed}' where id = (select mia_doc from ids) returning 1
)
select is(count(*), 1::bigint, 'An admin updates any document of his organization') from changed;

select tests.authenticate_as('otto');
select is_empty($$ select 1 from public.documents where organization_id = (select org_a from ids) $$,
  'An outsider reads no documents of another organization');
with changed as (
  update public.documents set title = 'Defaced' where organization_id = (select org_a from ids) returning 1
)
select is(count(*), 0::bigint, 'An outsider cannot update another organization''s documents') from changed;
with removed as (
  delete from public.documents where organization_id = (select org_a from ids) returning 1
)
select is(count(*), 0::bigint, 'An outsider cannot delete another organization''s documents') from removed;

-- ---------------------------------------------------------------------------------------------
-- document_sections
-- ---------------------------------------------------------------------------------------------
select tests.authenticate_as('mia');
select results_eq(
  $$ insert into public.document_sections (document_id, ordinal, heading, content)
     values ((select mia_doc from ids), 0, 'Shipping', 'Parcels ship from the Rotterdam warehouse every weekday.'),
            ((select mia_doc from ids), 1, 'Returns', 'Returns are accepted within thirty days.')
     returning organization_id, token_count, fts @@ websearch_to_tsquery('english', 'warehouses') $$,
  $$ select * from (values ((select org_a from ids), 14, true), ((select org_a from ids), 10, false)) v $$,
  'A creator adds sections: organization copied, tokens estimated, full text indexed with stemming'
);
select tests.reset_role();
select is(
  (select count(*) from private.jobs where queue = 'document_embeddings' and payload ->> 'document_id' = (select mia_doc::text from ids)),
  1::bigint,
  'Sections without embeddings enqueue one embedding job for their document'
);

select tests.authenticate_as('bo');
select is(
  (select count(*) from public.document_sections where document_id = (select mia_doc from ids)),
  2::bigint,
  'A member reads her organization''s sections'
);
select throws_ok(
  $$ insert into public.document_sections (document_id, ordinal, content) values ((select mia_doc from ids), 9, 'Planted') $$,
  '42501',
  'new row violates row-level security policy for table "document_sections"',
  'A member cannot add sections to a colleague''s document'
);
with changed as (
  update public.document_sections set content = 'Vandalised' where document_id = (select mia_doc from ids) returning 1
)
select is(count(*), 0::bigint, 'A member cannot change a colleague''s sections') from changed;
with removed as (
  delete from public.document_sections where document_id = (select mia_doc from ids) returning 1
)
select is(count(*), 0::bigint, 'A member cannot delete a colleague''s sections') from removed;

select tests.authenticate_as('otto');
select is_empty($$ select 1 from public.document_sections where organization_id = (select org_a from ids) $$,
  'An outsider reads no sections of another organization');
select throws_ok(
  $$ insert into public.document_sections (document_id, ordinal, content) values ((select mia_doc from ids), 9, 'Planted') $$,
  '42501', null, 'An outsider cannot add sections to another organization''s document'
);

select tests.authenticate_as('mia');
select is_empty($$ select 1 from public.document_sections where document_id = (select otto_doc from ids) $$,
  'A member reads no sections of another organization');

-- Embedding lifecycle: the worker writes an embedding; editing the content drops it again.
select tests.authenticate_as_service_role();
update public.document_sections set embedding = tests.embedding(3) where document_id = (select mia_doc from ids);
select private.complete_job(j.id) from private.jobs j
where j.queue = 'document_embeddings' and j.payload ->> 'document_id' = (select mia_doc::text from ids);
select tests.authenticate_as('mia');
with changed as (
  update public.document_sections set content = 'Parcels ship from Antwerp now.'
  where document_id = (select mia_doc from ids) and ordinal = 0
  returning token_count
)
select is(max(token_count), 8, 'Editing a section''s content re-estimates its tokens') from changed;
select results_eq(
  $$ select embedding is null from public.document_sections where document_id = (select mia_doc from ids) order by ordinal $$,
  $$ values (true), (false) $$,
  'Editing a section''s content clears its stale embedding, and only its'
);
select tests.reset_role();
select is(
  (select count(*) from private.jobs where queue = 'document_embeddings' and status = 'queued' and payload ->> 'document_id' = (select mia_doc::text from ids)),
  1::bigint,
  'The edited section gets a new embedding job'
);

select tests.authenticate_as('adam');
with removed as (
  delete from public.document_sections where document_id = (select mia_doc from ids) and ordinal = 1 returning 1
)
select is(count(*), 1::bigint, 'An admin deletes sections of his organization''s documents') from removed;
select tests.authenticate_as('mia');
with removed as (
  delete from public.documents where id = (select mia_doc from ids) returning 1
)
select is(count(*), 1::bigint, 'A creator deletes her document') from removed;
select tests.reset_role();
select is_empty($$ select 1 from public.document_sections where document_id = (select mia_doc from ids) $$,
  'Its sections go with it');

-- ---------------------------------------------------------------------------------------------
-- The documents bucket and file uploads
-- ---------------------------------------------------------------------------------------------
select results_eq(
  $$ select public from storage.buckets where id = 'documents' $$,
  $$ values (false) $$,
  'The documents bucket exists and is private'
);

select tests.authenticate_as('mia');
select lives_ok(
  $$ insert into storage.objects (bucket_id, name, owner, metadata, user_metadata)
     values ('documents', (select mine from object_paths), (select mia from ids),
             '{"size": 2048, "mimetype": "text/markdown"}', '{"original_name": "Q3 report.md"}') $$,
  'A member uploads a file to her own folder of her organization'
);
select throws_ok(
  $$ insert into storage.objects (bucket_id, name, owner) values ('documents', (select bos from object_paths), (select mia from ids)) $$,
  '42501', null, 'A member cannot upload into a colleague''s folder'
);
select throws_ok(
  $$ insert into storage.objects (bucket_id, name, owner) values ('documents', (select other_org from object_paths), (select mia from ids)) $$,
  '42501', null, 'A member cannot upload into another organization'
);
select throws_ok(
  $$ insert into storage.objects (bucket_id, name, owner) values ('documents', (select org_a from ids)::text || '/loose.md', (select mia from ids)) $$,
  '42501', null, 'Uploads must follow {organization}/{user}/{name}'
);

select tests.reset_role();
select results_eq(
  $$ select f.bucket, f.path, f.original_name, f.size_bytes, f.mime_type, f.status, f.user_id, f.organization_id,
            d.source, d.status, d.file_path, d.title, d.created_by
     from public.file_uploads f join public.documents d on d.id = f.document_id
     where f.path = (select mine from object_paths) $$,
  $$ select 'documents', (select mine from object_paths), 'Q3 report.md', 2048::bigint, 'text/markdown', 'pending',
            mia, org_a, 'upload', 'pending', (select mine from object_paths), 'report.md', mia
     from ids $$,
  'An upload creates its file_uploads row and a pending document'
);
select results_eq(
  $$ select j.payload, j.dedupe_key from private.jobs j join public.file_uploads f on j.payload ->> 'file_upload_id' = f.id::text
     where j.queue = 'file_processing' and f.path = (select mine from object_paths) $$,
  $$ select jsonb_build_object('file_upload_id', f.id, 'document_id', f.document_id), 'file_upload:' || f.id
     from public.file_uploads f where f.path = (select mine from object_paths) $$,
  'An upload enqueues its processing job'
);

select tests.authenticate_as('bo');
select is(
  (select count(*) from storage.objects where bucket_id = 'documents' and name = (select mine from object_paths)),
  1::bigint,
  'A member reads the organization''s files'
);
select is(
  (select count(*) from public.file_uploads where path = (select mine from object_paths)),
  1::bigint,
  'A member reads the organization''s file uploads'
);
with changed as (
  update storage.objects set user_metadata = '{"note": "bo was here"}'
  where bucket_id = 'documents' and name = (select mine from object_paths) returning 1
)
select is(count(*), 0::bigint, 'A member cannot overwrite a colleague''s file') from changed;
select set_config('storage.allow_delete_query', 'true', true);
with removed as (
  delete from storage.objects where bucket_id = 'documents' and name = (select mine from object_paths) returning 1
)
select is(count(*), 0::bigint, 'A member cannot delete a colleague''s file') from removed;
select throws_ok(
  $$ update public.file_uploads set status = 'processed' $$,
  '42501', null, 'Users cannot change file uploads'
);

select tests.authenticate_as('otto');
select is_empty($$ select 1 from storage.objects where bucket_id = 'documents' and name = (select mine from object_paths) $$,
  'An outsider cannot read another organization''s files');
select is_empty($$ select 1 from public.file_uploads where organization_id = (select org_a from ids) $$,
  'An outsider reads no file uploads of another organization');

select tests.authenticate_as('mia');
with changed as (
  update storage.objects set metadata = '{"size": 4096, "mimetype": "text/markdown"}'
  where bucket_id = 'documents' and name = (select mine from object_paths) returning 1
)
select is(count(*), 1::bigint, 'A member overwrites her own file') from changed;
select throws_ok(
  $$ update storage.objects set name = (select other_org from object_paths)
     where bucket_id = 'documents' and name = (select mine from object_paths) $$,
  '42501', null, 'A member cannot move her file into another organization'
);
select set_config('storage.allow_delete_query', 'true', true);
with removed as (
  delete from storage.objects where bucket_id = 'documents' and name = (select mine from object_paths) returning 1
)
select is(count(*), 1::bigint, 'A member deletes her own file') from removed;
select tests.reset_role();
select is_empty($$ select 1 from public.file_uploads where path = (select mine from object_paths) $$,
  'Deleting the file removes its file_uploads row');
select is_empty($$ select 1 from public.documents where file_path = (select mine from object_paths) $$,
  'Deleting the file removes its document');

select tests.authenticate_as_service_role();
insert into storage.objects (bucket_id, name) values ('documents', 'not-an-org/stray.md');
select tests.reset_role();
select is_empty($$ select 1 from public.file_uploads where path = 'not-an-org/stray.md' $$,
  'A file outside the {organization}/{user}/ layout is left alone');

select * from finish();
rollback;
