-- Applying the retention policies in bounded batches, and the daily pg_cron job that calls
-- cleanup-old.
--
-- Contracts:
-- * private.apply_retention_policy(policy, batch_size, dry_run, as_of): one batch. The due rows
--   are those older than the policy's days (the organization's override, else the default)
--   before `as_of`; a real run archives or deletes up to batch_size of them (skipping rows locked
--   by others) and returns how many; a dry run changes nothing and returns how many are due in
--   all. Both use one predicate, built by private.retention_target, so with the same as_of a real
--   run applies exactly what the dry run reported. Callers loop, one short transaction per batch,
--   until a batch returns fewer than batch_size. A disabled policy does nothing (0).
-- * Raw analytics events are due only once rolled up (received at or before both watermarks)
--   and only when their whole UTC day is older than the policy, and closed; see
--   *_analytics_rollups.sql for why.
-- * failed_uploads and orphaned_objects remove storage objects, which must go through the
--   Storage API (it deletes the bytes; SQL would only drop the row): a real run of either raises
--   22023 here. cleanup-old takes a batch from private.retention_storage_batch(policy,
--   batch_size, as_of) (id, bucket, path), removes the objects with the service key (the
--   documents bucket's delete trigger removes the upload row and its document) and then calls
--   private.forget_failed_uploads(ids) for upload rows whose object was already gone.
-- * All for service_role (cleanup-old); the functions run as their owner (postgres), which may
--   delete from cron.job_run_details and net._http_response on hosted projects (pg_cron grants
--   select and delete on run details to public, its policy lets a role see its own jobs' runs and
--   postgres bypasses RLS; pg_net grants all on its tables to public).
-- * pg_cron job `cleanup_old` at 03:30 UTC daily: private.invoke_cleanup_old() POSTs {} to
--   <project_url>/functions/v1/cleanup-old with the Vault secret `job_secret` (the workers'
--   dedicated credential, which cleanup-old accepts), or `service_role_key` when there is none.

-- How a policy finds its due rows: the FROM clause (alias t), the row key, the predicate over
-- $1 (as_of), the extra columns storage policies return, and the statement applying a batch to
-- the keys in CTE c (column k). Internal to the retention functions.
create function private.retention_target(
  policy text,
  out from_sql text,
  out key_sql text,
  out predicate text,
  out columns_sql text,
  out apply_sql text
)
language plpgsql
stable
set search_path = ''
as $$
declare
  p public.retention_policies;
  state private.analytics_rollup_state;
  days text;
  overrides text := '';
begin
  select * into p from public.retention_policies r where r.policy = retention_target.policy;
  if not found then
    raise exception 'Unknown retention policy: "%"', retention_target.policy using errcode = '22023';
  end if;
  if p.per_organization then
    overrides := format(
      ' left join public.organization_retention_policies o'
      ' on o.organization_id = t.organization_id and o.policy = %L',
      p.policy
    );
    days := format('make_interval(days => coalesce(o.days, %s))', p.default_days);
  else
    days := format('make_interval(days => %s)', p.default_days);
  end if;
  key_sql := 't.id';
  columns_sql := 'null::text, null::text';

  case p.policy
    when 'conversations_archive' then
      from_sql := 'public.conversations t' || overrides;
      predicate := format(
        't.status = ''active'' and coalesce(t.last_message_at, t.created_at) < $1 - %s', days
      );
      apply_sql := 'update public.conversations x set status = ''archived'' from c'
        ' where x.id = c.k and x.status = ''active''';
    when 'conversations_delete' then
      from_sql := 'public.conversations t' || overrides;
      predicate := format('t.status = ''archived'' and t.updated_at < $1 - %s', days);
      apply_sql := 'delete from public.conversations x using c where x.id = c.k';
    when 'analytics_events' then
      select * into state from private.analytics_rollup_state s where s.id;
      from_sql := 'public.analytics_events t' || overrides;
      predicate := format(
        't.occurred_at < least(date_trunc(''day'', $1 - %s, ''UTC''), %L::timestamptz)'
        ' and t.received_at <= %L::timestamptz',
        days, state.daily_closed_until, least(state.hourly_watermark, state.daily_watermark)
      );
      apply_sql := 'delete from public.analytics_events x using c where x.id = c.k';
    when 'analytics_hourly' then
      from_sql := 'public.analytics_hourly_rollups t' || overrides;
      key_sql := 't.ctid';
      predicate := format('t.bucket < $1 - %s', days);
      apply_sql := 'delete from public.analytics_hourly_rollups x using c where x.ctid = c.k';
    when 'analytics_daily' then
      from_sql := 'public.analytics_daily_rollups t' || overrides;
      key_sql := 't.ctid';
      predicate := format('t.bucket < $1 - %s', days);
      apply_sql := 'delete from public.analytics_daily_rollups x using c where x.ctid = c.k';
    when 'jobs_completed' then
      from_sql := 'private.jobs t';
      predicate := format('t.status = ''completed'' and t.completed_at < $1 - %s', days);
      apply_sql := 'delete from private.jobs x using c where x.id = c.k';
    when 'jobs_dead' then
      from_sql := 'private.dead_jobs t';
      predicate := format('t.created_at < $1 - %s', days);
      apply_sql := 'delete from private.dead_jobs x using c where x.id = c.k';
    when 'cron_job_run_details' then
      from_sql := 'cron.job_run_details t';
      key_sql := 't.runid';
      predicate := format('coalesce(t.end_time, t.start_time) < $1 - %s', days);
      apply_sql := 'delete from cron.job_run_details x using c where x.runid = c.k';
    when 'net_http_responses' then
      from_sql := 'net._http_response t';
      key_sql := 't.ctid';
      predicate := format('t.created < $1 - %s', days);
      apply_sql := 'delete from net._http_response x using c where x.ctid = c.k';
    when 'failed_uploads' then
      from_sql := 'public.file_uploads t' || overrides;
      predicate := format('t.status = ''failed'' and t.updated_at < $1 - %s', days);
      columns_sql := 't.bucket, t.path';
    when 'orphaned_objects' then
      from_sql := 'storage.objects t';
      predicate := format(
        't.bucket_id = ''documents'' and t.created_at < $1 - %s and not exists ('
        'select 1 from public.file_uploads f where f.bucket = t.bucket_id and f.path = t.name)',
        days
      );
      columns_sql := 't.bucket_id, t.name';
    else
      raise exception 'Retention policy "%" has no implementation', p.policy
        using errcode = '22023';
  end case;
end;
$$;

-- One batch of a policy (see the contracts above). For service_role (cleanup-old).
create function private.apply_retention_policy(
  policy text,
  batch_size integer default 500,
  dry_run boolean default false,
  as_of timestamptz default now()
)
returns bigint
language plpgsql
security definer
set search_path = ''
as $$
declare
  target record;
  affected bigint;
begin
  if coalesce(apply_retention_policy.batch_size, 0) not between 1 and 10000 then
    raise exception 'batch_size must be between 1 and 10000' using errcode = '22023';
  end if;
  select * into target from private.retention_target(apply_retention_policy.policy);
  if not (select r.enabled from public.retention_policies r where r.policy = apply_retention_policy.policy) then
    return 0;
  end if;
  if apply_retention_policy.dry_run then
    execute format('select count(*) from %s where %s', target.from_sql, target.predicate)
      into affected
      using coalesce(apply_retention_policy.as_of, now());
    return affected;
  end if;
  if target.apply_sql is null then
    raise exception 'Retention policy "%" deletes storage objects: use the Storage API',
      apply_retention_policy.policy
      using errcode = '22023',
            hint = 'cleanup-old does: private.retention_storage_batch(), then the Storage API.';
  end if;
  execute format(
    'with c as (select %s as k from %s where %s limit $2 for update of t skip locked), '
    'applied as (%s returning 1) select count(*) from applied',
    target.key_sql, target.from_sql, target.predicate, target.apply_sql
  )
    into affected
    using coalesce(apply_retention_policy.as_of, now()), apply_retention_policy.batch_size;
  return affected;
end;
$$;

-- Up to batch_size due rows of a storage policy (failed_uploads: upload ids; orphaned_objects:
-- object ids) with the object's bucket and path. For service_role (cleanup-old).
create function private.retention_storage_batch(
  policy text,
  batch_size integer default 100,
  as_of timestamptz default now()
)
returns table (id uuid, bucket text, path text)
language plpgsql
security definer
set search_path = ''
as $$
declare
  target record;
begin
  if retention_storage_batch.policy not in ('failed_uploads', 'orphaned_objects') then
    raise exception 'Retention policy "%" does not delete storage objects', retention_storage_batch.policy
      using errcode = '22023';
  end if;
  if coalesce(retention_storage_batch.batch_size, 0) not between 1 and 1000 then
    raise exception 'batch_size must be between 1 and 1000' using errcode = '22023';
  end if;
  select * into target from private.retention_target(retention_storage_batch.policy);
  if not (select r.enabled from public.retention_policies r where r.policy = retention_storage_batch.policy) then
    return;
  end if;
  return query execute format(
    'select t.id, %s from %s where %s order by t.id limit $2',
    target.columns_sql, target.from_sql, target.predicate
  )
  using coalesce(retention_storage_batch.as_of, now()), retention_storage_batch.batch_size;
end;
$$;

-- Deletes the failed upload rows among `ids` that are still there (their object was already
-- gone, so no storage trigger removed them), with their uploaded documents. Returns how many of
-- `ids` no longer exist afterwards. For service_role (cleanup-old).
create function private.forget_failed_uploads(ids uuid[])
returns bigint
language plpgsql
security definer
set search_path = ''
as $$
declare
  gone bigint;
begin
  with removed as (
    delete from public.file_uploads f
    where f.id = any (forget_failed_uploads.ids) and f.status = 'failed'
    returning f.document_id, f.path
  )
  delete from public.documents d
  using removed r
  where d.source = 'upload' and (d.id = r.document_id or d.file_path = r.path);

  select count(*) into gone
  from unnest(forget_failed_uploads.ids) i(id)
  where not exists (select 1 from public.file_uploads f where f.id = i.id);
  return gone;
end;
$$;

-- Calls cleanup-old through pg_net with the job secret (or the service role key) from Vault.
-- Returns the pg_net request id, or null (with a warning) without the secrets. For pg_cron.
create function private.invoke_cleanup_old()
returns bigint
language plpgsql
security definer
set search_path = ''
as $$
declare
  project_url text;
  credential text;
begin
  select s.decrypted_secret into project_url
  from vault.decrypted_secrets s where s.name = 'project_url';
  select coalesce(
    (select s.decrypted_secret from vault.decrypted_secrets s where s.name = 'job_secret'),
    (select s.decrypted_secret from vault.decrypted_secrets s where s.name = 'service_role_key')
  ) into credential;
  if project_url is null or credential is null then
    raise warning 'cleanup-old not called: vault secrets "project_url" and "job_secret" '
      '(or "service_role_key") are required';
    return null;
  end if;
  return net.http_post(
    url := rtrim(project_url, '/') || '/functions/v1/cleanup-old',
    body := '{}'::jsonb,
    headers := jsonb_build_object(
      'Content-Type', 'application/json',
      'Authorization', 'Bearer ' || credential
    ),
    timeout_milliseconds := 120000
  );
end;
$$;

revoke all on function private.retention_target(text)
  from public, anon, authenticated, service_role;
revoke all on function private.apply_retention_policy(text, integer, boolean, timestamptz)
  from public, anon, authenticated, service_role;
revoke all on function private.retention_storage_batch(text, integer, timestamptz)
  from public, anon, authenticated, service_role;
revoke all on function private.forget_failed_uploads(uuid[])
  from public, anon, authenticated, service_role;
revoke all on function private.invoke_cleanup_old() from public, anon, authenticated, service_role;
grant execute on function private.apply_retention_policy(text, integer, boolean, timestamptz)
  to service_role;
grant execute on function private.retention_storage_batch(text, integer, timestamptz)
  to service_role;
grant execute on function private.forget_failed_uploads(uuid[]) to service_role;

select cron.schedule('cleanup_old', '30 3 * * *', 'select private.invoke_cleanup_old()');
