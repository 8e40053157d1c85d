-- The private storage bucket `documents`, where members upload knowledge files.
--
-- Contracts:
-- * Object names are `{organization_id}/{user_id}/{file name}`. Members of the organization read
--   every object under its folder; a user uploads, overwrites and deletes only under
--   `{an organization of theirs}/{their own user id}/`. Paths are compared as text, so a
--   malformed name can never make a policy fail with a cast error.
-- * After an object is inserted into the bucket, on_document_file_created creates the document
--   (source `upload`, status pending) and the file_uploads row, and enqueues a `file_processing`
--   job { "file_upload_id", "document_id" } (dedupe key `file_upload:<id>`) for file-processor,
--   which extracts, chunks and writes the sections. Objects whose name does not match the layout
--   (possible only for service_role) are left alone.
-- * After an object is deleted, on_document_file_deleted removes its file_uploads row and
--   document (sections cascade). Jobs still queued for it find nothing and complete.
-- * Not handled: renaming (move) or overwriting (upsert) an object keeps the earlier rows.

insert into storage.buckets (id, name, public)
values ('documents', 'documents', false)
on conflict (id) do nothing;

-- Trigger function (after insert on storage.objects, bucket `documents`): creates the document
-- and file_uploads rows and enqueues processing. Security definer: the uploader may not write
-- either table. The storage API runs as the uploading user, who passed the insert policy.
create function private.handle_document_file_created()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  folders text[] := storage.foldername(new.name);
  uuid_pattern constant text := '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$';
  organization_id uuid;
  uploader_id uuid;
  file_name text := storage.filename(new.name);
  size_text text := new.metadata ->> 'size';
  document_id uuid;
  upload_id uuid;
begin
  if coalesce(array_length(folders, 1), 0) <> 2
    or folders[1] !~ uuid_pattern
    or folders[2] !~ uuid_pattern
    or coalesce(file_name, '') = ''
  then
    return null;
  end if;
  select o.id into organization_id from public.organizations o where o.id = folders[1]::uuid;
  if organization_id is null then
    return null;
  end if;
  select u.id into uploader_id from auth.users u where u.id = folders[2]::uuid;

  insert into public.documents (organization_id, created_by, title, source, file_path, mime_type)
  values (
    organization_id,
    uploader_id,
    left(file_name, 500),
    'upload',
    new.name,
    left(new.metadata ->> 'mimetype', 255)
  )
  returning id into document_id;

  insert into public.file_uploads (
    organization_id, user_id, bucket, path, object_id, original_name, size_bytes, mime_type,
    document_id, metadata
  )
  values (
    organization_id,
    uploader_id,
    new.bucket_id,
    new.name,
    new.id,
    coalesce(nullif(new.user_metadata ->> 'original_name', ''), file_name),
    case when size_text ~ '^[0-9]{1,18}$' then size_text::bigint end,
    left(new.metadata ->> 'mimetype', 255),
    document_id,
    coalesce(new.user_metadata, '{}')
  )
  returning id into upload_id;

  perform private.enqueue_job(
    'file_processing',
    jsonb_build_object('file_upload_id', upload_id, 'document_id', document_id),
    'file_upload:' || upload_id
  );
  return null;
end;
$$;

-- Trigger function (after delete on storage.objects, bucket `documents`): removes the object's
-- file_uploads row and its document.
create function private.handle_document_file_deleted()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  removed_document_id uuid;
begin
  delete from public.file_uploads f
  where f.bucket = old.bucket_id and f.path = old.name
  returning f.document_id into removed_document_id;

  delete from public.documents d
  where d.source = 'upload'
    and (d.id = removed_document_id or d.file_path = old.name);
  return null;
end;
$$;

revoke all on function private.handle_document_file_created()
  from public, anon, authenticated, service_role;
revoke all on function private.handle_document_file_deleted()
  from public, anon, authenticated, service_role;

create trigger on_document_file_created
  after insert on storage.objects
  for each row
  when (new.bucket_id = 'documents')
  execute function private.handle_document_file_created();

create trigger on_document_file_deleted
  after delete on storage.objects
  for each row
  when (old.bucket_id = 'documents')
  execute function private.handle_document_file_deleted();

create policy "Members can read their organizations' document files"
  on storage.objects for select to authenticated
  using (
    bucket_id = 'documents'
    and (storage.foldername(name))[1] in (select private.member_organization_ids()::text)
  );

create policy "Members can upload document files to their own folder"
  on storage.objects for insert to authenticated
  with check (
    bucket_id = 'documents'
    and array_length(storage.foldername(name), 1) = 2
    and (storage.foldername(name))[1] in (select private.member_organization_ids()::text)
    and (storage.foldername(name))[2] = (select auth.uid())::text
  );

create policy "Members can overwrite document files in their own folder"
  on storage.objects for update to authenticated
  using (
    bucket_id = 'documents'
    and (storage.foldername(name))[1] in (select private.member_organization_ids()::text)
    and (storage.foldername(name))[2] = (select auth.uid())::text
  )
  with check (
    bucket_id = 'documents'
    and array_length(storage.foldername(name), 1) = 2
    and (storage.foldername(name))[1] in (select private.member_organization_ids()::text)
    and (storage.foldername(name))[2] = (select auth.uid())::text
  );

create policy "Members can delete document files in their own folder"
  on storage.objects for delete to authenticated
  using (
    bucket_id = 'documents'
    and (storage.foldername(name))[1] in (select private.member_organization_ids()::text)
    and (storage.foldername(name))[2] = (select auth.uid())::text
  );
