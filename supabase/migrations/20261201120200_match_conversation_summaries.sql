-- Recall over conversation summaries, beside match_messages: the caller's conversations whose
-- rolling summary (conversation-summarize's summary_embedding) is closest to a query embedding,
-- e.g. "have we talked about this before?" across a user's conversations.
--
-- Contracts:
-- * match_conversation_summaries(query_embedding, match_count = 5) -> (id, agent_id,
--   organization_id, title, summary, summarized_until, similarity), best first. Only the
--   caller's own conversations (auth.uid(), also for service_role, which must act as a user),
--   only those with a summary embedding. match_count outside 1..100 fails with 22023.
-- * security invoker: RLS on conversations applies as well.

create index conversations_summary_embedding_idx on public.conversations
  using hnsw (summary_embedding extensions.halfvec_cosine_ops);

-- The caller's conversations by summary similarity. For authenticated users.
create function public.match_conversation_summaries(
  query_embedding extensions.halfvec,
  match_count integer default 5
)
returns table (
  id uuid,
  agent_id uuid,
  organization_id uuid,
  title text,
  summary text,
  summarized_until integer,
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
  if coalesce(match_conversation_summaries.match_count, 0) not between 1 and 100 then
    raise exception 'match_count must be between 1 and 100' using errcode = '22023';
  end if;

  return query
  with candidates as materialized (
    select c.id, c.agent_id, c.organization_id, c.title, c.summary, c.summarized_until,
           c.summary_embedding operator(extensions.<=>)
             match_conversation_summaries.query_embedding as distance
    from public.conversations c
    where c.summary_embedding is not null
      and c.user_id = (select auth.uid())
    order by c.summary_embedding operator(extensions.<=>)
      match_conversation_summaries.query_embedding
    limit match_conversation_summaries.match_count
  )
  select c.id, c.agent_id, c.organization_id, c.title, c.summary, c.summarized_until,
         1 - c.distance
  from candidates c
  order by c.distance, c.id;
end;
$$;

revoke all on function public.match_conversation_summaries(extensions.halfvec, integer)
  from public, anon;
grant execute on function public.match_conversation_summaries(extensions.halfvec, integer)
  to authenticated, service_role;
