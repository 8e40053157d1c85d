-- Search scope and input bounds for match_document_sections and hybrid_search (same signatures,
-- same argument names, same results; only the checks below are new).
--
-- Contracts (in addition to *_vector_search.sql):
-- * Scope: callers pass the organization they work in as filter.organization_id. It is required
--   when there is no user (service_role, which bypasses RLS and would otherwise search every
--   tenant): 22023 without it. For users it is optional, because RLS already limits results to
--   their organizations and memberships are now accepted, never imposed
--   (*_organization_invitations.sql); without it a user searches all of their organizations.
--   Functions always pass it (execute-agent: the agent's organization).
-- * Bounds: hybrid_search's query_text is at most 4,000 characters (about 700 words, far more
--   than a question needs); longer input fails with 22001 before it is parsed. A 100,000-word
--   query was a stack-depth error on Postgres and crashed PGlite; now it is a clean error.
--   (match_document_sections takes no text.)

create or replace function public.match_document_sections(
  query_embedding extensions.halfvec,
  match_count integer default 10,
  filter jsonb default '{}',
  min_similarity double precision default 0
)
returns table (
  id uuid,
  document_id uuid,
  organization_id uuid,
  ordinal integer,
  heading text,
  content text,
  similarity double precision
)
language plpgsql
stable
security invoker
set search_path = ''
set hnsw.iterative_scan = 'relaxed_order'
as $$
#variable_conflict use_column
declare
  unknown_keys text;
begin
  if match_document_sections.filter is not null
    and jsonb_typeof(match_document_sections.filter) <> 'object'
  then
    raise exception 'Filter must be a JSON object' using errcode = '22023';
  end if;
  select string_agg(format('"%s"', k), ', ' order by k) into unknown_keys
  from jsonb_object_keys(coalesce(match_document_sections.filter, '{}')) k
  where k not in ('organization_id', 'document_id', 'document_ids', 'tags');
  if unknown_keys is not null then
    raise exception 'Unknown filter keys: %', unknown_keys
      using errcode = '22023',
            hint = 'Allowed keys: organization_id, document_id, document_ids, tags.';
  end if;
  if coalesce(match_document_sections.match_count, 0) not between 1 and 100 then
    raise exception 'match_count must be between 1 and 100' using errcode = '22023';
  end if;
  if (select auth.uid()) is null and match_document_sections.filter ->> 'organization_id' is null then
    raise exception 'filter.organization_id is required when searching without a user'
      using errcode = '22023',
            hint = 'Pass the organization you work in: {"organization_id": "<uuid>"}.';
  end if;

  return query
  with candidates as materialized (
    select
      s.id, s.document_id, s.organization_id, s.ordinal, s.heading, s.content,
      s.embedding operator(extensions.<=>) match_document_sections.query_embedding as distance
    from public.document_sections s
    where s.embedding is not null
      and (match_document_sections.filter ->> 'organization_id' is null
        or s.organization_id = (match_document_sections.filter ->> 'organization_id')::uuid)
      and (match_document_sections.filter ->> 'document_id' is null
        or s.document_id = (match_document_sections.filter ->> 'document_id')::uuid)
      and (match_document_sections.filter -> 'document_ids' is null
        or s.document_id = any (array(
          select jsonb_array_elements_text(match_document_sections.filter -> 'document_ids')::uuid
        )))
      and (match_document_sections.filter -> 'tags' is null
        or exists (
          select 1
          from public.documents d
          where d.id = s.document_id
            and d.tags @> array(
              select jsonb_array_elements_text(match_document_sections.filter -> 'tags')
            )
        ))
    order by s.embedding operator(extensions.<=>) match_document_sections.query_embedding
    limit match_document_sections.match_count
  )
  select c.id, c.document_id, c.organization_id, c.ordinal, c.heading, c.content,
         1 - c.distance as similarity
  from candidates c
  where 1 - c.distance >= coalesce(match_document_sections.min_similarity, 0)
  order by c.distance, c.id;
end;
$$;

-- Keyword and semantic search fused with reciprocal rank fusion. For authenticated users and
-- service_role, like match_document_sections.
create or replace function public.hybrid_search(
  query_text text,
  query_embedding extensions.halfvec default null,
  match_count integer default 10,
  full_text_weight double precision default 1,
  semantic_weight double precision default 1,
  rrf_k integer default 50,
  filter jsonb default '{}'
)
returns table (
  id uuid,
  document_id uuid,
  organization_id uuid,
  document_title text,
  ordinal integer,
  heading text,
  content text,
  score double precision,
  full_text_rank integer,
  semantic_rank integer,
  similarity double precision
)
language plpgsql
stable
security invoker
set search_path = ''
set hnsw.iterative_scan = 'relaxed_order'
as $$
#variable_conflict use_column
declare
  text_query tsquery;
  candidate_count integer;
  unknown_keys text;
