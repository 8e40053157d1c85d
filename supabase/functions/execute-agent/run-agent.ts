/**
 * The work of execute-agent, as plain functions of (input, deps):
 *
 * - startExecution: checks under the user's RLS (the agent is visible and active, the
 *   conversation is theirs and this agent's, an Idempotency-Key's first run), then writes as
 *   service_role in one transaction: the rate limit, the conversation when absent, the user's
 *   message, the pending execution, and for async runs the queue job.
 * - runExecution: claims a pending execution (pending -> running, so a run happens once),
 *   retrieves context, calls the model (whole or streamed), then stores the assistant's message
 *   and completes the execution, or records it failed (or cancelled) with the reason.
 * - getExecution / cancelExecution: the owner's view of a run, and stopping it.
 *
 * Executions are written only by service_role (the table's contract); every service write
 * filters by the ids the user was checked against.
 */
import type { ChatResult } from "../_shared/ai/types.ts";
import type { UserClaims } from "../_shared/auth.ts";
import type { Queryable } from "../_shared/db/mod.ts";
import type { Columns } from "../_shared/db/rows.ts";
import type { Deps } from "../_shared/deps.ts";
import { AppError, type ErrorCode } from "../_shared/errors.ts";
import { toAppError } from "../_shared/http/app.ts";
import { requestHash } from "../_shared/idempotency.ts";
import type { Logger } from "../_shared/logger.ts";
import { enforceRateLimit } from "../_shared/rate-limit.ts";
import { checkText, cleanText } from "../_shared/text/sanitize.ts";
import { countTokens, truncateToTokens } from "../_shared/text/tokens.ts";
import {
  buildPrompt,
  HISTORY_CANDIDATES,
  type HistoryMessage,
  MAX_EMBEDDED_QUERY_TOKENS,
  searchKnowledge,
  type Section,
} from "./context.ts";
import {
  type ExecuteAgentInput,
  EXECUTION_QUEUE,
  ExecutionJobPayload,
  RATE_LIMIT_BUCKET,
} from "./schema.ts";
import type {
  ExecuteAgentAccepted,
  ExecuteAgentResponse,
  ExecutionResponse,
  ExecutionSource,
} from "../_shared/contracts/execute-agent.ts";

type Status = ExecutionResponse["status"];

/** What an execution stores in `input`. */
export interface ExecutionInput {
  text: string;
  mode: ExecuteAgentInput["mode"];
  options: ExecuteAgentInput["options"];
  /** The user's message this run answers. */
  message_id: string;
}

/** What an execution stores in `output`: the answer, or the code of the error that ended it. */
export interface ExecutionOutput {
  text?: string;
  message_id?: string;
  sources?: ExecutionSource[];
  error_code?: ErrorCode;
}

/** An agent_executions row as COLUMNS selects it. */
export type ExecutionRow =
  & Columns<
    "agent_executions",
    | "id"
    | "agent_id"
    | "user_id"
    | "organization_id"
    | "conversation_id"
    | "model"
    | "prompt_tokens"
    | "completion_tokens"
    | "latency_ms"
    | "error"
    | "request_hash"
  >
  // Narrower than the generated types: the status check constraint's values, the jsonb this
  // module writes, the generated total (a coalesce, never null), timestamps as the drivers
  // return them.
  & {
    status: Status;
    input: ExecutionInput;
    output: ExecutionOutput | null;
    total_tokens: number;
    created_at: Date | string;
    started_at: Date | string | null;
    completed_at: Date | string | null;
  };

const COLUMNS = `id, agent_id, user_id, organization_id, conversation_id, status, input, output,
  model, prompt_tokens, completion_tokens, total_tokens, latency_ms, error, request_hash,
  created_at, started_at, completed_at`;

// JSON parameters are bound as text and cast (`$n::text::jsonb`): postgres.js would JSON-encode a
// string bound to a jsonb parameter a second time.

/** Longest conversation title taken from a first message. */
const TITLE_CHARS = 80;
/** messages.content's limit. */
const MAX_MESSAGE_CHARS = 100_000;

/** Runs in this isolate, so a cancel can stop the model call at once. */
const activeRuns = new Map<string, AbortController>();

export interface Started {
  execution: ExecutionRow;
  /** True when an Idempotency-Key found an earlier run of the same request. */
  replayed: boolean;
}

