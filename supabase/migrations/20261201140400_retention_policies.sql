-- Retention policies: how long each kind of row is kept, with per-organization overrides that
-- organization owners and admins tune within bounds. Applied by cleanup-old (see
-- *_retention_apply.sql).
--
-- Contracts:
-- * retention_policies(policy, target, action, description, default_days, min_days, max_days,
--   per_organization, enabled): one row per policy, seeded below with the defaults. Operators
--   change defaults, bounds and `enabled` as service_role (or in SQL); everyone signed in may
--   read them.
-- * organization_retention_policies(organization_id, policy, days): an organization's override of
--   a per-organization policy. Owners and admins of the organization read and write them;
--   members see nothing. A trigger refuses (23514) a policy that is not per organization, or
--   days outside [min_days, max_days] of the policy.
--
--   policy                 target                          action   default  bounds     per org
--   conversations_archive  public.conversations            archive  30 d     7-365      yes
--   conversations_delete   public.conversations            delete   180 d    30-3650    yes
--   analytics_events       public.analytics_events         delete   7 d      7-30       yes
--   analytics_hourly       public.analytics_hourly_rollups delete   90 d     7-365      yes
--   analytics_daily        public.analytics_daily_rollups  delete   730 d    90-1825    yes
--   jobs_completed         private.jobs                    delete   7 d      1-90       no
--   jobs_dead              private.dead_jobs               delete   30 d     7-365      no
--   cron_job_run_details   cron.job_run_details            delete   7 d      1-90       no
--   net_http_responses     net._http_response              delete   7 d      1-90       no
--   failed_uploads         public.file_uploads             delete   30 d     7-365      yes
--   orphaned_objects       storage.objects                 delete   30 d     7-365      no
--
-- Raw analytics events never go below 7 days: that is the window in which a late event may still
-- arrive and recompute its bucket from raw events.

create table public.retention_policies (
  policy text primary key check (policy ~ '^[a-z][a-z0-9_]{0,62}$'),
  target text not null,
  action text not null check (action in ('archive', 'delete')),
  description text not null,
  default_days integer not null,
  min_days integer not null,
  max_days integer not null,
  per_organization boolean not null default false,
  enabled boolean not null default true,
  updated_at timestamptz not null default now(),
  check (min_days >= 1 and min_days <= default_days and default_days <= max_days)
);

create table public.organization_retention_policies (
  organization_id uuid not null references public.organizations (id) on delete cascade,
  policy text not null references public.retention_policies (policy) on delete cascade,
  days integer not null,
  updated_by uuid default auth.uid() references auth.users (id) on delete set null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  primary key (organization_id, policy)
);

create index organization_retention_policies_policy_idx
  on public.organization_retention_policies (policy);

insert into public.retention_policies (
  policy, target, action, description, default_days, min_days, max_days, per_organization
)
values
  ('conversations_archive', 'public.conversations', 'archive',
   'Archive conversations without a message for this many days', 30, 7, 365, true),
  ('conversations_delete', 'public.conversations', 'delete',
   'Delete archived conversations (and their messages) this many days after archiving', 180, 30, 3650, true),
  ('analytics_events', 'public.analytics_events', 'delete',
   'Delete raw analytics events, rolled up, whose UTC day is older than this', 7, 7, 30, true),
  ('analytics_hourly', 'public.analytics_hourly_rollups', 'delete',
   'Delete hourly analytics rollups older than this', 90, 7, 365, true),
  ('analytics_daily', 'public.analytics_daily_rollups', 'delete',
   'Delete daily analytics rollups older than this', 730, 90, 1825, true),
  ('jobs_completed', 'private.jobs', 'delete',
   'Delete completed queue jobs older than this', 7, 1, 90, false),
  ('jobs_dead', 'private.dead_jobs', 'delete',
   'Delete dead-lettered queue jobs older than this', 30, 7, 365, false),
  ('cron_job_run_details', 'cron.job_run_details', 'delete',
   'Delete pg_cron run records older than this', 7, 1, 90, false),
  ('net_http_responses', 'net._http_response', 'delete',
   'Delete pg_net responses older than this', 7, 1, 90, false),
  ('failed_uploads', 'public.file_uploads', 'delete',
   'Delete failed uploads (storage object, upload row and document) older than this', 30, 7, 365, true),
  ('orphaned_objects', 'storage.objects', 'delete',
   'Delete objects of the documents bucket that no upload row refers to, older than this', 30, 7, 365, false);

create trigger set_updated_at
  before update on public.retention_policies
  for each row execute function private.set_updated_at();
create trigger set_updated_at
  before update on public.organization_retention_policies
  for each row execute function private.set_updated_at();

-- Trigger function (before insert or update on organization_retention_policies): the policy must
-- be per organization and days within its bounds.
create function private.check_retention_override()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  p public.retention_policies;
begin
  select * into p from public.retention_policies r where r.policy = new.policy;
  if not found then
    raise exception 'Unknown retention policy: "%"', new.policy using errcode = '23503';
  end if;
  if not p.per_organization then
    raise exception 'Retention policy "%" cannot be changed per organization', new.policy
      using errcode = '23514';
  end if;
  if new.days is null or new.days not between p.min_days and p.max_days then
    raise exception 'Retention of "%" must be between % and % days, not %',
      new.policy, p.min_days, p.max_days, new.days
      using errcode = '23514';
  end if;
  return new;
end;
$$;

revoke all on function private.check_retention_override()
  from public, anon, authenticated, service_role;

create trigger check_retention_override
  before insert or update on public.organization_retention_policies
  for each row execute function private.check_retention_override();

alter table public.retention_policies enable row level security;
alter table public.organization_retention_policies enable row level security;

create policy "Signed-in users can read the retention policies"
  on public.retention_policies for select to authenticated
  using (true);

create policy "Owners and admins can read their organization's retention"
  on public.organization_retention_policies for select to authenticated
  using (organization_id in (select private.member_organization_ids(array['owner', 'admin'])));

create policy "Owners and admins can set their organization's retention"
  on public.organization_retention_policies for insert to authenticated
  with check (organization_id in (select private.member_organization_ids(array['owner', 'admin'])));

create policy "Owners and admins can change their organization's retention"
  on public.organization_retention_policies for update to authenticated
  using (organization_id in (select private.member_organization_ids(array['owner', 'admin'])))
  with check (organization_id in (select private.member_organization_ids(array['owner', 'admin'])));

create policy "Owners and admins can reset their organization's retention"
  on public.organization_retention_policies for delete to authenticated
  using (organization_id in (select private.member_organization_ids(array['owner', 'admin'])));

revoke all on table public.retention_policies, public.organization_retention_policies
  from public, anon, authenticated, service_role;
grant select on table public.retention_policies to authenticated;
grant select, insert, update, delete on table public.retention_policies to service_role;
grant select, delete on table public.organization_retention_policies to authenticated;
grant insert (organization_id, policy, days) on table public.organization_retention_policies
  to authenticated;
grant update (days) on table public.organization_retention_policies to authenticated;
grant select, insert, update, delete on table public.organization_retention_policies
  to service_role;