begin
  if hybrid_search.filter is not null and jsonb_typeof(hybrid_search.filter) <> 'object' then
    raise exception 'Filter must be a JSON object' using errcode = '22023';
  end if;
  select string_agg(format('"%s"', k), ', ' order by k) into unknown_keys
  from jsonb_object_keys(coalesce(hybrid_search.filter, '{}')) k
  where k not in ('organization_id', 'document_id', 'document_ids', 'tags');
  if unknown_keys is not null then
    raise exception 'Unknown filter keys: %', unknown_keys
      using errcode = '22023',
            hint = 'Allowed keys: organization_id, document_id, document_ids, tags.';
  end if;
  if coalesce(hybrid_search.match_count, 0) not between 1 and 100 then
    raise exception 'match_count must be between 1 and 100' using errcode = '22023';
  end if;
  if hybrid_search.rrf_k is null or hybrid_search.rrf_k < 1 then
    raise exception 'rrf_k must be at least 1' using errcode = '22023';
  end if;
  if (select auth.uid()) is null and hybrid_search.filter ->> 'organization_id' is null then
    raise exception 'filter.organization_id is required when searching without a user'
      using errcode = '22023',
            hint = 'Pass the organization you work in: {"organization_id": "<uuid>"}.';
  end if;
  if char_length(hybrid_search.query_text) > 4000 then
    raise exception 'query_text must be at most 4000 characters, got %',
      char_length(hybrid_search.query_text)
      using errcode = '22001';
  end if;
  candidate_count := hybrid_search.match_count * 2;
  if nullif(btrim(hybrid_search.query_text), '') is not null then
    text_query := websearch_to_tsquery('english', hybrid_search.query_text);
  end if;

  return query
  with full_text as (
    select ranked.id, row_number() over (order by ranked.rank desc, ranked.id) as rank_ix
    from (
      select s.id, ts_rank_cd(s.fts, text_query) as rank
      from public.document_sections s
      where text_query is not null
        and s.fts @@ text_query
        and (hybrid_search.filter ->> 'organization_id' is null
          or s.organization_id = (hybrid_search.filter ->> 'organization_id')::uuid)
        and (hybrid_search.filter ->> 'document_id' is null
          or s.document_id = (hybrid_search.filter ->> 'document_id')::uuid)
        and (hybrid_search.filter -> 'document_ids' is null
          or s.document_id = any (array(
            select jsonb_array_elements_text(hybrid_search.filter -> 'document_ids')::uuid
          )))
        and (hybrid_search.filter -> 'tags' is null
          or exists (
            select 1
            from public.documents d
            where d.id = s.document_id
              and d.tags @> array(select jsonb_array_elements_text(hybrid_search.filter -> 'tags'))
          ))
      order by rank desc, s.id
      limit candidate_count
    ) ranked
  ),
  semantic as (
    select nearest.id, row_number() over (order by nearest.distance, nearest.id) as rank_ix
    from (
      select s.id,
             s.embedding operator(extensions.<=>) hybrid_search.query_embedding as distance
      from public.document_sections s
      where hybrid_search.query_embedding is not null
        and s.embedding is not null
        and (hybrid_search.filter ->> 'organization_id' is null
          or s.organization_id = (hybrid_search.filter ->> 'organization_id')::uuid)
        and (hybrid_search.filter ->> 'document_id' is null
          or s.document_id = (hybrid_search.filter ->> 'document_id')::uuid)
        and (hybrid_search.filter -> 'document_ids' is null
          or s.document_id = any (array(
            select jsonb_array_elements_text(hybrid_search.filter -> 'document_ids')::uuid
          )))
        and (hybrid_search.filter -> 'tags' is null
          or exists (
            select 1
            from public.documents d
            where d.id = s.document_id
              and d.tags @> array(select jsonb_array_elements_text(hybrid_search.filter -> 'tags'))
          ))
      order by s.embedding operator(extensions.<=>) hybrid_search.query_embedding
      limit candidate_count
    ) nearest
  )
  select
    s.id, s.document_id, s.organization_id, d.title, s.ordinal, s.heading, s.content,
    coalesce(hybrid_search.full_text_weight / (hybrid_search.rrf_k + ft.rank_ix), 0.0)
      + coalesce(hybrid_search.semantic_weight / (hybrid_search.rrf_k + se.rank_ix), 0.0) as score,
    ft.rank_ix::integer,
    se.rank_ix::integer,
    1 - (s.embedding operator(extensions.<=>) hybrid_search.query_embedding)
  from full_text ft
  full outer join semantic se on se.id = ft.id
  join public.document_sections s on s.id = coalesce(ft.id, se.id)
  join public.documents d on d.id = s.document_id
  order by score desc, s.id
  limit hybrid_search.match_count;
end;
$$;