/** Checks the request under RLS and records it; see this module's header. */
export async function startExecution(
  claims: UserClaims,
  request: ExecuteAgentInput,
  deps: Deps,
  options: { idempotencyKey?: string | null } = {},
): Promise<Started> {
  const text = checkText(request.input, { maxChars: deps.config.maxInputChars, field: "input" });
  const key = options.idempotencyKey ?? null;
  const hash = key ? await requestHash(request) : null;

  const checked = await deps.db.asUser(claims, async (tx) => {
    const [agent] = await tx.query<Columns<"agents", "id" | "organization_id">>(
      `select id, organization_id from public.agents where id = $1 and status = 'active'`,
      [request.agent_id],
    );
    if (!agent) throw new AppError("not_found", `Unknown agent: "${request.agent_id}"`);
    if (request.conversation_id) {
      const [conversation] = await tx.query(
        `select id from public.conversations
         where id = $1 and agent_id = $2 and user_id = (select auth.uid())`,
        [request.conversation_id, agent.id],
      );
      if (!conversation) {
        throw new AppError("not_found", `Unknown conversation: "${request.conversation_id}"`);
      }
    }
    const earlier = key ? await findByKey(tx, key) : null;
    return { agent, earlier };
  });
  if (checked.earlier) return replay(checked.earlier, hash);

  const messageId = crypto.randomUUID();
  const executionId = crypto.randomUUID();
  const input: ExecutionInput = {
    text,
    mode: request.mode,
    options: request.options,
    message_id: messageId,
  };
  try {
    const execution = await deps.db.asService(async (tx) => {
      await enforceRateLimit(tx, {
        userId: claims.sub,
        organizationId: checked.agent.organization_id,
        bucket: RATE_LIMIT_BUCKET,
      });
      const conversationId = request.conversation_id ??
        await createConversation(tx, claims.sub, checked.agent.id, text);
      await tx.query(
        `insert into public.messages (id, conversation_id, role, content, token_estimate, metadata)
         values ($1, $2, 'user', $3, $4, $5::text::jsonb)`,
        [
          messageId,
          conversationId,
          text,
          countTokens(text),
          JSON.stringify({ execution_id: executionId }),
        ],
      );
      const [row] = await tx.query<ExecutionRow>(
        `insert into public.agent_executions
           (id, agent_id, user_id, conversation_id, input, idempotency_key, request_hash)
         values ($1, $2, $3, $4, $5::text::jsonb, $6, $7)
         returning ${COLUMNS}`,
        [
          executionId,
          checked.agent.id,
          claims.sub,
          conversationId,
          JSON.stringify(input),
          key,
          hash,
        ],
      );
      if (request.mode === "async") {
        await tx.query(`select private.enqueue_job($1, $2::text::jsonb, $3)`, [
          EXECUTION_QUEUE,
          JSON.stringify({ execution_id: executionId }),
          `execution:${executionId}`,
        ]);
      }
      return row!;
    });
    return { execution, replayed: false };
  } catch (error) {
    // Two first requests with one key raced: the loser reads the winner's run.
    if (key && isUniqueViolation(error)) {
      const earlier = await deps.db.asUser(claims, (tx) => findByKey(tx, key));
      if (earlier) return replay(earlier, hash);
    }
    throw error;
  }
}

function replay(earlier: ExecutionRow, hash: string | null): Started {
  if (earlier.request_hash !== hash) {
    throw new AppError(
      "conflict",
      "Idempotency-Key was already used with a different request body",
      { details: { execution_id: earlier.id } },
    );
  }
  return { execution: earlier, replayed: true };
}

async function findByKey(tx: Queryable, key: string): Promise<ExecutionRow | null> {
  const [row] = await tx.query<ExecutionRow>(
    `select ${COLUMNS} from public.agent_executions
     where user_id = (select auth.uid()) and idempotency_key = $1`,
    [key],
  );
  return row ?? null;
}

async function createConversation(
  tx: Queryable,
  userId: string,
  agentId: string,
  firstMessage: string,
): Promise<string> {
  const firstLine = firstMessage.split("\n", 1)[0]!;
  const title = firstLine.length > TITLE_CHARS
    ? `${firstLine.slice(0, TITLE_CHARS - 3).trimEnd()}...`
    : firstLine;
  const [row] = await tx.query<Columns<"conversations", "id">>(
    `insert into public.conversations (user_id, agent_id, title) values ($1, $2, $3) returning id`,
    [userId, agentId, title],
  );
  return row!.id;
}

function isUniqueViolation(error: unknown): boolean {
  return typeof error === "object" && error !== null &&
    (error as { code?: unknown }).code === "23505";
}

export interface RunOptions {
  /** Aborts the run (client gone); the execution then ends `cancelled`. */
  signal?: AbortSignal;
  /** Streams the answer: called with each piece of text as the model produces it. */
  onDelta?: (text: string) => void;
  logger?: Logger;
}

