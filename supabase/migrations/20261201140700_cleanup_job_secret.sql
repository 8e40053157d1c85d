-- The daily cleanup-old call carries the Vault `job_secret` only, never the service role key.
--
-- *_retention_apply.sql fell back to `service_role_key` when Vault had no `job_secret`; since
-- *_job_worker_routes.sql no credential that bypasses RLS may reach pg_net (it keeps request
-- headers in a table). Now, as the queue dispatcher does: without `project_url` or `job_secret`
-- nothing is sent and a warning says why. cleanup-old accepts the job secret (JOB_SECRET) as
-- well as the service keys. Contract otherwise unchanged: for pg_cron (job `cleanup_old`, 03:30
-- UTC daily), returns the pg_net request id or null.

create or replace function private.invoke_cleanup_old()
returns bigint
language plpgsql
security definer
set search_path = ''
as $$
declare
  project_url text;
  job_secret text;
begin
  select s.decrypted_secret into project_url
  from vault.decrypted_secrets s where s.name = 'project_url';
  select s.decrypted_secret into job_secret
  from vault.decrypted_secrets s where s.name = 'job_secret';
  if project_url is null or job_secret is null then
    raise warning 'cleanup-old not called: vault secrets "project_url" and "job_secret" are required';
    return null;
  end if;
  return net.http_post(
    url := rtrim(project_url, '/') || '/functions/v1/cleanup-old',
    body := '{}'::jsonb,
    headers := jsonb_build_object(
      'Content-Type', 'application/json',
      'Authorization', 'Bearer ' || job_secret
    ),
    timeout_milliseconds := 120000
  );
end;
$$;

revoke all on function private.invoke_cleanup_old() from public, anon, authenticated, service_role;
