-- Idempotent execution requests: execute-agent stores a hash of the request beside the
-- Idempotency-Key, so a retry with the same key and the same body gets the first run back and a
-- retry with the same key and another body is refused (409).
--
-- Contracts:
-- * agent_executions.request_hash: lowercase hex SHA-256 of the canonical JSON of the validated
--   request body, written by execute-agent (service_role) with idempotency_key; null for runs
--   without a key. (user_id, idempotency_key) stays unique, so two concurrent first requests
--   with one key make one row: the second insert fails with 23505 and re-reads the first.

alter table public.agent_executions
  add column request_hash text check (request_hash ~ '^[0-9a-f]{64}$');