export interface RunOutcome {
  /** The execution as it ended (or as found, when another run had already claimed it). */
  execution: ExecutionRow;
  /** Why it failed; the execution is recorded `failed` with this message. */
  error?: AppError;
}

/**
 * Runs a pending execution to its end and records it. Returns null when the execution does not
 * exist; an execution that is not pending (claimed by another run, ended, cancelled) is
 * returned as it is, without a model call.
 */
export async function runExecution(
  executionId: string,
  deps: Deps,
  options: RunOptions = {},
): Promise<RunOutcome | null> {
  const started = performance.now();
  const [claimed] = await deps.db.asService((tx) =>
    tx.query<ExecutionRow>(
      `update public.agent_executions set status = 'running'
       where id = $1 and status = 'pending'
       returning ${COLUMNS}`,
      [executionId],
    )
  );
  if (!claimed) {
    const current = await readExecution(deps, executionId);
    return current ? { execution: current } : null;
  }

  const controller = new AbortController();
  const abort = () => controller.abort(options.signal?.reason);
  if (options.signal?.aborted) abort();
  options.signal?.addEventListener("abort", abort, { once: true });
  activeRuns.set(executionId, controller);
  const attempt: { model?: string } = {};
  const elapsed = () => Math.round(performance.now() - started);
  try {
    const answer = await answerExecution(claimed, deps, {
      signal: controller.signal,
      onDelta: options.onDelta,
      attempt,
    });
    const finished = await deps.db.asService((tx) => recordAnswer(tx, claimed, answer, elapsed()));
    return { execution: finished ?? (await readExecution(deps, executionId))! };
  } catch (error) {
    if (controller.signal.aborted) {
      const cancelled = await endExecution(deps, executionId, {
        status: "cancelled",
        error: "Cancelled: the client went away or the run was cancelled",
        latencyMs: elapsed(),
        model: attempt.model,
      });
      return { execution: cancelled ?? (await readExecution(deps, executionId))! };
    }
    const appError = toAppError(error);
    if (appError.code === "internal") {
      (options.logger ?? deps.logger).error("execution failed", {
        execution_id: executionId,
        error,
      });
    }
    const failed = await endExecution(deps, executionId, {
      status: "failed",
      error: appError.message,
      errorCode: appError.code,
      latencyMs: elapsed(),
      model: attempt.model,
    });
    return { execution: failed ?? (await readExecution(deps, executionId))!, error: appError };
  } finally {
    options.signal?.removeEventListener("abort", abort);
    activeRuns.delete(executionId);
  }
}

interface Answer {
  result: ChatResult;
  text: string;
  sections: Section[];
}

async function answerExecution(
  execution: ExecutionRow,
  deps: Deps,
  options: {
    signal: AbortSignal;
    onDelta: ((text: string) => void) | undefined;
    attempt: { model?: string };
  },
): Promise<Answer> {
  const { signal } = options;
  const input = execution.input;
  const knowledge = input.options?.knowledge ?? true;
  const embedding = knowledge
    ? (await deps.ai.embed([truncateToTokens(input.text, MAX_EMBEDDED_QUERY_TOKENS)], { signal }))
      .embeddings[0] ?? null
    : null;

  const loaded = await deps.db.asService(async (tx) => {
    const [agent] = await tx.query<
      // temperature is numeric(3, 2): postgres.js returns numeric as text.
      Columns<"agents", "system_prompt" | "model" | "max_tokens"> & { temperature: string | number }
    >(
      `select system_prompt, model, temperature, max_tokens from public.agents where id = $1`,
      [execution.agent_id],
    );
    if (!agent) throw new AppError("not_found", `Unknown agent: "${execution.agent_id}"`);
    const [conversation] = await tx.query<
      Columns<"conversations", "summary" | "summarized_until">
    >(
      `select summary, summarized_until from public.conversations
       where id = $1 and user_id = $2`,
      [execution.conversation_id, execution.user_id],
    );
    const history = conversation
      ? await tx.query<HistoryMessage & Record<string, unknown>>(
        `select m.role, m.content
         from public.messages m
         where m.conversation_id = $1
           and m.role in ('user', 'assistant')
           and m.seq > $2
           and m.seq < coalesce(
             (select u.seq from public.messages u where u.id = $3), 2147483647
           )
         order by m.seq desc
         limit ${HISTORY_CANDIDATES}`,
        [execution.conversation_id, conversation.summarized_until, input.message_id],
      )
      : [];
    const summary = conversation?.summary ?? null;
    const sections = knowledge
      ? await searchKnowledge(tx, {
        organizationId: execution.organization_id,
        queries: [
          { text: input.text, embedding },
          ...(summary ? [{ text: summary }] : []),
        ],
        maxSections: input.options?.max_sections ?? 5,
      })
      : [];
    return { agent, summary, history, sections };
  });

  const { agent } = loaded;
  const prompt = buildPrompt({
    model: agent.model,
    maxTokens: agent.max_tokens,
    systemPrompt: agent.system_prompt,
    summary: loaded.summary,
    sections: loaded.sections,
    history: loaded.history,
    input: input.text,
  });
  options.attempt.model = deps.ai.name === "local" ? deps.ai.defaultChatModel : agent.model;
  const chatOptions = {
    model: agent.model,
    temperature: Number(agent.temperature),
    maxTokens: agent.max_tokens,
    sources: prompt.passages,
    signal,
  };

  let result: ChatResult | undefined;
  if (options.onDelta) {
    for await (const chunk of deps.ai.chatStream(prompt.messages, chatOptions)) {
      signal.throwIfAborted();
      if (chunk.type === "delta") options.onDelta(chunk.text);
      else result = chunk.result;
    }
    if (!result) throw new AppError("upstream_error", "The model's stream ended without an answer");
  } else {
    result = await deps.ai.chat(prompt.messages, chatOptions);
  }
  signal.throwIfAborted();
  // Model output is untrusted input too: cleaned and bounded like any text we store.
  const text = cleanText(result.text).slice(0, MAX_MESSAGE_CHARS);
  return { result, text, sections: prompt.sections };
}

