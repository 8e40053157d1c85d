/**
 * The typed client of this backend's functions, on top of supabase-js's `functions.invoke`
 * (functions-js), for Node 20+, Deno, browsers and edge runtimes:
 *
 *   const supabase = createClient(SUPABASE_URL, SUPABASE_ANON_KEY);
 *   const agents = createAgentClient(supabase);
 *   const answer = await agents.executeAgent({ agent_id, input: "What is the warranty?" });
 *   for await (const event of agents.streamAgent({ agent_id, input })) { ... }
 *
 * One method per route, typed by the functions' own zod contracts (the same schemas the
 * functions validate with). Every failure is an `AgentBackendError` carrying `code`, `message`,
 * `details`, `status` and `request_id`: the function's error body for HTTP errors, and
 * `network_error` / `relay_error` / `invalid_response` for what never reached a function.
 */
import {
  type CleanupRequest,
  type CleanupResponse,
  codeForStatus,
  type ConversationSummarizeRequest,
  type ConversationSummarizeResponse,
  type ErrorCode,
  type ExecuteAgentAccepted,
  type ExecuteAgentRequest,
  type ExecuteAgentResponse,
  type ExecuteAgentStreamEvent,
  type ExecutionResponse,
  type MessagePreprocessRequest,
  type MessagePreprocessResponse,
  type ProcessFileRequest,
  type ProcessFileResponse,
  type SearchRequest,
  type SearchResponse,
  type SummaryQuery,
  type SummaryResponse,
  type TrackRequest,
  type TrackResponse,
  type WhoamiResponse,
} from "./contracts.ts";

/** What the client needs of a supabase-js client (or a bare functions-js `FunctionsClient`). */
export interface InvokeCapable {
  functions: {
    invoke<T = unknown>(
      name: string,
      options?: {
        /** Always a JSON object: every route takes one. */
        body?: Record<string, unknown>;
        method?: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
        headers?: Record<string, string>;
        signal?: AbortSignal;
        timeout?: number;
      },
    ): Promise<{ data: T | null; error: unknown; response?: Response }>;
  };
}

export type ClientErrorCode = ErrorCode | "network_error" | "relay_error" | "invalid_response";

/** Every failure of a call, with what the function said (or why it never answered). */
export class AgentBackendError extends Error {
  readonly code: ClientErrorCode;
  readonly status: number;
  readonly details: unknown;
  readonly requestId: string | null;
  /** Seconds to wait before trying again (the `Retry-After` header of a 429 or 503), else null. */
  readonly retryAfter: number | null;

  constructor(
    code: ClientErrorCode,
    message: string,
    options: {
      status?: number;
      details?: unknown;
      requestId?: string | null;
      retryAfter?: number | null;
      cause?: unknown;
    } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "AgentBackendError";
    this.code = code;
    this.status = options.status ?? 0;
    this.details = options.details;
    this.requestId = options.requestId ?? null;
    this.retryAfter = options.retryAfter ?? null;
  }

  /** The request id, as the error body names it (`request_id`). */
  get request_id(): string | null {
    return this.requestId;
  }
}

export interface CallOptions {
  signal?: AbortSignal;
  /** Milliseconds before the call is aborted (functions-js `timeout`). */
  timeout?: number;
}

export interface ExecuteOptions extends CallOptions {
  /** The same key with the same body returns the first result; another body is 409. */
  idempotencyKey?: string;
}

export interface WaitOptions {
  /** Between polls (default 1,000 ms). */
  intervalMs?: number;
  /** Give up after this long (default 120,000 ms) with an `upstream_timeout` error. */
  timeoutMs?: number;
  signal?: AbortSignal;
}

const TERMINAL = new Set(["completed", "failed", "cancelled"]);

type CallInit = {
  method?: "GET" | "POST";
  body?: Record<string, unknown>;
  headers?: Record<string, string>;
};

