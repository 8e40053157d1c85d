-- pg_net 0.20, emulated for the local stack. As on a fresh hosted project it is available but not
-- installed: a migration runs `create extension pg_net` (the Dashboard puts it in `extensions`).
-- Same names, signatures, defaults and tables as supabase/pg_net. The request functions only
-- enqueue; the local stack's net worker (local/workers/net.ts) plays pg_net's background worker:
-- it drains net.http_request_queue after commit, makes the HTTP request with its timeout, and
-- stores the outcome in net._http_response. Never used on hosted Supabase.

create schema if not exists net;

create domain net.http_method as text
  check (value ilike 'get' or value ilike 'post' or value ilike 'delete');

create type net.request_status as enum ('PENDING', 'SUCCESS', 'ERROR');
create type net.http_response as (status_code integer, headers jsonb, body text);
create type net.http_response_result as (
  status net.request_status,
  message text,
  response net.http_response
);

create unlogged table net.http_request_queue (
  id bigserial,
  method net.http_method not null,
  url text not null,
  headers jsonb,
  body bytea,
  timeout_milliseconds int not null
);

create unlogged table net._http_response (
  id bigint,
  status_code integer,
  content_type text,
  headers jsonb,
  content text,
  timed_out bool,
  error_msg text,
  created timestamptz not null default now()
);
create index on net._http_response (created);

grant usage on schema net to public;
grant all on net.http_request_queue, net._http_response to public;
grant all on sequence net.http_request_queue_id_seq to public;

-- Appends `params` to `url` as an encoded query string.
create function net._url_with_params(url text, params jsonb)
returns text
language sql immutable
as $$
  select case
    when params is null or params = '{}'::jsonb then url
    else url || case when strpos(url, '?') > 0 then '&' else '?' end || (
      select string_agg(net._urlencode(key) || '=' || net._urlencode(value), '&' order by key)
      from jsonb_each_text(params)
    )
  end
$$;

create function net._urlencode(value text)
returns text
language sql immutable strict
as $$
  select coalesce(string_agg(
    case
      when b between 48 and 57 or b between 65 and 90 or b between 97 and 122 or b in (45, 46, 95, 126)
        then chr(b)
      else '%' || upper(lpad(to_hex(b), 2, '0'))
    end, '' order by i), '')
  from (
    select get_byte(bytes, i) as b, i
    from (select convert_to(value, 'utf8') as bytes) s,
         generate_series(0, length(convert_to(value, 'utf8')) - 1) as i
  ) encoded
$$;

-- Wakes the worker. The local worker polls, so this only has to exist.
create function net.wake() returns void language sql as $$ select $$;

create function net.http_get(
  url text,
  params jsonb default '{}'::jsonb,
  headers jsonb default '{}'::jsonb,
  timeout_milliseconds int default 5000
) returns bigint
language plpgsql security definer set search_path = net
as $$
declare
  request_id bigint;
begin
  insert into net.http_request_queue (method, url, headers, timeout_milliseconds)
  values ('GET', net._url_with_params(url, params), headers, timeout_milliseconds)
  returning id into request_id;
  perform net.wake();
  return request_id;
end
$$;

create function net.http_post(
  url text,
  body jsonb default '{}'::jsonb,
  params jsonb default '{}'::jsonb,
  headers jsonb default '{"Content-Type": "application/json"}'::jsonb,
  timeout_milliseconds int default 5000
) returns bigint
language plpgsql security definer set search_path = net
as $$
declare
  request_id bigint;
  content_type text;
begin
  select value into content_type
  from jsonb_each_text(coalesce(headers, '{}'::jsonb))
  where lower(key) = 'content-type'
  limit 1;

  if content_type is null then
    headers := coalesce(headers, '{}'::jsonb) || '{"Content-Type": "application/json"}'::jsonb;
  elsif content_type <> 'application/json' then
    raise exception 'Content-Type header must be "application/json"';
  end if;

  insert into net.http_request_queue (method, url, headers, body, timeout_milliseconds)
  values ('POST', net._url_with_params(url, params), headers, convert_to(body::text, 'UTF8'),
          timeout_milliseconds)
  returning id into request_id;
  perform net.wake();
  return request_id;
end
$$;

create function net.http_delete(
  url text,
  params jsonb default '{}'::jsonb,
  headers jsonb default '{}'::jsonb,
  timeout_milliseconds int default 5000,
  body jsonb default null
) returns bigint
language plpgsql security definer set search_path = net
as $$
declare
  request_id bigint;
begin
  insert into net.http_request_queue (method, url, headers, body, timeout_milliseconds)
  values ('DELETE', net._url_with_params(url, params), headers,
          case when body is null then null else convert_to(body::text, 'UTF8') end,
          timeout_milliseconds)
  returning id into request_id;
  perform net.wake();
  return request_id;
end
$$;

create function net._http_collect_response(request_id bigint, async bool default true)
returns net.http_response_result
language plpgsql
as $$
declare
  r net._http_response;
begin
  select * into r from net._http_response where id = request_id;
  if r is null then
    return ('PENDING', 'request not found', null)::net.http_response_result;
  end if;
  if r.error_msg is not null then
    return ('ERROR', r.error_msg, null)::net.http_response_result;
  end if;
  return ('SUCCESS', 'ok', (r.status_code, r.headers, r.content)::net.http_response)
    ::net.http_response_result;
end
$$;

create function net.http_collect_response(request_id bigint, async bool default true)
returns net.http_response_result
language sql
as $$ select net._http_collect_response(request_id, async) $$;

create function net.worker_restart() returns bool language sql as $$ select true $$;
create function net.wait_until_running() returns void language sql as $$ select $$;
create function net.check_worker_is_up() returns void language sql as $$ select $$;

-- What supabase's `extensions.grant_pg_net_access()` event trigger does on hosted.
revoke all on function net.http_get(text, jsonb, jsonb, int) from public;
revoke all on function net.http_post(text, jsonb, jsonb, jsonb, int) from public;
grant execute on function net.http_get(text, jsonb, jsonb, int)
  to postgres, anon, authenticated, service_role;
grant execute on function net.http_post(text, jsonb, jsonb, jsonb, int)
  to postgres, anon, authenticated, service_role;
