-- What conversation-summarize writes, and the lease that keeps two workers from summarising one
-- conversation at once.
--
-- Contracts:
-- * conversations gain summary_embedding halfvec(1536) (the summary's embedding, for recall
--   beside match_messages), summary_model and summarized_at. Users read them with the rest of
--   their conversation; only service_role writes them (no column grant to authenticated).
-- * A summarizer first takes the conversation's lease:
--     private.claim_conversation_summary(conversation_id, lease) -> token uuid
--   returns a fresh token, or null when another summarizer holds an unexpired lease; raises
--   P0002 when the conversation does not exist. The summary model is called outside any
--   transaction (no row lock is held while it runs, so messages keep arriving).
-- * private.store_conversation_summary(conversation_id, token, summary, summarized_until,
--   embedding, model) writes the result and releases the lease, only while the token still holds
--   the lease and only forwards: summarized_until must be above the stored one and at most
--   last_message_seq. Returns whether it wrote. private.release_conversation_summary(id, token)
--   gives a lease back after a failure. A lease that is never released expires (default
--   2 minutes, the queue's visibility timeout), so a crashed worker blocks nobody for long.
-- * The three functions are for service_role only.

alter table public.conversations
  add column summary_embedding extensions.halfvec(1536),
  add column summary_model text,
  add column summarized_at timestamptz;

create table private.conversation_summary_leases (
  conversation_id uuid primary key references public.conversations (id) on delete cascade,
  token uuid not null,
  expires_at timestamptz not null,
  created_at timestamptz not null default now()
);

alter table private.conversation_summary_leases enable row level security;
-- No policies: reached only through the security-definer functions below.
revoke all on table private.conversation_summary_leases
  from public, anon, authenticated, service_role;

-- Takes the summary lease of a conversation for `lease`. Returns the token to write with, or null
-- when another summarizer holds it. Raises P0002 for an unknown conversation. service_role only.
create function private.claim_conversation_summary(
  conversation_id uuid,
  lease interval default interval '2 minutes'
)
returns uuid
language plpgsql
security definer
set search_path = ''
as $$
declare
  new_token uuid := gen_random_uuid();
  claimed uuid;
begin
  if not exists (
    select 1 from public.conversations c where c.id = claim_conversation_summary.conversation_id
  ) then
    raise exception 'Unknown conversation: "%"', claim_conversation_summary.conversation_id
      using errcode = 'P0002';
  end if;
  insert into private.conversation_summary_leases as l (conversation_id, token, expires_at)
  values (claim_conversation_summary.conversation_id, new_token, now() + lease)
  on conflict on constraint conversation_summary_leases_pkey do update
    set token = excluded.token, expires_at = excluded.expires_at, created_at = now()
    where l.expires_at <= now()
  returning l.token into claimed;
  return claimed;
end;
$$;

-- Writes a summary made under `token`'s lease and releases it. Only forwards: a summary that
-- does not cover more than the stored one, or a lease lost to expiry, writes nothing and returns
-- false. service_role only.
create function private.store_conversation_summary(
  conversation_id uuid,
  token uuid,
  summary text,
  summarized_until integer,
  embedding extensions.halfvec(1536),
  model text
)
returns boolean
language plpgsql
security definer
set search_path = ''
as $$
declare
  stored boolean;
begin
  delete from private.conversation_summary_leases l
  where l.conversation_id = store_conversation_summary.conversation_id
    and l.token = store_conversation_summary.token;
  if not found then
    return false;
  end if;
  update public.conversations c
  set summary = store_conversation_summary.summary,
      summarized_until = store_conversation_summary.summarized_until,
      summary_embedding = store_conversation_summary.embedding,
      summary_model = store_conversation_summary.model,
      summarized_at = now()
  where c.id = store_conversation_summary.conversation_id
    and c.summarized_until < store_conversation_summary.summarized_until
    and c.last_message_seq >= store_conversation_summary.summarized_until;
  stored := found;
  return stored;
end;
$$;

-- Gives a lease back (after a failed summary) so the next attempt need not wait for it to expire.
-- service_role only.
create function private.release_conversation_summary(conversation_id uuid, token uuid)
returns void
language sql
security definer
set search_path = ''
as $$
  delete from private.conversation_summary_leases l
  where l.conversation_id = release_conversation_summary.conversation_id
    and l.token = release_conversation_summary.token;
$$;

revoke all on function private.claim_conversation_summary(uuid, interval)
  from public, anon, authenticated;
revoke all on function private.store_conversation_summary(
  uuid, uuid, text, integer, extensions.halfvec, text
) from public, anon, authenticated;
revoke all on function private.release_conversation_summary(uuid, uuid)
  from public, anon, authenticated;
grant execute on function private.claim_conversation_summary(uuid, interval) to service_role;
grant execute on function private.store_conversation_summary(
  uuid, uuid, text, integer, extensions.halfvec, text
) to service_role;
grant execute on function private.release_conversation_summary(uuid, uuid) to service_role;