export function createAgentClient(supabase: InvokeCapable) {
  /** One call: the parsed body and the HTTP status of a success, else an AgentBackendError. */
  const send = async <T>(
    name: string,
    init: CallInit,
    options: CallOptions = {},
  ): Promise<{ data: T; status: number }> => {
    const { data, error, response } = await supabase.functions.invoke<T>(name, {
      method: init.method ?? "POST",
      ...(init.body === undefined ? {} : { body: init.body }),
      ...(init.headers ? { headers: init.headers } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.timeout ? { timeout: options.timeout } : {}),
    });
    if (error) throw await toClientError(error);
    if (data === null || data === undefined) {
      throw new AgentBackendError("invalid_response", `Empty response from ${name}`, {
        status: response?.status ?? 0,
      });
    }
    // A success without a response object (a bare FunctionsClient stand-in) counts as 200.
    return { data: data as T, status: response?.status ?? 200 };
  };
  const call = async <T>(name: string, init: CallInit, options: CallOptions = {}): Promise<T> =>
    (await send<T>(name, init, options)).data;

  const getExecution = (id: string, options: CallOptions = {}): Promise<ExecutionResponse> =>
    call(`execute-agent/executions/${encodeURIComponent(id)}`, { method: "GET" }, options);

  const waitForExecution = async (
    id: string,
    options: WaitOptions = {},
  ): Promise<ExecutionResponse> => {
    const interval = options.intervalMs ?? 1_000;
    const deadline = Date.now() + (options.timeoutMs ?? 120_000);
    for (;;) {
      const execution = await getExecution(id, options.signal ? { signal: options.signal } : {});
      if (TERMINAL.has(execution.status)) return execution;
      if (Date.now() + interval > deadline) {
        throw new AgentBackendError(
          "upstream_timeout",
          `Execution "${id}" is still ${execution.status}`,
          { status: 504, details: { status: execution.status } },
        );
      }
      await sleep(interval, options.signal);
    }
  };

  /**
   * An execute-agent call in sync or stream mode. With an Idempotency-Key whose first request
   * is still running, the function answers 202 (the accepted run) instead: wait for that run to
   * end, then ask again, and the function answers as it does for any ended run (the answer, or
   * the run's error).
   */
  const execute = async <T>(
    mode: "sync" | "stream",
    body: Omit<ExecuteAgentRequest, "mode">,
    options: ExecuteOptions,
  ): Promise<T> => {
    const init = { body: { ...body, mode }, ...idempotency(options) };
    const first = await send<T | ExecuteAgentAccepted>("execute-agent", init, options);
    if (first.status !== 202) return first.data as T;
    const accepted = first.data as ExecuteAgentAccepted;
    await waitForExecution(accepted.execution_id, options.signal ? { signal: options.signal } : {});
    const again = await send<T | ExecuteAgentAccepted>("execute-agent", init, options);
    if (again.status === 202) {
      throw new AgentBackendError("invalid_response", "The ended run was answered as accepted", {
        status: 202,
      });
    }
    return again.data as T;
  };

  return {
    /**
     * `POST execute-agent` (sync): runs the agent and answers with the completed execution. The
     * replay of an Idempotency-Key whose run is still going waits for it.
     */
    executeAgent(
      body: Omit<ExecuteAgentRequest, "mode"> & { mode?: "sync" },
      options: ExecuteOptions = {},
    ): Promise<ExecuteAgentResponse> {
      return execute("sync", body, options);
    },

    /** `POST execute-agent` (async): queues the run; poll with `waitForExecution` or subscribe. */
    startAgent(
      body: Omit<ExecuteAgentRequest, "mode">,
      options: ExecuteOptions = {},
    ): Promise<ExecuteAgentAccepted> {
      return call("execute-agent", {
        body: { ...body, mode: "async" },
        ...idempotency(options),
      }, options);
    },

    /**
     * `POST execute-agent` (stream): the answer as it is written, as typed events: `delta`s,
     * then one `done` (the sync answer). An `error` event is thrown as an AgentBackendError.
     * The replay of an Idempotency-Key whose run is still going waits for it, then yields `done`.
     */
    async *streamAgent(
      body: Omit<ExecuteAgentRequest, "mode">,
      options: ExecuteOptions = {},
    ): AsyncGenerator<Exclude<ExecuteAgentStreamEvent, { type: "error" }>> {
      const response = await execute<Response>("stream", body, options);
      if (!(response instanceof Response) || !response.body) {
        throw new AgentBackendError("invalid_response", "Expected an event stream");
      }
      // Leaving the loop early (break, return, a throw) closes the connection, which the
      // function takes as a disconnect: it cancels the run.
      let done = false;
      for await (const event of readEvents(response.body)) {
        if (done) continue;
        if (event.type === "error") {
          throw new AgentBackendError(event.error.code as ErrorCode, event.error.message, {
            status: STATUS_OF_STREAM_ERROR,
            details: event.error.details,
            requestId: event.request_id,
          });
        }
        done = event.type === "done";
        yield event;
      }
      if (done) return;
      // A stream always ends with `done` or `error`; without either the answer is incomplete.
      throw new AgentBackendError(
        "invalid_response",
        "The event stream ended before its done event",
        { status: response.status, requestId: response.headers.get("x-request-id") },
      );
    },

    /** `GET execute-agent/executions/<id>`: the caller's execution (404 for anyone else's). */
    getExecution,

    /** `POST execute-agent/executions/<id>/cancel`: cancels a pending or running execution. */
    cancelExecution(id: string, options: CallOptions = {}): Promise<ExecutionResponse> {
      return call(`execute-agent/executions/${encodeURIComponent(id)}/cancel`, {}, options);
    },

    /** Polls an execution until it is completed, failed or cancelled. */
    waitForExecution,

    /** `POST message-preprocess`: clean, redact, embed and (by default) store messages. */
    preprocessMessages(
      body: MessagePreprocessRequest,
      options: CallOptions = {},
    ): Promise<MessagePreprocessResponse> {
      return call("message-preprocess", { body }, options);
    },

    /** `POST conversation-summarize`: the conversation's rolling summary, now. */
    summarizeConversation(
      body: ConversationSummarizeRequest,
      options: CallOptions = {},
    ): Promise<ConversationSummarizeResponse> {
      return call("conversation-summarize", { body }, options);
    },

    /** `POST file-processor`: processes the caller's own upload now. */
    processFile(body: ProcessFileRequest, options: CallOptions = {}): Promise<ProcessFileResponse> {
      return call("file-processor", { body }, options);
    },

    /** `POST file-processor/search`: searches the caller's organizations' documents. */
    searchDocuments(body: SearchRequest, options: CallOptions = {}): Promise<SearchResponse> {
      return call("file-processor/search", { body }, options);
    },

    /** `POST analytics-tracker`: records events, item by item. */
    trackEvents(body: TrackRequest, options: CallOptions = {}): Promise<TrackResponse> {
      return call("analytics-tracker", { body }, options);
    },

    /** `GET analytics-tracker/summary`: the organization's series (owners and admins). */
    analyticsSummary(
      query: SummaryQuery = {},
      options: CallOptions = {},
    ): Promise<SummaryResponse> {
      const params = new URLSearchParams();
      for (const [key, value] of Object.entries(query)) {
        if (value !== undefined && value !== null) params.set(key, String(value));
      }
      const qs = params.toString();
      return call(`analytics-tracker/summary${qs ? `?${qs}` : ""}`, { method: "GET" }, options);
    },

    /** `POST cleanup-old`: applies the retention policies (service credential only). */
    cleanup(body: CleanupRequest = {}, options: CallOptions = {}): Promise<CleanupResponse> {
      return call("cleanup-old", { body }, options);
    },

    /** `GET whoami`: the caller as the backend and RLS see them. */
    whoami(options: CallOptions = {}): Promise<WhoamiResponse> {
      return call("whoami", { method: "GET" }, options);
    },
  };
}

