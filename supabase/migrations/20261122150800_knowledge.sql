-- Knowledge: an organization's documents and the sections they are chunked into.
--
-- Contracts:
-- * documents(organization_id, created_by, title, source upload | api, file_path, mime_type,
--   checksum, status pending | processing | processed | failed, error, tags, usage_count,
--   metadata). file_path is the object name in the `documents` bucket for uploads (the storage
--   trigger creates those rows, see *_documents_bucket.sql); API documents have none. checksum is
--   the hex SHA-256 of the source, for incremental re-ingestion.
-- * document_sections(document_id, organization_id, ordinal, heading, content, token_count,
--   embedding halfvec(1536), fts). organization_id is copied from the document by trigger.
--   fts is generated: heading weighted A, content B, English configuration. Sections go with
--   their document (on delete cascade).
-- * Embeddings are filled by the embedding worker: inserting sections without one enqueues a
--   `document_embeddings` job { "document_id" } (dedupe key `document:<id>`) for file-processor,
--   which embeds every section of the document whose embedding is null. Changing a section's
--   content clears its embedding and enqueues the same job.
-- * Members read their organization's documents and sections. Members add API documents;
--   a document's creator (while a member) and the organization's owners and admins change or
--   delete the document and its sections. Status, error and usage are service_role's.

create table public.documents (
  id uuid primary key default gen_random_uuid(),
  organization_id uuid not null references public.organizations (id) on delete cascade,
  created_by uuid default auth.uid() references auth.users (id) on delete set null,
  title text not null check (char_length(title) between 1 and 500),
  source text not null default 'api' check (source in ('upload', 'api')),
  file_path text check (char_length(file_path) <= 1024),
  mime_type text check (char_length(mime_type) <= 255),
  checksum text check (checksum ~ '^[0-9a-f]{64}$'),
  status text not null default 'pending'
    check (status in ('pending', 'processing', 'processed', 'failed')),
  error text,
  tags text[] not null default '{}',
  usage_count integer not null default 0 check (usage_count >= 0),
  metadata jsonb not null default '{}' check (jsonb_typeof(metadata) = 'object'),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  check (source <> 'upload' or file_path is not null)
);

create index documents_organization_id_created_at_idx
  on public.documents (organization_id, created_at desc);
create index documents_created_by_idx on public.documents (created_by);
create index documents_tags_idx on public.documents using gin (tags);

create table public.document_sections (
  id uuid primary key default gen_random_uuid(),
  document_id uuid not null references public.documents (id) on delete cascade,
  organization_id uuid not null references public.organizations (id) on delete cascade,
  ordinal integer not null check (ordinal >= 0),
  heading text check (char_length(heading) <= 1000),
  content text not null check (char_length(content) between 1 and 20000),
  token_count integer not null check (token_count >= 0),
  embedding extensions.halfvec(1536),
  fts tsvector generated always as (
    setweight(to_tsvector('english', coalesce(heading, '')), 'A')
    || setweight(to_tsvector('english', content), 'B')
  ) stored,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (document_id, ordinal)
);

create index document_sections_organization_id_idx on public.document_sections (organization_id);
create index document_sections_fts_idx on public.document_sections using gin (fts);
create index document_sections_embedding_idx on public.document_sections
  using hnsw (embedding extensions.halfvec_cosine_ops);

create trigger set_updated_at
  before update on public.documents
  for each row execute function private.set_updated_at();
create trigger set_updated_at
  before update on public.document_sections
  for each row execute function private.set_updated_at();

-- Whether the caller may change the document and its sections: its creator while a member, or
-- an organization owner or admin. For policies on documents and document_sections.
create function private.can_edit_document(document_id uuid)
returns boolean
language sql
stable
security definer
set search_path = ''
as $$
  select exists (
    select 1
    from public.documents d
    where d.id = can_edit_document.document_id
      and (
        (d.created_by = (select auth.uid()) and private.is_organization_member(d.organization_id))
        or private.has_organization_role(d.organization_id, array['owner', 'admin'])
      )
  );
$$;

revoke all on function private.can_edit_document(uuid)
  from public, anon, authenticated, service_role;
