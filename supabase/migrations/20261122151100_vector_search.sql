-- Search RPCs over knowledge, messages and agents. All are security invoker: row-level
-- security decides what each caller can find, exactly as for a plain select.
--
-- Contracts:
-- * match_document_sections(query_embedding, match_count = 10, filter = '{}', min_similarity = 0)
--   Sections by cosine similarity (1 - cosine distance), best first.
-- * hybrid_search(query_text, query_embedding = null, match_count = 10, full_text_weight = 1,
--   semantic_weight = 1, rrf_k = 50, filter = '{}')
--   Reciprocal rank fusion of full-text rank (websearch_to_tsquery, English, ts_rank_cd) and
--   semantic rank, each side taking 2 x match_count candidates: score =
--   full_text_weight / (rrf_k + full_text_rank) + semantic_weight / (rrf_k + semantic_rank).
--   Either side may be absent (blank query_text, or null query_embedding).
-- * match_messages(query_embedding, match_count = 10, conversation_id = null)
--   The caller's own messages (auth.uid(), also for service_role), optionally one conversation.
--   The result names the conversation `message_conversation_id` (an output column may not share
--   the conversation_id parameter's name).
-- * find_similar_agents(agent_id, match_count = 5, min_similarity = 0)
--   Non-archived agents of the caller's organizations (auth.uid()) similar to the given one,
--   by description embedding. Empty when the agent is not visible or has no embedding yet.
-- * filter (document searches): a JSON object with any of organization_id (uuid), document_id
--   (uuid), document_ids (uuid array), tags (text array: documents having all of them). Unknown
--   keys and match_count outside 1..100 fail with 22023; malformed uuids with 22P02.
--   service_role bypasses RLS and sees every organization: it should pass organization_id.
-- * Filters and RLS are applied while the HNSW index is walked: hnsw.iterative_scan =
--   relaxed_order (pgvector 0.8) keeps scanning past ef_search until match_count rows pass, so
--   a filtered query still returns match_count rows when that many match. Relaxed order may
--   swap near-equal neighbours; each function re-sorts its candidates by exact distance.

-- Sections most similar to query_embedding, for RAG. For authenticated users (their
-- organizations' sections) and service_role (all: pass filter.organization_id).
create function public.match_document_sections(
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
create function public.hybrid_search(
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

-- The caller's own messages most similar to query_embedding, optionally within one
-- conversation (long-term memory). For authenticated users; service_role must act as the user.
create function public.match_messages(
  query_embedding extensions.halfvec,
  match_count integer default 10,
  conversation_id uuid default null
)
returns table (
  id uuid,
  message_conversation_id uuid,
  seq integer,
  role text,
  content text,
  created_at timestamptz,
  similarity double precision
)
language plpgsql
stable
security invoker
set search_path = ''
set hnsw.iterative_scan = 'relaxed_order'
as $$
#variable_conflict use_column
begin
  if coalesce(match_messages.match_count, 0) not between 1 and 100 then
    raise exception 'match_count must be between 1 and 100' using errcode = '22023';
  end if;

  return query
  with candidates as materialized (
    select m.id, m.conversation_id, m.seq, m.role, m.content, m.created_at,
           m.embedding operator(extensions.<=>) match_messages.query_embedding as distance
    from public.messages m
    where m.embedding is not null
      and m.user_id = (select auth.uid())
      and (match_messages.conversation_id is null
        or m.conversation_id = match_messages.conversation_id)
    order by m.embedding operator(extensions.<=>) match_messages.query_embedding
    limit match_messages.match_count
  )
  select c.id, c.conversation_id, c.seq, c.role, c.content, c.created_at, 1 - c.distance
  from candidates c
  order by c.distance, c.id;
end;
$$;

-- Agents of the caller's organizations whose descriptions are closest to the given agent's.
-- For authenticated users; service_role must act as a user.
create function public.find_similar_agents(
  agent_id uuid,
  match_count integer default 5,
  min_similarity double precision default 0
)
returns table (
  id uuid,
  organization_id uuid,
  name text,
  description text,
  type text,
  status text,
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
  target extensions.halfvec;
begin
  if coalesce(find_similar_agents.match_count, 0) not between 1 and 100 then
    raise exception 'match_count must be between 1 and 100' using errcode = '22023';
  end if;
  select a.description_embedding into target
  from public.agents a
  where a.id = find_similar_agents.agent_id;
  if target is null then
    return;
  end if;

  return query
  with candidates as materialized (
    select a.id, a.organization_id, a.name, a.description, a.type, a.status,
           a.description_embedding operator(extensions.<=>) target as distance
    from public.agents a
    where a.description_embedding is not null
      and a.id <> find_similar_agents.agent_id
      and a.status <> 'archived'
      and a.organization_id in (
        select m.organization_id
        from public.organization_members m
        where m.user_id = (select auth.uid())
      )
    order by a.description_embedding operator(extensions.<=>) target
    limit find_similar_agents.match_count
  )
  select c.id, c.organization_id, c.name, c.description, c.type, c.status, 1 - c.distance
  from candidates c
  where 1 - c.distance >= coalesce(find_similar_agents.min_similarity, 0)
  order by c.distance, c.id;
end;
$$;

revoke all on function
  public.match_document_sections(extensions.halfvec, integer, jsonb, double precision)
  from public, anon, authenticated, service_role;
revoke all on function public.hybrid_search(
  text, extensions.halfvec, integer, double precision, double precision, integer, jsonb
)
  from public, anon, authenticated, service_role;
revoke all on function public.match_messages(extensions.halfvec, integer, uuid)
  from public, anon, authenticated, service_role;
revoke all on function public.find_similar_agents(uuid, integer, double precision)
  from public, anon, authenticated, service_role;
grant execute on function
  public.match_document_sections(extensions.halfvec, integer, jsonb, double precision)
  to authenticated, service_role;
grant execute on function public.hybrid_search(
  text, extensions.halfvec, integer, double precision, double precision, integer, jsonb
)
  to authenticated, service_role;
grant execute on function public.match_messages(extensions.halfvec, integer, uuid)
  to authenticated, service_role;
grant execute on function public.find_similar_agents(uuid, integer, double precision)
  to authenticated, service_role;
