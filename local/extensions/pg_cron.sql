-- pg_cron 1.6, emulated for the local stack. As on hosted Supabase it is not installed until a
-- migration runs `create extension pg_cron` (with schema pg_catalog, as the docs say). Same
-- tables, functions and errors as citusdata/pg_cron; the local stack's cron worker
-- (local/workers/cron.ts) runs due jobs and records each run in cron.job_run_details.
-- Never used on hosted Supabase.

create schema cron;

create sequence cron.jobid_seq;
create sequence cron.runid_seq;

create table cron.job (
  jobid bigint primary key default nextval('cron.jobid_seq'),
  schedule text not null,
  command text not null,
  nodename text not null default 'localhost',
  nodeport int not null default 5432,
  database text not null default current_database(),
  username text not null default current_user,
  active boolean not null default true,
  jobname text,
  constraint jobname_username_uniq unique (jobname, username)
);

create table cron.job_run_details (
  jobid bigint,
  runid bigint primary key default nextval('cron.runid_seq'),
  job_pid integer,
  database text,
  username text,
  command text,
  status text,
  return_message text,
  start_time timestamptz,
  end_time timestamptz
);

alter table cron.job enable row level security;
alter table cron.job_run_details enable row level security;
create policy cron_job_policy on cron.job using (username = current_user);
create policy cron_job_run_details_policy on cron.job_run_details using (username = current_user);

grant usage on schema cron to public;
grant select on cron.job to public;
grant select, delete on cron.job_run_details to public;

-- Accepts what pg_cron accepts: five cron fields, a @macro, or '[1-59] seconds'.
create function cron._validate_schedule(schedule text)
returns void
language plpgsql immutable
as $$
declare
  field text := '(\*|[0-9a-z]+(-[0-9a-z]+)?)(/[0-9]+)?';
  list text := field || '(,' || field || ')*';
  seconds int;
begin
  if schedule ~* '^ *[0-9]+ +secon(d|ds) *$' then
    seconds := substring(schedule from '[0-9]+')::int;
    if seconds between 1 and 59 then
      return;
    end if;
  elsif lower(trim(schedule)) in ('@yearly', '@annually', '@monthly', '@weekly', '@daily',
                                  '@midnight', '@hourly', '@reboot') then
    return;
  elsif lower(trim(schedule)) ~ ('^' || list || ' +' || list || ' +(' || list || '|\$|l)' ||
                                 ' +' || list || ' +' || list || '$') then
    return;
  end if;
  raise exception 'invalid schedule: %', schedule
    using errcode = '22023',
          hint = 'Use cron format (e.g. 5 4 * * *), or interval format ''[1-59] seconds''';
end
$$;

create function cron.schedule(schedule text, command text)
returns bigint
language plpgsql strict
as $$
declare
  id bigint;
begin
  perform cron._validate_schedule(schedule);
  insert into cron.job (schedule, command) values (schedule, command) returning jobid into id;
  return id;
end
$$;

create function cron.schedule(job_name text, schedule text, command text)
returns bigint
language plpgsql
as $$
declare
  id bigint;
begin
  perform cron._validate_schedule(schedule);
  insert into cron.job (jobname, schedule, command)
  values (job_name, schedule, command)
  on conflict on constraint jobname_username_uniq
  do update set schedule = excluded.schedule, command = excluded.command,
                database = excluded.database, active = true
  returning jobid into id;
  return id;
end
$$;

create function cron.unschedule(job_id bigint)
returns bool
language plpgsql strict
as $$
begin
  delete from cron.job where jobid = job_id;
  if not found then
    raise exception 'could not find valid entry for job %', job_id;
  end if;
  return true;
end
$$;

create function cron.unschedule(job_name text)
returns bool
language plpgsql strict
as $$
begin
  delete from cron.job where jobname = job_name and username = current_user;
  if not found then
    raise exception 'could not find valid entry for job ''%''', job_name;
  end if;
  return true;
end
$$;

create function cron.alter_job(
  job_id bigint,
  schedule text default null,
  command text default null,
  database text default null,
  username text default null,
  active boolean default null
) returns void
language plpgsql
as $$
begin
  if schedule is not null then
    perform cron._validate_schedule(schedule);
  end if;
  update cron.job j
  set schedule = coalesce(alter_job.schedule, j.schedule),
      command = coalesce(alter_job.command, j.command),
      database = coalesce(alter_job.database, j.database),
      username = coalesce(alter_job.username, j.username),
      active = coalesce(alter_job.active, j.active)
  where j.jobid = job_id;
  if not found then
    raise exception 'could not find valid entry for job %', job_id;
  end if;
end
$$;

create function cron.schedule_in_database(
  job_name text,
  schedule text,
  command text,
  database text,
  username text default null,
  active boolean default true
) returns bigint
language plpgsql
as $$
declare
  id bigint;
begin
  perform cron._validate_schedule(schedule);
  insert into cron.job (jobname, schedule, command, database, username, active)
  values (job_name, schedule, command, database, coalesce(username, current_user), active)
  on conflict on constraint jobname_username_uniq
  do update set schedule = excluded.schedule, command = excluded.command,
                database = excluded.database, active = excluded.active
  returning jobid into id;
  return id;
end
$$;

revoke all on function cron.alter_job(bigint, text, text, text, text, boolean) from public;
revoke all on function cron.schedule_in_database(text, text, text, text, text, boolean) from public;