grant execute on function private.can_edit_document(uuid) to authenticated;

-- Trigger function (before insert or update of document_id on sections): copies the document's
-- organization, fills token_count (ceil(characters / 4)) when not given, and drops an embedding
-- made for content that changed.
create function private.prepare_document_section()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  select d.organization_id into new.organization_id
  from public.documents d
  where d.id = new.document_id;
  if not found then
    raise exception 'Unknown document: "%"', new.document_id using errcode = '23503';
  end if;
  if tg_op = 'INSERT' then
    new.token_count := coalesce(new.token_count, ceil(char_length(new.content) / 4.0)::integer);
  elsif new.content is distinct from old.content then
    if new.token_count is not distinct from old.token_count then
      new.token_count := ceil(char_length(new.content) / 4.0)::integer;
    end if;
    -- Compared as text: halfvec's = lives in schema extensions, off this search_path.
    if new.embedding::text is not distinct from old.embedding::text then
      new.embedding := null;
    end if;
  end if;
  return new;
end;
$$;

-- Trigger function (after insert or update on sections, per statement): enqueues one embedding
-- job per document that now has sections without an embedding.
create function private.enqueue_document_embeddings()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  pending_document uuid;
begin
  for pending_document in
    select distinct s.document_id from changed_sections s where s.embedding is null
  loop
    perform private.enqueue_job(
      'document_embeddings',
      jsonb_build_object('document_id', pending_document),
      'document:' || pending_document
    );
  end loop;
  return null;
end;
$$;

revoke all on function private.prepare_document_section()
  from public, anon, authenticated, service_role;
revoke all on function private.enqueue_document_embeddings()
  from public, anon, authenticated, service_role;

create trigger prepare_section
  before insert or update of document_id, content, token_count, embedding
  on public.document_sections
  for each row execute function private.prepare_document_section();

create trigger enqueue_embeddings
  after insert on public.document_sections
  referencing new table as changed_sections
  for each statement execute function private.enqueue_document_embeddings();

create trigger enqueue_embeddings_after_update
  after update on public.document_sections
  referencing new table as changed_sections
  for each statement execute function private.enqueue_document_embeddings();

alter table public.documents enable row level security;
alter table public.document_sections enable row level security;

create policy "Members can read their organizations' documents"
  on public.documents for select to authenticated
  using (organization_id in (select private.member_organization_ids()));

create policy "Members can add documents to their organizations"
  on public.documents for insert to authenticated
  with check (
    created_by = (select auth.uid())
    and organization_id in (select private.member_organization_ids())
  );

create policy "Creators and organization admins can update documents"
  on public.documents for update to authenticated
  using (private.can_edit_document(id))
  with check (private.can_edit_document(id));

create policy "Creators and organization admins can delete documents"
  on public.documents for delete to authenticated
  using (private.can_edit_document(id));

create policy "Members can read their organizations' document sections"
  on public.document_sections for select to authenticated
  using (organization_id in (select private.member_organization_ids()));

create policy "Creators and organization admins can add document sections"
  on public.document_sections for insert to authenticated
  with check (private.can_edit_document(document_id));

create policy "Creators and organization admins can update document sections"
  on public.document_sections for update to authenticated
  using (private.can_edit_document(document_id))
  with check (private.can_edit_document(document_id));

create policy "Creators and organization admins can delete document sections"
  on public.document_sections for delete to authenticated
  using (private.can_edit_document(document_id));

revoke all on table public.documents, public.document_sections
  from public, anon, authenticated, service_role;
grant select, delete on table public.documents to authenticated;
grant insert (id, organization_id, title, mime_type, checksum, tags, metadata)
  on table public.documents to authenticated;
grant update (title, tags, metadata) on table public.documents to authenticated;
grant select, delete on table public.document_sections to authenticated;
grant insert (id, document_id, ordinal, heading, content, token_count, embedding)
  on table public.document_sections to authenticated;
grant update (heading, content, token_count, embedding)
  on table public.document_sections to authenticated;
grant select, insert, update, delete on table public.documents, public.document_sections
  to service_role;
