-- What a new hosted Supabase project has before the first migration runs, reproduced for the
-- embedded local stack with the same names and signatures (see docs/platform.md and the
-- README's "Local stack" notes). Applied once, on a fresh database, before supabase/migrations.
-- Never used on hosted Supabase, where the real platform exists.
--
-- Differences that matter, by design:
-- * PGlite's `postgres` is the bootstrap superuser and cannot be demoted; on hosted it is
--   NOSUPERUSER BYPASSRLS. Migrations therefore run with more power locally; the migration
--   runner refuses migrations that create objects in platform schemas (auth, storage, ...),
--   which hosted Supabase forbids.
-- * pg_cron, pg_net and supabase_vault are emulated extensions (local/extensions/*.sql) driven by
--   the local workers; vault secrets are encoded, not encrypted.

-- ---------------------------------------------------------------------------------------------
-- Roles
-- ---------------------------------------------------------------------------------------------
do $$
declare
  r text;
begin
  foreach r in array array['anon', 'authenticated', 'service_role', 'authenticator',
    'supabase_admin', 'supabase_auth_admin', 'supabase_storage_admin',
    'supabase_functions_admin', 'supabase_realtime_admin', 'supabase_read_only_user',
    'supabase_replication_admin', 'dashboard_user', 'pgbouncer']
  loop
    if not exists (select 1 from pg_roles where rolname = r) then
      execute format('create role %I', r);
    end if;
  end loop;
end
$$;

alter role anon nologin inherit;
alter role authenticated nologin inherit;
alter role service_role nologin inherit bypassrls;
alter role authenticator login noinherit;
alter role supabase_admin login superuser createdb createrole replication bypassrls;
alter role supabase_auth_admin login noinherit createrole noreplication;
alter role supabase_storage_admin login noinherit createrole noreplication;
alter role supabase_functions_admin login noinherit createrole noreplication;
alter role supabase_realtime_admin nologin noinherit noreplication;
alter role supabase_read_only_user login bypassrls;
alter role supabase_replication_admin login replication;
alter role dashboard_user nosuperuser createdb createrole replication;
alter role pgbouncer login;

alter role anon set statement_timeout = '3s';
alter role authenticated set statement_timeout = '8s';
alter role authenticator set statement_timeout = '8s';
alter role authenticator set lock_timeout = '8s';
-- Hosted: postgres (and so the functions' pooled connections) resolves extensions unqualified.
alter role postgres set search_path = "$user", public, extensions;
alter role supabase_auth_admin set search_path = auth;
alter role supabase_storage_admin set search_path = storage;

grant anon, authenticated, service_role to postgres;
grant anon, authenticated, service_role, supabase_admin to authenticator;
grant pg_read_all_data to supabase_read_only_user;
grant supabase_functions_admin to postgres;

-- ---------------------------------------------------------------------------------------------
-- Schemas, default privileges and extensions
-- ---------------------------------------------------------------------------------------------
create schema if not exists extensions;
create schema if not exists graphql_public;
grant usage on schema public to postgres, anon, authenticated, service_role;
grant usage on schema extensions to postgres, anon, authenticated, service_role;
grant usage on schema graphql_public to postgres, anon, authenticated, service_role;

-- The long-standing default: everything new in public is granted to the API roles, and RLS is
-- the only gate. See the end of this file for the new default (auto_expose_new_tables = false).
alter default privileges in schema public grant all on tables to postgres, anon, authenticated, service_role;
alter default privileges in schema public grant all on functions to postgres, anon, authenticated, service_role;
alter default privileges in schema public grant all on sequences to postgres, anon, authenticated, service_role;

-- Only what a fresh hosted project has installed (docs/platform.md section 3; hosted also has
-- pg_graphql and pg_stat_statements, which PGlite cannot load). pg_net, pg_cron and vector are available but not
-- created: as on hosted, a migration must `create extension` them (tests/local/extensions.test.ts).
create extension if not exists pgcrypto with schema extensions;
create extension if not exists "uuid-ossp" with schema extensions;
create extension if not exists supabase_vault;

grant usage on schema extensions to supabase_auth_admin, supabase_storage_admin;

create publication supabase_realtime;

-- ---------------------------------------------------------------------------------------------
-- auth (GoTrue). Tables hold what the local auth emulator (local/auth) reads and writes.
-- ---------------------------------------------------------------------------------------------
create schema auth authorization supabase_auth_admin;
grant usage on schema auth to anon, authenticated, service_role, postgres;

create table auth.users (
  instance_id uuid,
  id uuid not null primary key,
  aud varchar(255),
  role varchar(255),
  email varchar(255),
  encrypted_password varchar(255),
  email_confirmed_at timestamptz,
  invited_at timestamptz,
  confirmation_token varchar(255),
  confirmation_sent_at timestamptz,
  recovery_token varchar(255),
  recovery_sent_at timestamptz,
  email_change_token_new varchar(255),
  email_change varchar(255),
  email_change_sent_at timestamptz,
  last_sign_in_at timestamptz,
  raw_app_meta_data jsonb,
  raw_user_meta_data jsonb,
  is_super_admin bool,
  created_at timestamptz,
  updated_at timestamptz,
  phone text unique default null,
  phone_confirmed_at timestamptz,
  phone_change text default '',
  phone_change_token varchar(255) default '',
  phone_change_sent_at timestamptz,
  confirmed_at timestamptz generated always as (least(email_confirmed_at, phone_confirmed_at)) stored,
  email_change_token_current varchar(255) default '',
  email_change_confirm_status smallint default 0 check (email_change_confirm_status between 0 and 2),
  banned_until timestamptz,
  reauthentication_token varchar(255) default '',
  reauthentication_sent_at timestamptz,
  is_sso_user boolean not null default false,
  deleted_at timestamptz,
  is_anonymous boolean not null default false
);
create unique index users_email_partial_key on auth.users (email) where (is_sso_user = false);
create index users_instance_id_email_idx on auth.users (instance_id, lower(email));
create index users_is_anonymous_idx on auth.users (is_anonymous);

create table auth.identities (
  provider_id text not null,
  user_id uuid not null references auth.users (id) on delete cascade,
  identity_data jsonb not null,
  provider text not null,
  last_sign_in_at timestamptz,
  created_at timestamptz,
  updated_at timestamptz,
  email text generated always as (lower(identity_data ->> 'email')) stored,
  id uuid not null default gen_random_uuid() primary key,
  constraint identities_provider_id_provider_unique unique (provider_id, provider)
);
create index identities_user_id_idx on auth.identities (user_id);

create table auth.sessions (
  id uuid not null primary key,
  user_id uuid not null references auth.users (id) on delete cascade,
  created_at timestamptz,
  updated_at timestamptz,
  factor_id uuid,
  aal text,
  not_after timestamptz,
  refreshed_at timestamp,
  user_agent text,
  ip inet,
  tag text
);
create index sessions_user_id_idx on auth.sessions (user_id);

create table auth.refresh_tokens (
  instance_id uuid,
  id bigserial primary key,
  token varchar(255) unique,
  user_id varchar(255),
  revoked bool,
  created_at timestamptz,
  updated_at timestamptz,
  parent varchar(255),
  session_id uuid references auth.sessions (id) on delete cascade
);
create index refresh_tokens_session_id_revoked_idx on auth.refresh_tokens (session_id, revoked);

alter table auth.users owner to supabase_auth_admin;
alter table auth.identities owner to supabase_auth_admin;
alter table auth.sessions owner to supabase_auth_admin;
alter table auth.refresh_tokens owner to supabase_auth_admin;
alter sequence auth.refresh_tokens_id_seq owner to supabase_auth_admin;
alter table auth.users enable row level security;
alter table auth.identities enable row level security;
alter table auth.sessions enable row level security;
alter table auth.refresh_tokens enable row level security;
grant all on all tables in schema auth to postgres, dashboard_user;
grant all on all sequences in schema auth to postgres, dashboard_user;

create function auth.uid() returns uuid
language sql stable
as $$
  select coalesce(
    nullif(current_setting('request.jwt.claim.sub', true), ''),
    (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')
  )::uuid
$$;
comment on function auth.uid() is 'Deprecated. Use auth.jwt() -> ''sub'' instead.';

create function auth.role() returns text
language sql stable
as $$
  select coalesce(
    nullif(current_setting('request.jwt.claim.role', true), ''),
    (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'role')
  )::text
$$;
comment on function auth.role() is 'Deprecated. Use auth.jwt() -> ''role'' instead.';

create function auth.email() returns text
language sql stable
as $$
  select coalesce(
    nullif(current_setting('request.jwt.claim.email', true), ''),
    (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'email')
  )::text
$$;
comment on function auth.email() is 'Deprecated. Use auth.jwt() -> ''email'' instead.';

create function auth.jwt() returns jsonb
language sql stable
as $$
  select coalesce(
    nullif(current_setting('request.jwt.claim', true), ''),
    nullif(current_setting('request.jwt.claims', true), '')
  )::jsonb
$$;

alter function auth.uid() owner to supabase_auth_admin;
alter function auth.role() owner to supabase_auth_admin;
alter function auth.email() owner to supabase_auth_admin;
alter function auth.jwt() owner to supabase_auth_admin;

-- ---------------------------------------------------------------------------------------------
-- storage. Objects' bytes live in the local data folder; rows here, decided by RLS.
-- ---------------------------------------------------------------------------------------------
create schema storage authorization supabase_storage_admin;
grant usage on schema storage to postgres, anon, authenticated, service_role;

create type storage.buckettype as enum ('STANDARD', 'ANALYTICS', 'VECTOR');

create table storage.buckets (
  id text not null primary key,
  name text not null,
  owner uuid,
  created_at timestamptz default now(),
  updated_at timestamptz default now(),
  public boolean default false,
  avif_autodetection bool default false,
  file_size_limit bigint,
  allowed_mime_types text[],
  owner_id text,
  type storage.buckettype not null default 'STANDARD',
  constraint buckets_name_length check (length(name) <= 100)
);
create unique index bname on storage.buckets using btree (name);

create table storage.objects (
  id uuid not null default gen_random_uuid() primary key,
  bucket_id text references storage.buckets (id),
  name text,
  owner uuid,
  created_at timestamptz default now(),
  updated_at timestamptz default now(),
  last_accessed_at timestamptz default now(),
  metadata jsonb,
  path_tokens text[] generated always as (string_to_array(name, '/')) stored,
  version text,
  owner_id text,
  user_metadata jsonb
);
alter table storage.objects
  add constraint "objects_bucketId_fkey" foreign key (bucket_id) references storage.buckets (id)
  not valid;
create unique index bucketid_objname on storage.objects using btree (bucket_id, name);
create index name_prefix_search on storage.objects using btree (name text_pattern_ops);

alter table storage.buckets owner to supabase_storage_admin;
alter table storage.objects owner to supabase_storage_admin;
alter table storage.buckets enable row level security;
alter table storage.objects enable row level security;
grant all on storage.buckets, storage.objects to anon, authenticated, service_role;
grant all on storage.buckets, storage.objects to postgres with grant option;

create function storage.foldername(name text) returns text[]
language plpgsql immutable
as $$
declare
  _parts text[];
begin
  select string_to_array(name, '/') into _parts;
  return _parts[1 : array_length(_parts, 1) - 1];
end
$$;

create function storage.filename(name text) returns text
language plpgsql immutable
as $$
declare
  _parts text[];
begin
  select string_to_array(name, '/') into _parts;
  return _parts[array_length(_parts, 1)];
end
$$;

create function storage.extension(name text) returns text
language plpgsql immutable
as $$
declare
  _filename text;
begin
  select storage.filename(name) into _filename;
  return reverse(split_part(reverse(_filename), '.', 1));
end
$$;

create function storage.operation() returns text
language plpgsql stable
as $$
begin
  return current_setting('storage.operation', true);
end
$$;

-- Lists the entries one level below `prefix`: folders (id null) and files. Runs as the caller,
-- so RLS decides what is listed, as in the Storage API.
create function storage.search(
  prefix text,
  bucketname text,
  limits int default 100,
  levels int default 1,
  offsets int default 0,
  search text default '',
  sortcolumn text default 'name',
  sortorder text default 'asc'
) returns table (
  name text,
  id uuid,
  updated_at timestamptz,
  created_at timestamptz,
  last_accessed_at timestamptz,
  metadata jsonb
)
language plpgsql stable
as $$
declare
  v_order text := case when lower(sortorder) = 'desc' then 'desc' else 'asc' end;
  v_column text := case when sortcolumn in ('name', 'updated_at', 'created_at', 'last_accessed_at')
                        then sortcolumn else 'name' end;
begin
  return query execute format(
    $q$
    with matched as (
      select o.* from storage.objects o
      where o.bucket_id = $1
        and left(o.name, length($2)) = $2
        and array_length(o.path_tokens, 1) >= $3
        and o.path_tokens[$3] ilike (replace(replace(replace($4, '\', '\\'), '%%', '\%%'), '_', '\_') || '%%')
    ), entries as (
      select m.path_tokens[$3] as name, null::uuid as id, null::timestamptz as updated_at,
             null::timestamptz as created_at, null::timestamptz as last_accessed_at,
             null::jsonb as metadata
      from matched m
      where array_length(m.path_tokens, 1) > $3
      group by m.path_tokens[$3]
      union all
      select m.path_tokens[$3], m.id, m.updated_at, m.created_at, m.last_accessed_at, m.metadata
      from matched m
      where array_length(m.path_tokens, 1) = $3
    )
    select * from entries e
    order by (e.id is not null), e.%I %s nulls last, e.name
    limit $5 offset $6
    $q$, v_column, v_order)
  using bucketname, prefix, levels, search, limits, offsets;
end
$$;

create function storage.get_size_by_bucket()
returns table (size bigint, bucket_id text)
language plpgsql stable
as $$
begin
  return query
    select sum((metadata ->> 'size')::bigint)::bigint as size, o.bucket_id
    from storage.objects o
    group by o.bucket_id;
end
$$;

create function storage.can_insert_object(bucketid text, name text, owner uuid, metadata jsonb)
returns void
language plpgsql
as $$
begin
  insert into storage.objects (bucket_id, name, owner, metadata)
  values (bucketid, name, owner, metadata);
  -- Undo the successful insert: the caller only wanted the policies' verdict.
  raise sqlstate 'PT200' using message = 'ROLLBACK', detail = 'rollback successful insert';
end
$$;

create function storage.update_updated_at_column() returns trigger
language plpgsql
as $$
begin
  new.updated_at = now();
  return new;
end
$$;

create trigger update_objects_updated_at
  before update on storage.objects
  for each row execute function storage.update_updated_at_column();

create function storage.protect_delete() returns trigger
language plpgsql
as $$
begin
  if coalesce(current_setting('storage.allow_delete_query', true), 'false') <> 'true' then
    raise exception 'Direct deletion from storage tables is not allowed. Use the Storage API instead.'
      using errcode = '42501',
            hint = 'This prevents accidental data loss from orphaned objects.';
  end if;
  return null;
end
$$;

create trigger protect_buckets_delete
  before delete on storage.buckets
  for each statement execute function storage.protect_delete();
create trigger protect_objects_delete
  before delete on storage.objects
  for each statement execute function storage.protect_delete();

do $$
declare
  f regprocedure;
begin
  for f in select p.oid::regprocedure from pg_proc p where p.pronamespace = 'storage'::regnamespace
  loop
    execute format('alter function %s owner to supabase_storage_admin', f);
  end loop;
end
$$;
grant execute on all functions in schema storage to postgres, anon, authenticated, service_role;

-- ---------------------------------------------------------------------------------------------
-- supabase_functions: database webhooks (supabase_functions.http_request as a trigger)
-- ---------------------------------------------------------------------------------------------
create schema supabase_functions authorization supabase_admin;
grant usage on schema supabase_functions to postgres, anon, authenticated, service_role;
alter default privileges in schema supabase_functions grant all on tables to postgres, anon, authenticated, service_role;
alter default privileges in schema supabase_functions grant all on functions to postgres, anon, authenticated, service_role;
alter default privileges in schema supabase_functions grant all on sequences to postgres, anon, authenticated, service_role;

create table supabase_functions.migrations (
  version text primary key,
  inserted_at timestamptz not null default now()
);
insert into supabase_functions.migrations (version)
values ('initial'), ('20210809183423_update_grants');

create table supabase_functions.hooks (
  id bigserial primary key,
  hook_table_id integer not null,
  hook_name text not null,
  created_at timestamptz not null default now(),
  request_id bigint
);
create index supabase_functions_hooks_request_id_idx on supabase_functions.hooks using btree (request_id);
create index supabase_functions_hooks_h_table_id_h_name_idx on supabase_functions.hooks using btree (hook_table_id, hook_name);

create function supabase_functions.http_request()
returns trigger
language plpgsql security definer set search_path = supabase_functions
as $$
declare
  request_id bigint;
  payload jsonb;
  url text := tg_argv[0]::text;
  method text := tg_argv[1]::text;
  headers jsonb default '{}'::jsonb;
  params jsonb default '{}'::jsonb;
  timeout_ms integer default 1000;
begin
  if url is null or url = 'null' then
    raise exception 'url argument is missing';
  end if;
  if method is null or method = 'null' then
    raise exception 'method argument is missing';
  end if;
  if tg_argv[2] is null or tg_argv[2] = 'null' then
    headers = '{"Content-Type": "application/json"}'::jsonb;
  else
    headers = tg_argv[2]::jsonb;
  end if;
  if tg_argv[3] is null or tg_argv[3] = 'null' then
    params = '{}'::jsonb;
  else
    params = tg_argv[3]::jsonb;
  end if;
  if tg_argv[4] is null or tg_argv[4] = 'null' then
    timeout_ms = 1000;
  else
    timeout_ms = tg_argv[4]::integer;
  end if;

  case
    when method = 'GET' then
      select net.http_get(url, params, headers, timeout_ms) into request_id;
    when method = 'POST' then
      payload = jsonb_build_object(
        'old_record', old, 'record', new, 'type', tg_op,
        'table', tg_table_name, 'schema', tg_table_schema
      );
      select net.http_post(url, payload, params, headers, timeout_ms) into request_id;
    else
      raise exception 'method argument % is invalid', method;
  end case;

  insert into supabase_functions.hooks (hook_table_id, hook_name, request_id)
  values (tg_relid, tg_name, request_id);
  return new;
end
$$;
alter function supabase_functions.http_request() owner to supabase_functions_admin;
revoke all on function supabase_functions.http_request() from public;
grant execute on function supabase_functions.http_request() to postgres, anon, authenticated, service_role;

-- ---------------------------------------------------------------------------------------------
-- supabase_migrations: the CLI's record of applied migrations
-- ---------------------------------------------------------------------------------------------
create schema supabase_migrations;
create table supabase_migrations.schema_migrations (
  version text not null primary key,
  statements text[],
  name text
);
create table supabase_migrations.seed_files (
  path text not null primary key,
  hash text not null
);

-- ---------------------------------------------------------------------------------------------
-- [api] auto_expose_new_tables = false (the default for projects created after 2026-05-30):
-- new tables, sequences and functions in public are no longer granted to the API roles.
-- The local stack sets local_stack.auto_expose_new_tables from supabase/config.toml.
-- Nothing at all, as the README says: not TRUNCATE, TRIGGER, REFERENCES or MAINTAIN on tables,
-- not UPDATE on sequences (hosted keeps those in its default ACLs), and not EXECUTE through
-- PUBLIC on functions. Postgres grants that last one globally and per-schema default privileges
-- cannot take a global grant away (a global revoke would also strip pgvector's operators, which
-- `create extension` makes as postgres), so an event trigger revokes it from each new function in
-- public. Migrations still revoke from PUBLIC themselves, as they must on hosted.
-- ---------------------------------------------------------------------------------------------
create function extensions.local_stack_revoke_public_execute() returns event_trigger
language plpgsql
as $$
declare
  cmd record;
begin
  for cmd in select * from pg_event_trigger_ddl_commands() loop
    if not cmd.in_extension
       and cmd.schema_name = 'public'
       and cmd.command_tag in ('CREATE FUNCTION', 'CREATE PROCEDURE')
    then
      execute format('revoke execute on %s %s from public',
        case cmd.command_tag when 'CREATE PROCEDURE' then 'procedure' else 'function' end,
        cmd.object_identity);
    end if;
  end loop;
end
$$;

do $$
begin
  if coalesce(current_setting('local_stack.auto_expose_new_tables', true), 'false') <> 'true' then
    alter default privileges for role postgres in schema public
      revoke all on tables from anon, authenticated, service_role;
    alter default privileges for role postgres in schema public
      revoke all on sequences from anon, authenticated, service_role;
    alter default privileges for role postgres in schema public
      revoke all on functions from anon, authenticated, service_role;
    create event trigger local_stack_revoke_public_execute on ddl_command_end
      when tag in ('CREATE FUNCTION', 'CREATE PROCEDURE')
      execute function extensions.local_stack_revoke_public_execute();
  end if;
end
$$;

-- ---------------------------------------------------------------------------------------------
-- Local-stack guard: while migrations run (local_stack.migrating = 'on'), refuse objects created
-- in platform schemas. Hosted Supabase revokes CREATE on them from postgres, but PGlite's postgres
-- is a superuser, so without this guard such a migration would pass locally and fail on push.
-- Triggers and policies on platform tables stay allowed, as on hosted.
-- ---------------------------------------------------------------------------------------------
create function extensions.local_stack_forbid_platform_objects() returns event_trigger
language plpgsql
as $$
declare
  cmd record;
begin
  if coalesce(current_setting('local_stack.migrating', true), 'off') <> 'on' then
    return;
  end if;
  for cmd in select * from pg_event_trigger_ddl_commands() loop
    if not cmd.in_extension
       and cmd.schema_name in ('auth', 'storage', 'realtime', 'vault', 'net', 'cron',
                               'supabase_functions', 'supabase_migrations', 'graphql_public')
       and cmd.command_tag not in ('CREATE TRIGGER', 'ALTER TRIGGER', 'CREATE POLICY',
                                   'ALTER POLICY', 'COMMENT', 'GRANT', 'REVOKE')
    then
      raise exception '% %: migrations cannot create or change objects in schema "%" on hosted Supabase',
        cmd.command_tag, cmd.object_identity, cmd.schema_name
        using errcode = '42501',
              hint = 'Put it in public or in a schema of your own (for example private).';
    end if;
  end loop;
end
$$;

create event trigger local_stack_forbid_platform_objects on ddl_command_end
  execute function extensions.local_stack_forbid_platform_objects();
