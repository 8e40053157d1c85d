-- File uploads: one row per object uploaded to a knowledge bucket, tracking its processing.
--
-- Contracts:
-- * file_uploads(organization_id, user_id, bucket, path, object_id, original_name, size_bytes,
--   mime_type, checksum, status pending | processing | processed | failed, error, document_id,
--   metadata). `path` is the object name inside the bucket ({org_id}/{user_id}/{name} for
--   `documents`); (bucket, path) is unique. Rows are created and removed by the storage triggers
--   (see *_documents_bucket.sql) and updated by file-processor (service_role).
-- * Members read their organization's uploads. Users never write them directly.

create table public.file_uploads (
  id uuid primary key default gen_random_uuid(),
  organization_id uuid not null references public.organizations (id) on delete cascade,
  user_id uuid references auth.users (id) on delete set null,
  bucket text not null default 'documents' check (char_length(bucket) between 1 and 100),
  path text not null check (char_length(path) between 1 and 1024),
  object_id uuid,
  original_name text not null check (char_length(original_name) between 1 and 1024),
  size_bytes bigint check (size_bytes >= 0),
  mime_type text check (char_length(mime_type) <= 255),
  checksum text check (checksum ~ '^[0-9a-f]{64}$'),
  status text not null default 'pending'
    check (status in ('pending', 'processing', 'processed', 'failed')),
  error text,
  document_id uuid references public.documents (id) on delete set null,
  metadata jsonb not null default '{}' check (jsonb_typeof(metadata) = 'object'),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (bucket, path)
);

create index file_uploads_organization_id_created_at_idx
  on public.file_uploads (organization_id, created_at desc);
create index file_uploads_document_id_idx on public.file_uploads (document_id);
create index file_uploads_user_id_idx on public.file_uploads (user_id);

create trigger set_updated_at
  before update on public.file_uploads
  for each row execute function private.set_updated_at();

alter table public.file_uploads enable row level security;

create policy "Members can read their organizations' file uploads"
  on public.file_uploads for select to authenticated
  using (organization_id in (select private.member_organization_ids()));

revoke all on table public.file_uploads from public, anon, authenticated, service_role;
grant select on table public.file_uploads to authenticated;
grant select, insert, update, delete on table public.file_uploads to service_role;
