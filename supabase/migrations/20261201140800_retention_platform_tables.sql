-- Retention batches on pg_cron's and pg_net's tables take no row locks.
--
-- private.apply_retention_policy (*_retention_apply.sql) selected every batch `for update of t
-- skip locked`, which needs UPDATE privilege on the table. On hosted projects postgres (the
-- function's owner) is only sure to have select and delete on cron.job_run_details (pg_cron
-- grants those to public), so the batch could fail there. Nothing updates the rows of
-- cron.job_run_details or net._http_response after they are written, so those two policies now
-- select their batch without a lock; every other policy still locks and skips rows held by
-- others. Contract otherwise unchanged (for service_role, cleanup-old).

-- One batch of a policy (contracts in *_retention_apply.sql). For service_role (cleanup-old).
create or replace function private.apply_retention_policy(
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
  -- Rows of the platform's log tables are never updated by anyone, and row locks need UPDATE
  -- privilege, which hosted projects may not give postgres on cron.job_run_details.
  row_lock text := case
    when apply_retention_policy.policy in ('cron_job_run_details', 'net_http_responses') then ''
    else 'for update of t skip locked'
  end;
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
    'with c as (select %s as k from %s where %s limit $2 %s), '
    'applied as (%s returning 1) select count(*) from applied',
    target.key_sql, target.from_sql, target.predicate, row_lock, target.apply_sql
  )
    into affected
    using coalesce(apply_retention_policy.as_of, now()), apply_retention_policy.batch_size;
  return affected;
end;
$$;
