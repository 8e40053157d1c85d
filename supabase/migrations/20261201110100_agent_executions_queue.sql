-- The `agent_executions` queue: asynchronous runs of execute-agent (mode "async").
--
--   queue             worker function   payload (ids only)    fed by
--   agent_executions  execute-agent     { execution_id }      execute-agent (mode "async")
--
-- The worker (POST /functions/v1/execute-agent/jobs) claims the pending execution and runs it;
-- a run that ended (completed, failed or cancelled) or disappeared completes the job without a
-- model call, so a job delivered twice runs the agent at most once. A provider failure is
-- recorded on the execution (failed, with the reason) and completes the job: a failed execution
-- is final, the client asks again. One attempt is retried only when the worker itself failed
-- before claiming (e.g. the database was unreachable).

select private.register_queue(
  queue_name => 'agent_executions',
  worker_function => 'execute-agent',
  batch_size => 4,
  visibility_timeout => interval '5 minutes',
  max_attempts => 3,
  backoff_base => interval '10 seconds',
  backoff_max => interval '5 minutes',
  request_timeout_ms => 60000,
  schedule => '2 seconds'
);
