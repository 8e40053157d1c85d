-- Where each section comes from, for file-processor's structure-aware chunks and incremental
-- re-ingestion.
--
-- Contracts (in addition to *_knowledge.sql):
-- * heading_path text[]: the headings the section sits under, outermost first ('{}' at the top);
--   `heading` keeps the same path joined for display and full-text search.
-- * page integer (1-based): the page of a paginated source (PDF); null otherwise.
-- * content_hash: hex SHA-256 of content (UTF-8), set by trigger on every insert and content
--   change, so it always matches the text (a generated column cannot: convert_to is only stable).
--   A section whose hash and heading are unchanged keeps its embedding when re-processed.
-- * embedding_model: the model the embedding was made with (mixed models are then detectable);
--   written by the embedding worker (service_role).
-- * Users adding API sections may set heading_path and page, as they set heading.

alter table public.document_sections
  add column heading_path text[] not null default '{}'
    check (cardinality(heading_path) <= 16),
  add column page integer check (page >= 1),
  add column content_hash text check (content_hash ~ '^[0-9a-f]{64}$'),
  add column embedding_model text check (char_length(embedding_model) <= 200);

-- Trigger function (before insert or update of content on sections): sets content_hash.
create function private.set_section_content_hash()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  new.content_hash := encode(sha256(convert_to(new.content, 'UTF8')), 'hex');
  return new;
end;
$$;

revoke all on function private.set_section_content_hash()
  from public, anon, authenticated, service_role;

create trigger set_content_hash
  before insert or update of content, content_hash on public.document_sections
  for each row execute function private.set_section_content_hash();

update public.document_sections
set content_hash = encode(sha256(convert_to(content, 'UTF8')), 'hex');

create index document_sections_document_id_content_hash_idx
  on public.document_sections (document_id, content_hash);

grant insert (heading_path, page) on table public.document_sections to authenticated;
grant update (heading_path, page) on table public.document_sections to authenticated;
