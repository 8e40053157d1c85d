-- Embeddings of sections and messages stored inline, so that the planner sees what a scan costs.
--
-- A halfvec(1536) is 3,080 bytes, more than the 2 kB above which Postgres moves a value out of
-- line into the TOAST table (halfvec's default storage is EXTERNAL). The planner prices a
-- sequential scan by the heap's pages and counts no TOAST reads, so with out-of-line embeddings
-- an exact scan of document_sections looked about 15 times cheaper than it is: 10,000 sections
-- filled 322 heap pages (and 30,000 TOAST reads the estimate never saw), the exact scan was
-- costed at 663 against 1,098 for the HNSW index, and `match_document_sections` ran as an exact
-- scan: 120 ms instead of 8 ms on PGlite (bench/vector-search.ts). pgvector (0.8) compensates
-- only when the index pages its scan reads outnumber the heap's pages, so the outcome depends on
-- the table's size and the width of the rest of the row. The same happens on hosted Postgres
-- (pgvector issues 186 and 821, where the maintainers advise SET STORAGE PLAIN): on PostgreSQL
-- 15.18 with pgvector 0.8.1 and sections shaped like the bench's, the planner took the index at
-- 10,000 sections (243 heap pages, compensated) and the exact scan at 20,000 (487 heap pages, cost
-- 737 against 1,169). Inline, a scan is priced by what it reads (0.5 per section) and the index
-- wins from about 2,000 sections on both engines.
--
-- Contracts:
-- * document_sections.embedding and messages.embedding have storage PLAIN: never compressed,
--   never out of line. A row stays within a page: the embedding takes 3 kB and the row's other
--   large values (content, fts, heading_path, metadata) are still compressed or moved out of line
--   as Postgres needs.
-- * Only rows written from now on change; an existing out-of-line value stays there until its row
--   is re-embedded (a new project has none).
-- * Not for conversations.summary_embedding: conversations are updated after every few messages,
--   and an out-of-line embedding is carried over an update as a pointer rather than copied.
--   agents.description_embedding stays as it is too (one row per agent: an exact scan is right).

alter table public.document_sections alter column embedding set storage plain;
alter table public.messages alter column embedding set storage plain;
