/**
 * conversation-summarize's input and output schemas. The public contracts live in
 * _shared/contracts/message-preprocess.ts (client apps import them from shared/); the queue's
 * payload is here.
 */
import { z } from "zod";

export {
  ConversationSummarizeRequest,
  ConversationSummarizeResponse,
} from "../_shared/contracts/message-preprocess.ts";

/** A job of the `conversation_summaries` queue (queued by the enqueue_summary trigger). */
export const SummaryJobPayload = z.object({ conversation_id: z.uuid() });

/** The queue this function drains (registered in *_queue_workers.sql). */
export const SUMMARY_QUEUE = "conversation_summaries";
/** The rate limit bucket of the user route (private.rate_limit_policies; `default` limits). */
export const RATE_LIMIT_BUCKET = "conversation-summarize";