export type AgentClient = ReturnType<typeof createAgentClient>;

/** A stream's error event carries no HTTP status (the stream had started: 200). */
const STATUS_OF_STREAM_ERROR = 200;

function idempotency(options: ExecuteOptions): { headers?: Record<string, string> } {
  return options.idempotencyKey ? { headers: { "Idempotency-Key": options.idempotencyKey } } : {};
}

/** functions-js's error classes, recognised by name (the client may come from any copy). */
async function toClientError(error: unknown): Promise<AgentBackendError> {
  const e = error as { name?: string; message?: string; context?: unknown };
  if (e?.name === "FunctionsHttpError" && e.context instanceof Response) {
    const response = e.context;
    let body: unknown = null;
    try {
      body = await response.clone().json();
    } catch {
      // not JSON: a gateway or runtime error page
    }
    const parsed = body as {
      error?: { code?: string; message?: string; details?: unknown };
      request_id?: string;
      code?: unknown;
      message?: unknown;
      msg?: unknown;
    } | null;
    if (parsed?.error?.code && parsed.error.message) {
      return new AgentBackendError(parsed.error.code as ClientErrorCode, parsed.error.message, {
        status: response.status,
        details: parsed.error.details,
        requestId: parsed.request_id ?? response.headers.get("x-request-id"),
        retryAfter: retryAfterSeconds(response.headers.get("retry-after")),
        cause: error,
      });
    }
    // The gateway's own answers: {"code":401,"message":"Invalid JWT"}, {"msg": ...}.
    const message = String(
      parsed?.message ?? parsed?.msg ?? (response.statusText ||
        `HTTP ${response.status}`),
    );
    return new AgentBackendError(codeForStatus(response.status) ?? "internal", message, {
      status: response.status,
      details: parsed ?? undefined,
      requestId: response.headers.get("x-request-id"),
      retryAfter: retryAfterSeconds(response.headers.get("retry-after")),
      cause: error,
    });
  }
  if (e?.name === "FunctionsRelayError") {
    const status = e.context instanceof Response ? e.context.status : 0;
    return new AgentBackendError("relay_error", e.message ?? "Relay error", {
      status,
      cause: error,
    });
  }
  return new AgentBackendError(
    "network_error",
    e?.message ?? "Failed to send a request to the Edge Function",
    { cause: error },
  );
}

