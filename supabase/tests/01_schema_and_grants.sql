-- The security baseline, checked over the whole catalog so that a new table or function cannot
-- slip through: RLS everywhere in public, nothing for anon, private unreachable by the API roles
-- except the queue functions granted to service_role.
begin;
\ir _helpers.psql
select plan(16);

select tests.rls_enabled('public');

select is(
  (
    select array_agg(c.relname::text order by c.relname)
    from pg_class c
    where c.relnamespace = 'public'::regnamespace
      and c.relkind in ('r', 'p')
      and not exists (select 1 from pg_policy p where p.polrelid = c.oid)
  ),
  null,
  'Every table in public has at least one policy'
);

select is(
  (
    select array_agg(c.relname::text order by c.relname)
    from pg_class c
    where c.relnamespace in ('public'::regnamespace, 'private'::regnamespace)
      and c.relkind in ('r', 'p', 'v', 'm')
      and (
        has_table_privilege('anon', c.oid, 'select, insert, update, delete, truncate, references, trigger')
        or has_any_column_privilege('anon', c.oid, 'select, insert, update, references')
      )
  ),
  null,
  'anon has no privilege on any table in public or private'
);

select is(
  (
    select array_agg(p.oid::regprocedure::text order by 1)
    from pg_proc p
    where p.pronamespace in ('public'::regnamespace, 'private'::regnamespace)
      and exists (
        select 1
        from aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a
        where a.grantee = 0 and a.privilege_type = 'EXECUTE'
      )
  ),
  null,
  'No function in public or private is executable by PUBLIC'
);

select is(
  (
    select array_agg(p.oid::regprocedure::text order by 1)
    from pg_proc p
    where p.pronamespace in ('public'::regnamespace, 'private'::regnamespace)
      and has_function_privilege('anon', p.oid, 'execute')
  ),
  null,
  'anon can execute no function in public or private'
);

select ok(
  not has_schema_privilege('anon', 'private', 'usage')
    and not has_schema_privilege('authenticated', 'private', 'usage'),
  'anon and authenticated have no usage on schema private'
);

select ok(has_schema_privilege('service_role', 'private', 'usage'), 'service_role has usage on schema private');

select set_eq(
  $$
    select p.proname::text
    from pg_proc p
    where p.pronamespace = 'private'::regnamespace
      and has_function_privilege('authenticated', p.oid, 'execute')
  $$,
  array[
    'can_edit_document', 'can_manage_agent', 'has_organization_role', 'is_organization_member',
    'is_unclaimed_organization', 'member_organization_ids', 'shares_organization_with',
    -- invitation policies (the invitee's confirmed e-mail)
    'current_user_email',
    -- analytics reports (begin atomic bodies call them as the caller)
    'analytics_watermarks', 'check_analytics_access'
  ],
  'authenticated may execute only the policy helpers in private (policies run as the caller)'
);

select set_eq(
  $$
    select p.proname::text
    from pg_proc p
    where p.pronamespace = 'private'::regnamespace
      and has_function_privilege('service_role', p.oid, 'execute')
  $$,
  array[
    'claim_jobs', 'complete_job', 'consume_rate_limit', 'dispatch_jobs', 'enqueue_job',
    'fail_job', 'purge_completed_jobs', 'requeue_dead_job',
    -- analytics rollups and reports, retention (cleanup-old)
    'analytics_watermarks', 'apply_retention_policy', 'check_analytics_access',
    'forget_failed_uploads', 'retention_storage_batch', 'rollup_analytics_daily',
    'rollup_analytics_hourly',
    -- file-processor's one-statement section writes
    'write_document_sections',
    -- conversation-summarize's summary lease
    'claim_conversation_summary', 'release_conversation_summary', 'store_conversation_summary'
  ],
  'service_role may execute only the queue functions and the rate limit in private'
);

select set_eq(
  $$
    select p.proname::text
    from pg_proc p
    where p.pronamespace = 'public'::regnamespace
      and has_function_privilege('authenticated', p.oid, 'execute')
  $$,
  array[
    'find_similar_agents', 'hybrid_search', 'match_document_sections', 'match_messages',
    -- invitations (the invitee accepts or declines)
    'accept_invitation', 'decline_invitation',
    -- analytics reports for owners and admins
    'analytics_series', 'detect_performance_issues', 'get_error_rate', 'get_performance_summary',
    -- searches that record their own analytics event
    'hybrid_search_tracked', 'match_document_sections_tracked', 'record_search_event',
    -- recall over the caller's conversation summaries
    'match_conversation_summaries'
  ],
  'authenticated may execute exactly the search RPCs in public'
);

-- Every function in private, called by name with null arguments, is refused before it runs.
create temporary table private_calls on commit drop as
select format(
  'select %I.%I(%s)', n.nspname, p.proname,
  (select string_agg('null', ', ') from generate_series(1, p.pronargs))
) as call
from pg_proc p
join pg_namespace n on n.oid = p.pronamespace
where n.nspname = 'private';
grant select on private_calls to anon, authenticated;

create temporary table table_reads on commit drop as
select format('select count(*) from %I.%I', n.nspname, c.relname) as query
from pg_class c
join pg_namespace n on n.oid = c.relnamespace
where n.nspname = 'public' and c.relkind in ('r', 'p');
grant select on table_reads to anon, authenticated, service_role;

select tests.authenticate_as_service_role();
select is(
  (select array_agg(query order by query) from table_reads where tests.sqlstate_of(query) is not null),
  null,
  'service_role reads every table in public'
);

select tests.clear_authentication();
select is(
  (select array_agg(query order by query) from table_reads where tests.sqlstate_of(query) is distinct from '42501'),
  null,
  'anon is refused every table in public (42501)'
);
select is(
  (select array_agg(call order by call) from private_calls where tests.sqlstate_of(call) is distinct from '42501'),
  null,
  'anon is refused every private function (42501)'
);

select tests.create_supabase_user('someone');
select tests.authenticate_as('someone');
select is(
  (select array_agg(call order by call) from private_calls where tests.sqlstate_of(call) is distinct from '42501'),
  null,
  'authenticated is refused every private function (42501)'
);
select throws_ok(
  $$ select private.is_organization_member(gen_random_uuid()) $$,
  '42501',
  'permission denied for schema private',
  'authenticated cannot call a policy helper directly'
);

select tests.clear_authentication();
select throws_ok(
  $$ select * from public.match_document_sections(tests.embedding(1)) $$,
  '42501',
  null,
  'anon cannot call the search RPCs'
);

select * from finish();
rollback;
