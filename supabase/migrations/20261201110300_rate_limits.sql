-- Per-user rate limits kept in the database, with limits per organization plan.
--
-- Contracts:
-- * private.rate_limit_policies(plan, bucket, max_cost, window_seconds): at most max_cost units
--   per user per bucket per fixed window of window_seconds, for work done in an organization on
--   `plan` (free | pro | enterprise). Bucket `default` applies to buckets without a row of their
--   own. Functions name their bucket (execute-agent: `execute-agent`); a migration adds rows for
--   a new bucket. Work outside any organization counts as `free`.
-- * private.consume_rate_limit(user_id, organization_id, bucket, cost) takes `cost` units from
--   the user's current window and returns (allowed, max_cost, remaining, retry_after_seconds).
--   A refused call takes nothing. Concurrent calls serialise on the counter row, so the limit
--   holds under races. For service_role (the functions' _shared/rate-limit.ts): callers pass the
--   user they verified.
-- * private.rate_limit_counters holds one row per (user, bucket, window); the cron job
--   `purge_rate_limit_counters` deletes windows older than a day, hourly.

create table private.rate_limit_policies (
  plan text not null check (plan in ('free', 'pro', 'enterprise')),
  bucket text not null check (bucket ~ '^[a-z][a-z0-9_-]{0,62}$'),
  max_cost integer not null check (max_cost >= 1),
  window_seconds integer not null check (window_seconds between 1 and 86400),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  primary key (plan, bucket)
);

create table private.rate_limit_counters (
  user_id uuid not null references auth.users (id) on delete cascade,
  bucket text not null,
  window_start timestamptz not null,
  cost integer not null check (cost >= 0),
  primary key (user_id, bucket, window_start)
);

create index rate_limit_counters_window_start_idx on private.rate_limit_counters (window_start);

create trigger set_updated_at
  before update on private.rate_limit_policies
  for each row execute function private.set_updated_at();

insert into private.rate_limit_policies (plan, bucket, max_cost, window_seconds)
values
  ('free', 'default', 60, 60),
  ('pro', 'default', 300, 60),
  ('enterprise', 'default', 1200, 60),
  ('free', 'execute-agent', 10, 60),
  ('pro', 'execute-agent', 60, 60),
  ('enterprise', 'execute-agent', 300, 60);

alter table private.rate_limit_policies enable row level security;
alter table private.rate_limit_counters enable row level security;
-- No policies: only the owner (security-definer functions) and service_role's reads below.

-- Takes `cost` units of `bucket` for the user, within the limit of the organization's plan.
-- For service_role; the caller has verified user_id. A cost above the window's max_cost is
-- refused like any other overrun; a missing user, bucket or a cost below 1 raises 22023.
create function private.consume_rate_limit(
  user_id uuid,
  organization_id uuid,
  bucket text,
  cost integer default 1
)
returns table (allowed boolean, max_cost integer, remaining integer, retry_after_seconds integer)
language plpgsql
security definer
set search_path = ''
as $$
declare
  plan_name text;
  policy private.rate_limit_policies;
  current_window timestamptz;
  used integer;
begin
  if consume_rate_limit.user_id is null or consume_rate_limit.bucket is null
    or coalesce(consume_rate_limit.cost, 0) < 1
  then
    raise exception 'user_id, bucket and a positive cost are required' using errcode = '22023';
  end if;

  select o.plan into plan_name
  from public.organizations o
  where o.id = consume_rate_limit.organization_id;
  plan_name := coalesce(plan_name, 'free');

  select * into policy
  from private.rate_limit_policies p
  where p.plan = plan_name and p.bucket in (consume_rate_limit.bucket, 'default')
  order by p.bucket = 'default'
  limit 1;
  if not found then
    raise exception 'No rate limit for plan "%" and bucket "%"', plan_name, consume_rate_limit.bucket
      using errcode = '22023';
  end if;

  current_window := to_timestamp(
    floor(extract(epoch from now()) / policy.window_seconds) * policy.window_seconds
  );

  if consume_rate_limit.cost <= policy.max_cost then
    insert into private.rate_limit_counters as c (user_id, bucket, window_start, cost)
    values (
      consume_rate_limit.user_id, consume_rate_limit.bucket, current_window,
      consume_rate_limit.cost
    )
    on conflict on constraint rate_limit_counters_pkey do update
    set cost = c.cost + excluded.cost
    where c.cost + excluded.cost <= policy.max_cost
    returning c.cost into used;
  end if;

  if used is null then
    select c.cost into used
    from private.rate_limit_counters c
    where c.user_id = consume_rate_limit.user_id
      and c.bucket = consume_rate_limit.bucket
      and c.window_start = current_window;
    return query select
      false,
      policy.max_cost,
      greatest(policy.max_cost - coalesce(used, 0), 0),
      greatest(1, ceil(extract(epoch from (
        current_window + make_interval(secs => policy.window_seconds) - now()
      )))::integer);
    return;
  end if;

  return query select true, policy.max_cost, policy.max_cost - used, 0;
end;
$$;

-- Deletes counters of windows that ended more than a day ago; returns how many. For pg_cron.
create function private.purge_rate_limit_counters()
returns bigint
language sql
security definer
set search_path = ''
as $$
  with purged as (
    delete from private.rate_limit_counters c
    where c.window_start < now() - interval '1 day'
    returning 1
  )
  select count(*) from purged;
$$;

revoke all on function private.consume_rate_limit(uuid, uuid, text, integer)
  from public, anon, authenticated, service_role;
revoke all on function private.purge_rate_limit_counters()
  from public, anon, authenticated, service_role;
grant execute on function private.consume_rate_limit(uuid, uuid, text, integer) to service_role;

revoke all on table private.rate_limit_policies, private.rate_limit_counters
  from public, anon, authenticated, service_role;
grant select on table private.rate_limit_policies, private.rate_limit_counters to service_role;

select cron.schedule(
  'purge_rate_limit_counters',
  '17 * * * *',
  'select private.purge_rate_limit_counters()'
);