/**
 * Completes a running execution with its answer: the assistant's message, the execution's
 * figures, and the used documents' usage_count. Null when the run is no longer running
 * (cancelled meanwhile): nothing is stored then.
 */
async function recordAnswer(
  tx: Queryable,
  execution: ExecutionRow,
  answer: Answer,
  latencyMs: number,
): Promise<ExecutionRow | null> {
  const messageId = crypto.randomUUID();
  const sources: ExecutionSource[] = answer.sections.map((s) => ({
    document_id: s.document_id,
    section_id: s.section_id,
    title: s.title,
    heading: s.heading,
    similarity: s.similarity,
  }));
  const output: ExecutionOutput = { text: answer.text, message_id: messageId, sources };
  const [row] = await tx.query<ExecutionRow>(
    `update public.agent_executions
     set status = 'completed', output = $2::text::jsonb, model = $3, prompt_tokens = $4,
         completion_tokens = $5, latency_ms = $6, error = null
     where id = $1 and status = 'running'
     returning ${COLUMNS}`,
    [
      execution.id,
      JSON.stringify(output),
      answer.result.model,
      answer.result.usage.prompt_tokens,
      answer.result.usage.completion_tokens,
      latencyMs,
    ],
  );
  if (!row) return null;
  if (row.conversation_id) {
    await tx.query(
      `insert into public.messages (id, conversation_id, role, content, token_estimate, metadata)
       values ($1, $2, 'assistant', $3, $4, $5::text::jsonb)`,
      [
        messageId,
        row.conversation_id,
        answer.text,
        answer.result.usage.completion_tokens || countTokens(answer.text),
        JSON.stringify({ execution_id: execution.id, model: answer.result.model, sources }),
      ],
    );
  }
  const documentIds = [...new Set(sources.map((s) => s.document_id))];
  if (documentIds.length > 0) {
    await tx.query(
      `update public.documents set usage_count = usage_count + 1
       where organization_id = $1
         and id in (select jsonb_array_elements_text($2::text::jsonb)::uuid)`,
      [execution.organization_id, JSON.stringify(documentIds)],
    );
  }
  return row;
}

/** Ends a pending or running execution as failed or cancelled; null when it had already ended. */
async function endExecution(
  deps: Deps,
  executionId: string,
  end: {
    status: "failed" | "cancelled";
    error: string;
    errorCode?: ErrorCode;
    latencyMs?: number;
    model?: string | undefined;
  },
): Promise<ExecutionRow | null> {
  const [row] = await deps.db.asService((tx) =>
    tx.query<ExecutionRow>(
      `update public.agent_executions
       set status = $2, error = $3, output = $4::text::jsonb,
           latency_ms = coalesce($5, latency_ms), model = coalesce(model, $6)
       where id = $1 and status in ('pending', 'running')
       returning ${COLUMNS}`,
      [
        executionId,
        end.status,
        end.error.slice(0, 2000),
        end.errorCode ? JSON.stringify({ error_code: end.errorCode }) : null,
        end.latencyMs ?? null,
        end.model ?? null,
      ],
    )
  );
  return row ?? null;
}

