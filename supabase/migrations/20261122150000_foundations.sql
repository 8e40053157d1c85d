-- Foundations every later migration relies on: extensions, the `private` schema and the one
-- `set_updated_at` trigger function.
--
-- Extensions: pgvector in `extensions` (where Supabase installs it) and pg_cron in `pg_catalog`
-- (as the Supabase docs install it; its objects live in schema `cron`). Extension objects are
-- always schema-qualified in these migrations (`extensions.halfvec`, `operator(extensions.<=>)`),
-- so nothing depends on the caller's search_path.
--
-- Schema `private`: security-definer helpers, trigger functions and internal tables (the job
-- queue). It is not an exposed API schema, and anon/authenticated have no USAGE on it, so they
-- cannot call anything in it by name. RLS policies still call private helpers: a policy's names
-- are resolved when the policy is created, so evaluating it needs EXECUTE on the helper but not
-- USAGE on the schema. service_role gets USAGE to reach the queue functions granted to it.
--
-- Grants: Postgres gives PUBLIC execute on every new function and new projects no longer grant
-- anything in `public` to the API roles; every migration therefore revokes from PUBLIC and the
-- API roles right after creating an object, then grants exactly what each role needs.
--
-- Embeddings are halfvec(1536) everywhere, with HNSW indexes on cosine distance (m 16,
-- ef_construction 64). Chosen by measurement: `npx deno run -A bench/vector-storage.ts` on
-- PGlite 0.5 + pgvector 0.8.7, 2,500 clustered normalised embeddings, 50 top-10 queries,
-- ef_search 40. Sizes repeat exactly across runs and recall within 0.002; latencies are noisy
-- (the p50 ratio ranged 1.55-1.9 over three runs). One run:
--                 table     index     HNSW build  query p50  query p95  recall@10
--   vector(1536)  20.9 MB   20.5 MB    4.6 s       3.8 ms     4.2 ms    0.988
--   halfvec(1536) 10.6 MB   10.2 MB   26.3 s       7.2 ms    10.8 ms    0.990
--   halfvec/vector 0.505    0.500      5.7         1.9        2.6       1.00
-- halfvec halves table and index, so twice as many embeddings fit in memory before HNSW turns
-- into disk reads, with the same recall. Its slower build and queries on PGlite come from
-- software float16 conversion in WASM; on hosted Postgres (x86 with F16C) that cost is expected
-- to be small, and embeddings are written in the background anyway. Re-run the bench to revisit.

create extension if not exists vector with schema extensions;
create extension if not exists pg_cron with schema pg_catalog;

create schema private;
revoke all on schema private from public, anon, authenticated;
grant usage on schema private to service_role;

-- Trigger function behind every `set_updated_at` trigger: stamps updated_at on each update.
-- Called only by triggers; it touches nothing but the row being written.
create function private.set_updated_at()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  new.updated_at := now();
  return new;
end;
$$;

revoke all on function private.set_updated_at() from public, anon, authenticated, service_role;
