-- Writing a document's sections in one statement, keeping the embeddings that still apply.
--
-- Contracts:
-- * private.write_document_sections(document_id, sections jsonb) replaces the document's sections
--   with `sections`, a JSON array of { ordinal, heading, heading_path, page, content, token_count,
--   embedding?, embedding_model? } (embedding as pgvector text '[0.1, ...]'), in one statement:
--   sections at ordinals no longer present are deleted, the rest inserted or updated by
--   (document_id, ordinal); rows whose content, heading, path and page are unchanged are left
--   untouched (no write, embedding kept). A section given no embedding takes the embedding of an
--   existing section of the document with the same content hash and heading, so re-processing
--   changed content embeds only the sections whose text changed. Sections still without one
--   enqueue a `document_embeddings` job (the *_knowledge.sql triggers).
-- * Returns { inserted, updated, deleted, unchanged, without_embedding } as counts.
-- * For service_role (file-processor's worker); the caller has checked the document.

create function private.write_document_sections(document_id uuid, sections jsonb)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
#variable_conflict use_column
declare
  result jsonb;
begin
  if jsonb_typeof(write_document_sections.sections) is distinct from 'array' then
    raise exception 'sections must be a JSON array' using errcode = '22023';
  end if;

  with incoming as (
    select s.ordinal, s.heading, coalesce(s.heading_path, '{}') as heading_path, s.page,
           s.content, s.token_count, s.embedding, s.embedding_model,
           encode(sha256(convert_to(s.content, 'UTF8')), 'hex') as content_hash
    from jsonb_to_recordset(write_document_sections.sections) as s (
      ordinal integer, heading text, heading_path text[], page integer, content text,
      token_count integer, embedding text, embedding_model text
    )
  ),
  existing as (
    select e.ordinal, e.heading, e.heading_path, e.page, e.content_hash
    from public.document_sections e
    where e.document_id = write_document_sections.document_id
  ),
  removed as (
    delete from public.document_sections d
    where d.document_id = write_document_sections.document_id
      and d.ordinal not in (select i.ordinal from incoming i)
    returning 1
  ),
  written as (
    insert into public.document_sections as t (
      document_id, ordinal, heading, heading_path, page, content, token_count, embedding,
      embedding_model
    )
    select
      write_document_sections.document_id, i.ordinal, i.heading, i.heading_path, i.page,
      i.content, i.token_count,
      coalesce(i.embedding::extensions.halfvec, reuse.embedding),
      case when i.embedding is not null then i.embedding_model else reuse.embedding_model end
    from incoming i
    left join lateral (
      select o.embedding, o.embedding_model
      from public.document_sections o
      where o.document_id = write_document_sections.document_id
        and o.content_hash = i.content_hash
        and o.heading is not distinct from i.heading
        and o.embedding is not null
      limit 1
    ) reuse on true
    where not exists (
      select 1 from existing e
      where e.ordinal = i.ordinal
        and e.content_hash = i.content_hash
        and e.heading is not distinct from i.heading
        and e.heading_path = i.heading_path
        and e.page is not distinct from i.page
    )
    on conflict (document_id, ordinal) do update
    set heading = excluded.heading,
        heading_path = excluded.heading_path,
        page = excluded.page,
        content = excluded.content,
        token_count = excluded.token_count,
        embedding = excluded.embedding,
        embedding_model = excluded.embedding_model
    returning (t.xmax = 0) as inserted, t.embedding is null as without_embedding
  )
  select jsonb_build_object(
    'inserted', (select count(*) from written w where w.inserted),
    'updated', (select count(*) from written w where not w.inserted),
    'deleted', (select count(*) from removed),
    'unchanged', (select count(*) from incoming) - (select count(*) from written),
    'without_embedding', (select count(*) from written w where w.without_embedding)
  )
  into result;
  return result;
end;
$$;

revoke all on function private.write_document_sections(uuid, jsonb)
  from public, anon, authenticated, service_role;
grant execute on function private.write_document_sections(uuid, jsonb) to service_role;