/** `Retry-After` as seconds from now: delay-seconds or an HTTP date (RFC 9110 10.2.3). */
function retryAfterSeconds(header: string | null): number | null {
  if (!header) return null;
  if (/^\d+$/.test(header.trim())) return Number(header.trim());
  const at = Date.parse(header);
  return Number.isNaN(at) ? null : Math.max(0, Math.ceil((at - Date.now()) / 1000));
}

/** Server-sent events of `execute-agent`: each `data:` line holds one JSON event. */
async function* readEvents(
  body: ReadableStream<Uint8Array>,
): AsyncGenerator<ExecuteAgentStreamEvent> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  let ended = false;
  try {
    for (;;) {
      let chunk: ReadableStreamReadResult<Uint8Array>;
      try {
        chunk = await reader.read();
      } catch (cause) {
        ended = true;
        throw new AgentBackendError("network_error", "The event stream broke off", { cause });
      }
      const { value, done } = chunk;
      buffer += decoder.decode(value ?? new Uint8Array(), { stream: !done });
      let boundary: number;
      while ((boundary = buffer.search(/\r?\n\r?\n/)) >= 0) {
        const block = buffer.slice(0, boundary);
        buffer = buffer.slice(boundary).replace(/^\r?\n\r?\n/, "");
        const data = block.split(/\r?\n/).filter((l) => l.startsWith("data:"))
          .map((l) => l.slice(5).replace(/^ /, "")).join("\n");
        if (!data) continue;
        try {
          yield JSON.parse(data) as ExecuteAgentStreamEvent;
        } catch (cause) {
          throw new AgentBackendError("invalid_response", "Malformed event in the stream", {
            cause,
          });
        }
      }
      if (done) {
        ended = true;
        return;
      }
    }
  } finally {
    // The consumer stopped before the end: close the response, not just this reader.
    if (!ended) await reader.cancel().catch(() => {});
    reader.releaseLock();
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => {
      clearTimeout(timer);
      reject(signal.reason);
    }, { once: true });
  });
}
