-- The API roles lose pg_net: anon and authenticated can neither read its tables (queued
-- requests with their headers, stored responses) nor make the database fetch a URL.
--
-- pg_net grants usage on schema `net` and all on its tables and sequence to PUBLIC, and
-- Supabase's `grant_pg_net_access` event trigger grants execute on net.http_get/http_post to anon
-- and authenticated. Nothing in this project calls pg_net as an API role: the callers are
-- security-definer functions owned by postgres (the queue dispatcher, the retention jobs), so
-- postgres and service_role keep every privilege they had, granted to them by name before
-- PUBLIC's go.
--
-- Hosted: `postgres` is not superuser and may not own pg_net's objects. Each statement runs on
-- its own; what the platform does not let postgres revoke is reported as a warning instead of
-- failing the migration, and a final check warns if anon or authenticated can still read the
-- request queue or call net.http_post. The job secret (20261201090000_job_worker_routes) is
-- what keeps a readable queue harmless there. Guarded: nothing happens without the `net` schema
-- (pg_net is created by 20261201080000_pg_net; run this again after creating it otherwise).

create function private.revoke_net_from_api_roles()
returns void
language plpgsql
set search_path = ''
as $$
declare
  statement text;
  fn regprocedure;
begin
  if not exists (select 1 from pg_catalog.pg_namespace where nspname = 'net') then
    raise notice 'Schema "net" does not exist (pg_net not installed): nothing to revoke';
    return;
  end if;

  for statement in
    select unnest(array[
      'grant usage on schema net to postgres, service_role',
      'grant all on all tables in schema net to postgres, service_role',
      'grant all on all sequences in schema net to postgres, service_role',
      'revoke all on all tables in schema net from public, anon, authenticated',
      'revoke all on all sequences in schema net from public, anon, authenticated',
      'revoke usage on schema net from public, anon, authenticated'
    ])
  loop
    begin
      execute statement;
    exception when insufficient_privilege then
      raise warning 'pg_net hardening: not allowed to run "%" (%)', statement, sqlerrm;
    end;
  end loop;

  for fn in
    select p.oid::regprocedure
    from pg_catalog.pg_proc p
    join pg_catalog.pg_namespace n on n.oid = p.pronamespace
    where n.nspname = 'net' and p.prokind = 'f'
  loop
    begin
      execute format('grant execute on function %s to postgres, service_role', fn);
      execute format('revoke execute on function %s from public, anon, authenticated', fn);
    exception when insufficient_privilege then
      raise warning 'pg_net hardening: not allowed to revoke execute on % (%)', fn, sqlerrm;
    end;
  end loop;

  if exists (
    select 1
    from (values ('anon'), ('authenticated')) r (role)
    where pg_catalog.has_schema_privilege(r.role, 'net', 'usage')
      and (
        coalesce(pg_catalog.has_table_privilege(
          r.role, pg_catalog.to_regclass('net.http_request_queue'), 'select'
        ), false)
        or coalesce(pg_catalog.has_function_privilege(
          r.role,
          pg_catalog.to_regprocedure('net.http_post(text, jsonb, jsonb, jsonb, integer)'),
          'execute'
        ), false)
      )
  ) then
    raise warning 'pg_net hardening incomplete: anon or authenticated can still read '
      'net.http_request_queue or call net.http_post; revoke them as the objects'' owner';
  end if;
end;
$$;

revoke all on function private.revoke_net_from_api_roles()
  from public, anon, authenticated, service_role;

comment on function private.revoke_net_from_api_roles() is
  'Revokes pg_net (schema net: tables, sequence, functions) from PUBLIC, anon and authenticated, '
  'keeping postgres and service_role. Idempotent; for migrations (postgres) after pg_net is '
  'created or upgraded.';

select private.revoke_net_from_api_roles();
