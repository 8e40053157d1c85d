-- Realtime: the tables client apps watch instead of polling join the `supabase_realtime`
-- publication, which every Supabase project has (hosted Realtime decodes their WAL; the local
-- stack captures their changes with triggers, see local/realtime).
--
-- * agent_executions: an async run's status (pending -> running -> completed | failed).
-- * messages: a conversation's new turns (the assistant's answer, preprocessed messages).
-- * file_uploads and documents: an upload's processing (processed or failed, with a reason).
--
-- What a subscriber receives is decided by RLS: a change reaches a user only if they may select
-- the row. DELETEs carry only the primary key on these RLS tables (replica identity default).

alter publication supabase_realtime add table
  public.agent_executions,
  public.messages,
  public.file_uploads,
  public.documents;
