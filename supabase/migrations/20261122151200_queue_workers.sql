-- The queues the triggers feed, the edge function that drains each, and one pg_cron job per queue
-- (`dispatch_<queue>`, every 5 seconds) running private.dispatch_jobs(queue).
--
--   queue                   worker function         payload (ids only)              fed by
--   conversation_summaries  conversation-summarize  { conversation_id }             messages
--   file_processing         file-processor          { file_upload_id, document_id } uploads
--   document_embeddings     file-processor          { document_id }                 sections
--   agent_embeddings        file-processor          { agent_id }                    agents
--
-- Timeouts: a worker gets the visibility timeout to complete or fail each job of a batch before
-- the job is claimed again; pg_net gives up on the HTTP request after request_timeout_ms, so a
-- long batch should answer early and report each job through SQL. Before dispatching, the vault
-- must hold `project_url` (e.g. https://<ref>.supabase.co) and `service_role_key`:
--   select vault.create_secret('<url>', 'project_url');
--   select vault.create_secret('<key>', 'service_role_key');
-- Add a queue in a later migration with another private.register_queue call.

select private.register_queue(
  queue_name => 'conversation_summaries',
  worker_function => 'conversation-summarize',
  batch_size => 5,
  visibility_timeout => interval '2 minutes',
  max_attempts => 5,
  backoff_base => interval '15 seconds',
  backoff_max => interval '30 minutes'
);

select private.register_queue(
  queue_name => 'file_processing',
  worker_function => 'file-processor',
  batch_size => 2,
  visibility_timeout => interval '5 minutes',
  max_attempts => 4,
  backoff_base => interval '30 seconds',
  backoff_max => interval '1 hour'
);

select private.register_queue(
  queue_name => 'document_embeddings',
  worker_function => 'file-processor',
  batch_size => 5,
  visibility_timeout => interval '5 minutes',
  max_attempts => 6,
  backoff_base => interval '30 seconds',
  backoff_max => interval '2 hours'
);

select private.register_queue(
  queue_name => 'agent_embeddings',
  worker_function => 'file-processor',
  batch_size => 10,
  visibility_timeout => interval '2 minutes',
  max_attempts => 5,
  backoff_base => interval '15 seconds',
  backoff_max => interval '1 hour'
);
