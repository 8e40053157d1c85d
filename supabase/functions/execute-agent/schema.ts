/**
 * execute-agent's input schemas. The public request and response contracts live in
 * _shared/contracts/execute-agent.ts (client apps import them from shared/); the route-only
 * schemas are here.
 */
import { z } from "zod";

export {
  ExecuteAgentAccepted,
  ExecuteAgentRequest,
  ExecuteAgentResponse,
  ExecutionResponse,
  ExecutionSource,
  ExecutionUsage,
} from "../_shared/contracts/execute-agent.ts";
export type {
  ExecuteAgentInput,
  ExecuteAgentStreamEvent,
} from "../_shared/contracts/execute-agent.ts";

/** `/executions/:id` and `/executions/:id/cancel`. */
export const ExecutionParams = z.object({ id: z.uuid() });

/** A job of the `agent_executions` queue. */
export const ExecutionJobPayload = z.object({ execution_id: z.uuid() });

/** The rate limit bucket of this function (private.rate_limit_policies). */
export const RATE_LIMIT_BUCKET = "execute-agent";
/** The queue async runs go through (registered in *_agent_executions_queue.sql). */
export const EXECUTION_QUEUE = "agent_executions";
