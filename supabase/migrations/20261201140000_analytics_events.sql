-- Usage analytics: raw events, one row each, sent by clients through the analytics-tracker
-- function or recorded by the database itself (executions, searches; later migrations).
--
-- Contracts:
-- * analytics_events(organization_id, user_id, client_id, source, name, occurred_at, received_at,
--   properties, duration_ms, value, session_id, is_error, tokens).
--   name matches ^[a-z][a-z0-9_.]{0,63}$; properties is a JSON object of at most 8 KB (its text);
--   source says who wrote the row: `client` (analytics-tracker), `execution` (the trigger on
--   agent_executions), `search` (the tracked search RPCs). is_error and tokens are derived by the
--   writer (analytics-tracker: properties.outcome "error" | "failed" | "timeout", or
--   properties.error = true; properties.tokens).
-- * Dedupe: client_id (the client's event id) is unique per (organization, user), the user
--   null for events sent with the service credential (nulls not distinct):
--     insert ... on conflict (organization_id, user_id, client_id) where client_id is not null
--     do nothing
--   stores an event once however often it is sent.
-- * received_at is when the row was written (transaction time). The rollups' watermark moves on
--   received_at, not occurred_at, so a late event (old occurred_at, new received_at) is still
--   picked up and its old bucket recomputed (see *_analytics_rollups.sql).
-- * Reads: an organization's owners and admins read all of its events; a member reads only the
--   events they sent themselves. Writes: service_role (the tracker validates, resolves the
--   organization under the caller's RLS, and inserts as service_role); authenticated may insert
--   only `search` events of their own in their organizations (what the tracked search RPCs write,
--   see *_analytics_search_events.sql). Nobody updates events; retention deletes them.

create table public.analytics_events (
  id uuid primary key default gen_random_uuid(),
  organization_id uuid not null references public.organizations (id) on delete cascade,
  user_id uuid references auth.users (id) on delete set null,
  client_id text check (char_length(client_id) between 1 and 128),
  source text not null default 'client' check (source in ('client', 'execution', 'search')),
  name text not null check (name ~ '^[a-z][a-z0-9_.]{0,63}$'),
  occurred_at timestamptz not null default now(),
  received_at timestamptz not null default now(),
  properties jsonb not null default '{}'
    check (jsonb_typeof(properties) = 'object' and octet_length(properties::text) <= 8192),
  duration_ms double precision check (duration_ms >= 0 and duration_ms < 'infinity'),
  value double precision check (value > '-infinity' and value < 'infinity'),
  session_id text check (char_length(session_id) between 1 and 128),
  is_error boolean not null default false,
  tokens bigint check (tokens >= 0)
);

-- Dedupe of client event ids per organization and user (a null user counts as one sender).
create unique index analytics_events_client_id_key
  on public.analytics_events (organization_id, user_id, client_id) nulls not distinct
  where client_id is not null;
-- The rollups: new events by arrival, then each touched bucket's events.
create index analytics_events_received_at_idx on public.analytics_events (received_at);
create index analytics_events_bucket_idx
  on public.analytics_events (organization_id, name, occurred_at);
-- Retention deletes by age.
create index analytics_events_occurred_at_idx on public.analytics_events (occurred_at);
create index analytics_events_user_id_idx on public.analytics_events (user_id);

alter table public.analytics_events enable row level security;

create policy "Owners and admins can read their organization's events"
  on public.analytics_events for select to authenticated
  using (organization_id in (select private.member_organization_ids(array['owner', 'admin'])));

create policy "Members can read the events they sent"
  on public.analytics_events for select to authenticated
  using (user_id = (select auth.uid()));

create policy "Members can record their own search events"
  on public.analytics_events for insert to authenticated
  with check (
    source = 'search'
    and name like 'search.%'
    and user_id = (select auth.uid())
    and organization_id in (select private.member_organization_ids())
  );

revoke all on table public.analytics_events from public, anon, authenticated, service_role;
grant select on table public.analytics_events to authenticated;
grant insert (
  organization_id, user_id, source, name, occurred_at, properties, duration_ms, value
) on table public.analytics_events to authenticated;
grant select, insert, delete on table public.analytics_events to service_role;