async function readExecution(deps: Deps, executionId: string): Promise<ExecutionRow | null> {
  const [row] = await deps.db.asService((tx) =>
    tx.query<ExecutionRow>(`select ${COLUMNS} from public.agent_executions where id = $1`, [
      executionId,
    ])
  );
  return row ?? null;
}

/** The caller's own execution (404 for anyone else's, even one RLS would show an admin). */
export async function getExecution(
  claims: UserClaims,
  executionId: string,
  deps: Deps,
): Promise<ExecutionRow> {
  const [row] = await deps.db.asUser(claims, (tx) =>
    tx.query<ExecutionRow>(
      `select ${COLUMNS} from public.agent_executions
       where id = $1 and user_id = (select auth.uid())`,
      [executionId],
    ));
  if (!row) throw new AppError("not_found", `Unknown execution: "${executionId}"`);
  return row;
}

/** Cancels the caller's pending or running execution; 409 when it has already ended. */
export async function cancelExecution(
  claims: UserClaims,
  executionId: string,
  deps: Deps,
): Promise<ExecutionRow> {
  const owned = await getExecution(claims, executionId, deps);
  const cancelled = await endExecution(deps, owned.id, {
    status: "cancelled",
    error: "Cancelled by the user",
  });
  if (!cancelled) {
    const current = (await readExecution(deps, owned.id)) ?? owned;
    throw new AppError(
      "conflict",
      `Execution "${owned.id}" has already ended ("${current.status}")`,
      { details: { status: current.status } },
    );
  }
  activeRuns.get(owned.id)?.abort(new DOMException("Cancelled by the user", "AbortError"));
  return cancelled;
}

/** A queue job of `agent_executions`: runs the execution once; its failure is on the row. */
export async function runQueuedExecution(
  payload: Record<string, unknown>,
  deps: Deps,
  logger: Logger,
): Promise<void> {
  const parsed = ExecutionJobPayload.safeParse(payload);
  if (!parsed.success) {
    logger.warn("execution job without a valid execution_id; dropped");
    return;
  }
  const outcome = await runExecution(parsed.data.execution_id, deps, { logger });
  if (!outcome) logger.info("execution job for a deleted execution; nothing to do");
  else if (outcome.error) {
    logger.warn("queued execution failed", {
      execution_id: parsed.data.execution_id,
      code: outcome.error.code,
    });
  }
}

/** The sync answer of a completed execution. */
export function toSyncBody(row: ExecutionRow): ExecuteAgentResponse {
  return {
    execution_id: row.id,
    conversation_id: row.conversation_id ?? "",
    message_id: row.output?.message_id ?? "",
    status: "completed",
    output: row.output?.text ?? "",
    model: row.model ?? "",
    usage: usageOf(row),
    latency_ms: row.latency_ms ?? 0,
    sources: row.output?.sources ?? [],
  };
}

/** The async answer (202). */
export function toAccepted(row: ExecutionRow): ExecuteAgentAccepted {
  return { execution_id: row.id, conversation_id: row.conversation_id ?? "", status: row.status };
}

/** The execution in any state, for GET /executions/:id and cancel. */
export function toExecutionBody(row: ExecutionRow): ExecutionResponse {
  const completed = row.status === "completed";
  return {
    execution_id: row.id,
    agent_id: row.agent_id,
    conversation_id: row.conversation_id,
    message_id: row.output?.message_id ?? null,
    status: row.status,
    output: completed ? row.output?.text ?? "" : null,
    model: row.model,
    usage: row.prompt_tokens === null && row.completion_tokens === null ? null : usageOf(row),
    latency_ms: row.latency_ms,
    sources: row.output?.sources ?? [],
    error: row.error,
    created_at: iso(row.created_at)!,
    started_at: iso(row.started_at),
    completed_at: iso(row.completed_at),
  };
}

/** The error an ended-but-not-completed execution answers with when replayed. */
export function endedError(row: ExecutionRow): AppError {
  if (row.status === "failed") {
    return new AppError(
      row.output?.error_code ?? "upstream_error",
      row.error ?? "The execution failed",
      { details: { execution_id: row.id } },
    );
  }
  return new AppError("conflict", `Execution "${row.id}" was cancelled`, {
    details: { execution_id: row.id, status: row.status },
  });
}

function usageOf(row: ExecutionRow): ExecuteAgentResponse["usage"] {
  const prompt = row.prompt_tokens ?? 0;
  const completion = row.completion_tokens ?? 0;
  return {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: prompt + completion,
  };
}

function iso(value: Date | string | null): string | null {
  if (value === null) return null;
  return value instanceof Date ? value.toISOString() : new Date(value).toISOString();
}
