-- The rollups read a bucket's events from the bucket index alone.
--
-- private.analytics_bucket_figures(organization_id, name, from, to) aggregates the events of one
-- organization and name in a time range; the hourly rollup calls it for every bucket that new
-- events touch, and a late event makes it re-read a whole old bucket (exact percentiles need every
-- value). Two things made that slower than it needs to be (bench/rollup-incremental.ts, 1,000,000
-- events over 30 days, 10,000 new of which 5% late):
-- * The plan. Events are appended in time order, so occurred_at is perfectly correlated with the
--   heap, and at the default random_page_cost (4, priced for spinning disks) the planner scanned
--   the hour through analytics_events_occurred_at_idx, filtering organization and name, rather
--   than fetch the bucket's rows through the bucket index: every organization's events of the hour
--   (1,389 rows) to keep one bucket's 28, 0.4-1.0 ms instead of 0.1 ms per bucket, growing with the
--   number of tenants; the incremental rollup took 6 times longer. The function now plans with
--   random_page_cost 1.1, the usual value for SSDs and for data in memory.
-- * The heap. Each of the bucket's rows sat on its own heap page. The bucket index now carries
--   the aggregated columns, so buckets of old (all-visible, i.e. vacuumed) events are read by an
--   index-only scan.
--
-- Contracts:
-- * analytics_events_bucket_idx is replaced by analytics_events_bucket_figures_idx: the same key
--   (organization_id, name, occurred_at), including duration_ms, is_error, tokens and value.
-- * analytics_bucket_figures runs with random_page_cost = 1.1 (its own setting, not the
--   session's); its results are unchanged.

create index analytics_events_bucket_figures_idx
  on public.analytics_events (organization_id, name, occurred_at)
  include (duration_ms, is_error, tokens, value);
drop index public.analytics_events_bucket_idx;

alter function private.analytics_bucket_figures(uuid, text, timestamptz, timestamptz)
  set random_page_cost = 1.1;
