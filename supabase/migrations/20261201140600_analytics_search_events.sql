-- Searches record their own performance events: tracked variants of the two document search
-- RPCs, which return exactly what the originals return and add one analytics event per call.
--
-- Why wrappers: the search RPCs are `stable` (they cannot write) and belong to
-- *_vector_search.sql / *_search_scope_and_bounds.sql; redefining them here would race the
-- migrations that own them. So callers that want their searches measured (execute-agent, client
-- apps) call the tracked variants, with the same arguments.
--
-- Contracts:
-- * hybrid_search_tracked(...) and match_document_sections_tracked(...): same parameters and
--   result columns as hybrid_search / match_document_sections, security invoker (RLS applies
--   to the search exactly as before). The original is called by name at run time, so a later
--   `create or replace` of it is picked up.
-- * After the search, one event: source `search`, name `search.hybrid` / `search.semantic`,
--   user auth.uid() (null for service_role), organization filter.organization_id (else the first
--   result's), duration_ms = the search's wall time, properties { results, match_count,
--   query_chars (hybrid only) }. No event when there is no organization to attribute it to, or
--   when the caller (a user) is not a member of it. The insert runs under the caller's RLS
--   ("Members can record their own search events"), through record_search_event (security
--   invoker, so callable by users but only ever writing their own search events in their own
--   organizations, which the policy allows anyway).

-- Inserts one search event for the caller, when the organization can be attributed and the
-- caller is service_role or a member of it. Internal to the tracked searches; runs as the caller.
create function public.record_search_event(
  event_name text,
  started timestamptz,
  results integer,
  organization_id uuid,
  properties jsonb
)
returns void
language plpgsql
volatile
security invoker
set search_path = ''
as $$
declare
  caller uuid := auth.uid();
begin
  if record_search_event.organization_id is null then
    return;
  end if;
  if caller is null and coalesce(auth.role(), '') <> 'service_role' then
    return;
  end if;
  if caller is not null and not exists (
    select 1
    from public.organization_members m
    where m.organization_id = record_search_event.organization_id and m.user_id = caller
  ) then
    return;
  end if;
  insert into public.analytics_events (
    organization_id, user_id, source, name, occurred_at, duration_ms, properties
  )
  values (
    record_search_event.organization_id,
    caller,
    'search',
    record_search_event.event_name,
    record_search_event.started,
    extract(epoch from clock_timestamp() - record_search_event.started) * 1000,
    coalesce(record_search_event.properties, '{}')
      || jsonb_build_object('results', record_search_event.results)
  );
end;
$$;

-- hybrid_search, measured. For authenticated users and service_role, like hybrid_search.
create function public.hybrid_search_tracked(
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
volatile
security invoker
set search_path = ''
as $$
#variable_conflict use_column
declare
  started timestamptz := clock_timestamp();
  found_rows integer := 0;
  first_organization uuid;
  r record;
begin
  for r in
    select * from public.hybrid_search(
      query_text => hybrid_search_tracked.query_text,
      query_embedding => hybrid_search_tracked.query_embedding,
      match_count => hybrid_search_tracked.match_count,
      full_text_weight => hybrid_search_tracked.full_text_weight,
      semantic_weight => hybrid_search_tracked.semantic_weight,
      rrf_k => hybrid_search_tracked.rrf_k,
      filter => hybrid_search_tracked.filter
    )
  loop
    id := r.id;
    document_id := r.document_id;
    organization_id := r.organization_id;
    document_title := r.document_title;
    ordinal := r.ordinal;
    heading := r.heading;
    content := r.content;
    score := r.score;
    full_text_rank := r.full_text_rank;
    semantic_rank := r.semantic_rank;
    similarity := r.similarity;
    first_organization := coalesce(first_organization, r.organization_id);
    found_rows := found_rows + 1;
    return next;
  end loop;
  perform public.record_search_event(
    'search.hybrid',
    started,
    found_rows,
    coalesce((hybrid_search_tracked.filter ->> 'organization_id')::uuid, first_organization),
    jsonb_build_object(
      'match_count', hybrid_search_tracked.match_count,
      'query_chars', char_length(hybrid_search_tracked.query_text)
    )
  );
end;
$$;

-- match_document_sections, measured. For authenticated users and service_role, like
-- match_document_sections.
create function public.match_document_sections_tracked(
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
volatile
security invoker
set search_path = ''
as $$
#variable_conflict use_column
declare
  started timestamptz := clock_timestamp();
  found_rows integer := 0;
  first_organization uuid;
  r record;
begin
  for r in
    select * from public.match_document_sections(
      query_embedding => match_document_sections_tracked.query_embedding,
      match_count => match_document_sections_tracked.match_count,
      filter => match_document_sections_tracked.filter,
      min_similarity => match_document_sections_tracked.min_similarity
    )
  loop
    id := r.id;
    document_id := r.document_id;
    organization_id := r.organization_id;
    ordinal := r.ordinal;
    heading := r.heading;
    content := r.content;
    similarity := r.similarity;
    first_organization := coalesce(first_organization, r.organization_id);
    found_rows := found_rows + 1;
    return next;
  end loop;
  perform public.record_search_event(
    'search.semantic',
    started,
    found_rows,
    coalesce((match_document_sections_tracked.filter ->> 'organization_id')::uuid, first_organization),
    jsonb_build_object('match_count', match_document_sections_tracked.match_count)
  );
end;
$$;

revoke all on function public.record_search_event(text, timestamptz, integer, uuid, jsonb)
  from public, anon, authenticated, service_role;
revoke all on function public.hybrid_search_tracked(
  text, extensions.halfvec, integer, double precision, double precision, integer, jsonb
) from public, anon, authenticated, service_role;
revoke all on function public.match_document_sections_tracked(
  extensions.halfvec, integer, jsonb, double precision
) from public, anon, authenticated, service_role;
grant execute on function public.record_search_event(text, timestamptz, integer, uuid, jsonb)
  to authenticated, service_role;
grant execute on function public.hybrid_search_tracked(
  text, extensions.halfvec, integer, double precision, double precision, integer, jsonb
) to authenticated, service_role;
grant execute on function public.match_document_sections_tracked(
  extensions.halfvec, integer, jsonb, double precision
) to authenticated, service_role;
