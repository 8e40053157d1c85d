/**
 * `execute-agent`'s request and responses: run an agent for the signed-in user, synchronously,
 * in the background (async) or as a server-sent event stream.
 */
import { z } from "zod";

export const EXECUTION_MODES = ["sync", "async", "stream"] as const;
export const EXECUTION_STATUSES = [
  "pending",
  "running",
  "completed",
  "failed",
  "cancelled",
] as const;

/** `POST /functions/v1/execute-agent`; unknown fields are refused (400). */
export const ExecuteAgentRequest = z.strictObject({
  agent_id: z.uuid(),
  /** The user's message; cleaned, then 1..32,000 characters (empty: 400, longer: 413). */
  input: z.string().max(200_000),
  /** Continue this conversation (the caller's, with this agent); absent: a new one. */
  conversation_id: z.uuid().optional(),
  mode: z.enum(EXECUTION_MODES).default("sync"),
  options: z.strictObject({
    /** Search the organization's knowledge (default true). */
    knowledge: z.boolean().default(true),
    /** Most knowledge sections placed in the prompt (1..20, default 5). */
    max_sections: z.int().min(1).max(20).default(5),
  }).default({ knowledge: true, max_sections: 5 }),
});
export type ExecuteAgentRequest = z.input<typeof ExecuteAgentRequest>;
export type ExecuteAgentInput = z.output<typeof ExecuteAgentRequest>;

export const ExecutionUsage = z.object({
  prompt_tokens: z.int().nonnegative(),
  completion_tokens: z.int().nonnegative(),
  total_tokens: z.int().nonnegative(),
});
export type ExecutionUsage = z.infer<typeof ExecutionUsage>;

/** A knowledge section the answer was given with. similarity: cosine, null for keyword-only hits. */
export const ExecutionSource = z.object({
  document_id: z.uuid(),
  section_id: z.uuid(),
  title: z.string(),
  heading: z.string().nullable(),
  similarity: z.number().nullable(),
});
export type ExecutionSource = z.infer<typeof ExecutionSource>;

/** The sync answer (200), the stream's `done` event (plus `type`) and a completed execution. */
export const ExecuteAgentResponse = z.object({
  execution_id: z.uuid(),
  conversation_id: z.uuid(),
  message_id: z.uuid(),
  status: z.literal("completed"),
  output: z.string(),
  model: z.string(),
  usage: ExecutionUsage,
  latency_ms: z.int().nonnegative(),
  sources: z.array(ExecutionSource),
});
export type ExecuteAgentResponse = z.infer<typeof ExecuteAgentResponse>;

/** The async answer (202): the execution runs in the background. */
export const ExecuteAgentAccepted = z.object({
  execution_id: z.uuid(),
  conversation_id: z.uuid(),
  status: z.enum(EXECUTION_STATUSES),
});
export type ExecuteAgentAccepted = z.infer<typeof ExecuteAgentAccepted>;

/**
 * `GET /functions/v1/execute-agent/executions/<id>` and the cancel route: the execution in any
 * state; the sync answer's fields are set once it is completed (null before).
 */
export const ExecutionResponse = z.object({
  execution_id: z.uuid(),
  agent_id: z.uuid(),
  conversation_id: z.uuid().nullable(),
  message_id: z.uuid().nullable(),
  status: z.enum(EXECUTION_STATUSES),
  output: z.string().nullable(),
  model: z.string().nullable(),
  usage: ExecutionUsage.nullable(),
  latency_ms: z.int().nonnegative().nullable(),
  sources: z.array(ExecutionSource),
  error: z.string().nullable(),
  created_at: z.string(),
  started_at: z.string().nullable(),
  completed_at: z.string().nullable(),
});
export type ExecutionResponse = z.infer<typeof ExecutionResponse>;

/**
 * Stream mode (`text/event-stream`): every event is one `data:` line of JSON with a `type`:
 * `delta` (a piece of the answer), then exactly one `done` (the sync answer) or `error`
 * (the standard error body).
 */
export type ExecuteAgentStreamEvent =
  | { type: "delta"; text: string }
  | ({ type: "done" } & ExecuteAgentResponse)
  | {
    type: "error";
    error: { code: string; message: string; details?: unknown };
    request_id: string;
  };
