-- Overwritten document files are processed again.
--
-- Before this migration an upsert onto an existing object of the `documents` bucket kept its
-- file_uploads/documents rows (see *_document_files_membership_and_moves.sql) and nothing read the
-- new bytes: the sections went on describing the old file.
--
-- Contracts:
-- * After an object of `documents` gets a new version under the same name (an overwrite), its
--   file_uploads row (object_id, size_bytes, the claimed mime_type) and its document go back to
--   `pending` and a `file_processing` job { file_upload_id, document_id } is queued, with dedupe key
--   `file_upload:<id>:<version>`, so a job still running on the previous version does not swallow
--   this one. file-processor then rewrites and re-embeds only the sections whose text changed.
-- * Objects without a file_uploads row (outside the layout) are left alone. Moves (a new name)
--   are the moves trigger's; inserts the created trigger's.

-- Trigger function (after update of version on storage.objects, bucket `documents`, same name):
-- marks the upload and document pending again and queues processing. Security definer: the
-- uploader may not write either table.
create function private.handle_document_file_overwritten()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  upload_id uuid;
  upload_document_id uuid;
  size_text text := new.metadata ->> 'size';
begin
  update public.file_uploads f
  set status = 'pending',
      error = null,
      object_id = new.id,
      size_bytes = case when size_text ~ '^[0-9]{1,18}$' then size_text::bigint else f.size_bytes end,
      mime_type = coalesce(left(new.metadata ->> 'mimetype', 255), f.mime_type)
  where f.bucket = new.bucket_id and f.path = new.name
  returning f.id, f.document_id into upload_id, upload_document_id;
  if upload_id is null or upload_document_id is null then
    return null;
  end if;

  update public.documents d
  set status = 'pending', error = null
  where d.id = upload_document_id;

  perform private.enqueue_job(
    'file_processing',
    jsonb_build_object('file_upload_id', upload_id, 'document_id', upload_document_id),
    'file_upload:' || upload_id || ':' || left(coalesce(new.version, ''), 100)
  );
  return null;
end;
$$;

revoke all on function private.handle_document_file_overwritten()
  from public, anon, authenticated, service_role;

create trigger on_document_file_overwritten
  after update of version on storage.objects
  for each row
  when (
    new.bucket_id = 'documents'
    and old.bucket_id = 'documents'
    and old.name = new.name
    and old.version is distinct from new.version
  )
  execute function private.handle_document_file_overwritten();
