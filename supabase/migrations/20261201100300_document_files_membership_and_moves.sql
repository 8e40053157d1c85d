-- Document files: membership is checked when the object is written, and moves are followed.
--
-- Before this migration an upload through a signed upload URL (which the storage API writes
-- without asking RLS) created a document after its requester had been removed from the
-- organization, and renaming an object left its file_uploads/documents rows at the old name (that
-- name then answered 409 forever) and the document pointing at nothing.
--
-- Contracts (in addition to *_documents_bucket.sql):
-- * Writing an object named `{organization_id}/{user_id}/{name}` into `documents` (insert, or a
--   move/rename onto such a name) requires that user to be a current member of that existing
--   organization: otherwise the object write itself fails with 42501 (the storage API answers
--   403), so nothing is stored. Names outside the layout or of unknown organizations are still
--   left alone (possible only for service_role).
-- * A move within one organization's folder (rename, or another user folder) updates the
--   file_uploads row (path, object_id, user_id) and the document (file_path, created_by, and the
--   title when it was the old file name) in place; sections and embeddings stay. A move into
--   another organization, bucket or layout removes the old rows, and creates new ones (and
--   queues processing) when the destination is a document file. Stale rows already at the
--   destination name are removed first.
-- * Overwriting an object (upsert) still keeps its rows.

-- The organization and user of a `documents` object name, when it follows the layout and the
-- organization exists; nulls otherwise. user_id is the folder's id even when no such user exists.
create function private.document_file_folder(
  object_name text,
  out organization_id uuid,
  out user_id uuid
)
language plpgsql
stable
security definer
set search_path = ''
as $$
declare
  folders text[] := storage.foldername(object_name);
  uuid_pattern constant text := '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$';
begin
  if coalesce(array_length(folders, 1), 0) <> 2
    or folders[1] !~ uuid_pattern
    or folders[2] !~ uuid_pattern
    or coalesce(storage.filename(object_name), '') = ''
  then
    return;
  end if;
  select o.id into document_file_folder.organization_id
  from public.organizations o
  where o.id = folders[1]::uuid;
  if document_file_folder.organization_id is not null then
    document_file_folder.user_id := folders[2]::uuid;
  end if;
end;
$$;

-- Raises 42501 unless the user is a current member of the organization.
create function private.require_document_file_member(organization_id uuid, user_id uuid)
returns void
language plpgsql
stable
security definer
set search_path = ''
as $$
begin
  if not exists (
    select 1
    from public.organization_members m
    where m.organization_id = require_document_file_member.organization_id
      and m.user_id = require_document_file_member.user_id
  ) then
    raise exception 'Only current members of organization "%" can store its document files',
      require_document_file_member.organization_id
      using errcode = '42501';
  end if;
end;
$$;

-- Removes the file_uploads row and the upload document of a bucket path.
create function private.forget_document_file(bucket_id text, object_name text)
returns void
language plpgsql
security definer
set search_path = ''
as $$
declare
  removed_document_id uuid;
begin
  delete from public.file_uploads f
  where f.bucket = forget_document_file.bucket_id and f.path = forget_document_file.object_name
  returning f.document_id into removed_document_id;

  delete from public.documents d
  where d.source = 'upload'
    and (d.id = removed_document_id or d.file_path = forget_document_file.object_name);
end;
$$;

-- Creates the document and file_uploads rows of a document object and queues its processing,
-- after checking membership. Objects outside the layout are left alone.
create function private.register_document_file(object storage.objects)
returns void
language plpgsql
security definer
set search_path = ''
as $$
declare
  folder record := private.document_file_folder(object.name);
  file_name text := storage.filename(object.name);
  size_text text := object.metadata ->> 'size';
  document_id uuid;
  upload_id uuid;
begin
  if folder.organization_id is null then
    return;
  end if;
  perform private.require_document_file_member(folder.organization_id, folder.user_id);

  insert into public.documents (organization_id, created_by, title, source, file_path, mime_type)
  values (
    folder.organization_id,
    folder.user_id,
    left(file_name, 500),
    'upload',
    object.name,
    left(object.metadata ->> 'mimetype', 255)
  )
  returning id into document_id;

  insert into public.file_uploads (
    organization_id, user_id, bucket, path, object_id, original_name, size_bytes, mime_type,
    document_id, metadata
  )
  values (
    folder.organization_id,
    folder.user_id,
    object.bucket_id,
    object.name,
    object.id,
    coalesce(nullif(object.user_metadata ->> 'original_name', ''), file_name),
    case when size_text ~ '^[0-9]{1,18}$' then size_text::bigint end,
    left(object.metadata ->> 'mimetype', 255),
    document_id,
    coalesce(object.user_metadata, '{}')
  )
  returning id into upload_id;

  perform private.enqueue_job(
    'file_processing',
    jsonb_build_object('file_upload_id', upload_id, 'document_id', document_id),
    'file_upload:' || upload_id
  );
end;
$$;

-- Trigger function (after insert on storage.objects, bucket `documents`), same name and
-- trigger as before: now refuses non-members.
create or replace function private.handle_document_file_created()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  perform private.register_document_file(new);
  return null;
end;
$$;

-- Trigger function (after update of name or bucket_id on storage.objects, either side in
-- `documents`): follows the move.
create function private.handle_document_file_moved()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  old_folder record;
  new_folder record;
  moved_document_id uuid;
begin
  if old.bucket_id = new.bucket_id and old.name = new.name then
    return null;
  end if;
  if new.bucket_id = 'documents' then
    perform private.forget_document_file(new.bucket_id, new.name);
  end if;
  if old.bucket_id = 'documents' and new.bucket_id = 'documents' then
    old_folder := private.document_file_folder(old.name);
    new_folder := private.document_file_folder(new.name);
    if old_folder.organization_id is not null
      and new_folder.organization_id = old_folder.organization_id
    then
      perform private.require_document_file_member(new_folder.organization_id, new_folder.user_id);
      update public.file_uploads f
      set path = new.name, object_id = new.id, user_id = new_folder.user_id
      where f.bucket = old.bucket_id and f.path = old.name
      returning f.document_id into moved_document_id;
      if found then
        update public.documents d
        set file_path = new.name,
            created_by = new_folder.user_id,
            title = case
              when d.title = left(storage.filename(old.name), 500)
                then left(storage.filename(new.name), 500)
              else d.title
            end
        where d.source = 'upload' and (d.id = moved_document_id or d.file_path = old.name);
        return null;
      end if;
    end if;
  end if;
  if old.bucket_id = 'documents' then
    perform private.forget_document_file(old.bucket_id, old.name);
  end if;
  if new.bucket_id = 'documents' then
    perform private.register_document_file(new);
  end if;
  return null;
end;
$$;

revoke all on function private.document_file_folder(text)
  from public, anon, authenticated, service_role;
revoke all on function private.require_document_file_member(uuid, uuid)
  from public, anon, authenticated, service_role;
revoke all on function private.forget_document_file(text, text)
  from public, anon, authenticated, service_role;
revoke all on function private.register_document_file(storage.objects)
  from public, anon, authenticated, service_role;
revoke all on function private.handle_document_file_moved()
  from public, anon, authenticated, service_role;

create trigger on_document_file_moved
  after update of name, bucket_id on storage.objects
  for each row
  when (old.bucket_id = 'documents' or new.bucket_id = 'documents')
  execute function private.handle_document_file_moved();
