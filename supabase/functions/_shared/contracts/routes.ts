/**
 * Every function route with its contract: method, path, who may call it, and the zod schemas
 * of its input and of each answer. The OpenAPI document (`docs/openapi.json`,
 * `npx deno task gen:openapi`) is generated from this list, and a test checks that every route
 * the function apps serve is in it.
 */
import type { z } from "zod";
import { SummaryQuery, SummaryResponse, TrackRequest, TrackResponse } from "./analytics-tracker.ts";
import { CleanupRequest, CleanupResponse } from "./cleanup-old.ts";
import {
  ExecuteAgentAccepted,
  ExecuteAgentRequest,
  ExecuteAgentResponse,
  ExecutionResponse,
} from "./execute-agent.ts";
import {
  ProcessFileRequest,
  ProcessFileResponse,
  SearchRequest,
  SearchResponse,
} from "./file-processor.ts";
import { JobsAccepted, JobsBatch, JobsOutcome } from "./jobs.ts";
import {
  ConversationSummarizeRequest,
  ConversationSummarizeResponse,
  MessagePreprocessRequest,
  MessagePreprocessResponse,
} from "./message-preprocess.ts";
import { WhoamiResponse } from "./whoami.ts";

/**
 * Who may call a route: a signed-in user's JWT; the service credential (service_role key or an
 * `sb_secret_` key); either; or the queue's job secret (or a service key).
 */
export type RouteAuth = "user" | "service" | "user_or_service" | "job";

export interface RouteResponse {
  description: string;
  /** The `application/json` body. */
  schema?: z.ZodType;
  /** The same status may instead carry a `text/event-stream` (what its events are). */
  eventStream?: string;
}

export interface RouteContract {
  function: string;
  method: "get" | "post";
  /** Below `/functions/v1/<function>`, with `{param}` placeholders ("" for the root). */
  path: string;
  summary: string;
  auth: RouteAuth;
  body?: z.ZodType;
  query?: z.ZodType;
  params?: Record<string, string>;
  headers?: Record<string, string>;
  /** Success answers by status; the error answers are added from `auth` and the body. */
  responses: Record<number, RouteResponse>;
}

const jobs = (fn: string, queues: string[]): RouteContract => ({
  function: fn,
  method: "post",
  path: "/jobs",
  summary: `Queue worker for ${queues.join(", ")} (called by the database's dispatcher)`,
  auth: "job",
  body: JobsBatch,
  responses: {
    200: { description: "Every job of the batch completed", schema: JobsOutcome },
    202: { description: "Accepted; each job is reported through SQL", schema: JobsAccepted },
    207: {
      description: "Some jobs failed (they are retried or dead-lettered)",
      schema: JobsOutcome,
    },
  },
});

const executionId = { id: "The execution's id (uuid)" };

export const ROUTES: RouteContract[] = [
  {
    function: "execute-agent",
    method: "post",
    path: "",
    summary: "Run an agent with retrieval and memory: sync (200), async (202) or stream (SSE)",
    auth: "user",
    body: ExecuteAgentRequest,
    headers: { "Idempotency-Key": "Same key and body: the first result; another body: 409" },
    responses: {
      200: {
        description: "sync: the completed execution; stream: server-sent events",
        schema: ExecuteAgentResponse,
        eventStream: "Each event's `data:` is JSON with `type`: `delta` ({ type, text }), then " +
          "one `done` (the sync body with `type`) or `error` (the error body with `type`)",
      },
      202: { description: "async: queued", schema: ExecuteAgentAccepted },
    },
  },
  {
    function: "execute-agent",
    method: "get",
    path: "/executions/{id}",
    summary: "The caller's execution (404 for anyone else's)",
    auth: "user",
    params: executionId,
    responses: { 200: { description: "The execution", schema: ExecutionResponse } },
  },
  {
    function: "execute-agent",
    method: "post",
    path: "/executions/{id}/cancel",
    summary: "Cancel the caller's pending or running execution",
    auth: "user",
    params: executionId,
    responses: { 200: { description: "The cancelled execution", schema: ExecutionResponse } },
  },
  jobs("execute-agent", ["agent_executions"]),
  {
    function: "message-preprocess",
    method: "post",
    path: "",
    summary: "Clean, validate, redact, estimate tokens, embed and store messages",
    auth: "user",
    body: MessagePreprocessRequest,
    responses: {
      200: { description: "The processed messages", schema: MessagePreprocessResponse },
    },
  },
  {
    function: "conversation-summarize",
    method: "post",
    path: "",
    summary: "Bring the caller's conversation's rolling summary up to date",
    auth: "user",
    body: ConversationSummarizeRequest,
    responses: {
      200: { description: "The summary", schema: ConversationSummarizeResponse },
    },
  },
  jobs("conversation-summarize", ["conversation_summaries"]),
  {
    function: "file-processor",
    method: "post",
    path: "",
    summary: "Process the caller's own upload now",
    auth: "user",
    body: ProcessFileRequest,
    responses: { 200: { description: "The processed upload", schema: ProcessFileResponse } },
  },
  {
    function: "file-processor",
    method: "post",
    path: "/search",
    summary: "Search the caller's organizations' documents (hybrid, semantic or keyword)",
    auth: "user",
    body: SearchRequest,
    responses: { 200: { description: "Matching sections", schema: SearchResponse } },
  },
  jobs("file-processor", ["file_processing", "document_embeddings", "agent_embeddings"]),
  {
    function: "analytics-tracker",
    method: "post",
    path: "",
    summary: "Record events, accepted or rejected item by item",
    auth: "user_or_service",
    body: TrackRequest,
    responses: { 200: { description: "What was stored", schema: TrackResponse } },
  },
  {
    function: "analytics-tracker",
    method: "get",
    path: "/summary",
    summary: "Counts, error rate, p50/p95/p99 and tokens per bucket (owners and admins)",
    auth: "user",
    query: SummaryQuery,
    responses: { 200: { description: "The series", schema: SummaryResponse } },
  },
  {
    function: "cleanup-old",
    method: "post",
    path: "",
    summary: "Apply the retention policies in bounded batches (service credential or job secret)",
    auth: "service",
    body: CleanupRequest,
    responses: { 200: { description: "What each policy did", schema: CleanupResponse } },
  },
  ...(["get", "post"] as const).map((method): RouteContract => ({
    function: "whoami",
    method,
    path: "",
    summary: "The caller's verified claims and what RLS sees",
    auth: "user",
    responses: { 200: { description: "The caller", schema: WhoamiResponse } },
  })),
];
