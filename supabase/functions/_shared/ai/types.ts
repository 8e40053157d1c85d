/**
 * The AI provider port: one interface for embeddings, chat (whole or streamed) and summaries, so
 * functions do not know which provider answers. Two implementations: `openai.ts` (the openai SDK,
 * any OpenAI-compatible server through OPENAI_BASE_URL) and `local.ts` (deterministic, offline,
 * model names `local-*`). `mod.ts` picks one from the config.
 *
 * Every result carries the model that produced it and its token usage. Provider failures are
 * thrown as AppError: `upstream_error` (502; 429 and 5xx after the SDK's retries),
 * `upstream_timeout` (504) or `rate_limited` (429) when the caller should back off.
 */

/** Embeddings are halfvec(1536) in the schema: every provider returns this many dimensions. */
export const EMBEDDING_DIMENSIONS = 1536;

export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

export interface ChatMessage {
  role: "system" | "user" | "assistant";
  content: string;
}

/** A retrieved passage the answer may cite as `[n]` (n = its 1-based position). */
export interface SourcePassage {
  title: string;
  heading?: string | null;
  content: string;
}

export interface ChatOptions {
  /** Model name; the provider's default when absent (the agent's `model` setting). */
  model?: string;
  temperature?: number;
  maxTokens?: number;
  /**
   * The passages already placed in the prompt. Remote models read them from the messages and
   * ignore this; the local provider composes its answer from them.
   */
  sources?: readonly SourcePassage[];
  signal?: AbortSignal;
}

export interface ChatResult {
  text: string;
  model: string;
  usage: Usage;
  /** "stop", "length", ... as the provider reports it. */
  finishReason: string;
}

/** What a streamed chat yields: text deltas, then exactly one `done` with the whole result. */
export type ChatChunk =
  | { type: "delta"; text: string }
  | { type: "done"; result: ChatResult };

export interface EmbedResult {
  /** One vector of EMBEDDING_DIMENSIONS numbers per input text, in input order. */
  embeddings: number[][];
  model: string;
  usage: Usage;
}

export interface SummarizeInput {
  /** The summary so far (rolling summaries build on it), if any. */
  previousSummary?: string | null;
  /** The messages since that summary, oldest first. */
  messages: readonly ChatMessage[];
  /** Upper bound for the new summary, in tokens. */
  maxTokens: number;
  model?: string;
  signal?: AbortSignal;
}

export interface AiProvider {
  readonly name: "openai" | "local";
  /** The model embeddings are made with (stored beside them so mixed models are detectable). */
  readonly embeddingModel: string;
  /** The chat model used when a call names none. */
  readonly defaultChatModel: string;
  /** Embeds texts in provider-sized batches; returns vectors in input order. */
  embed(texts: readonly string[], options?: { signal?: AbortSignal }): Promise<EmbedResult>;
  chat(messages: readonly ChatMessage[], options?: ChatOptions): Promise<ChatResult>;
  chatStream(messages: readonly ChatMessage[], options?: ChatOptions): AsyncIterable<ChatChunk>;
  /** A rolling summary of `previousSummary` plus `messages`, within `maxTokens`. */
  summarize(input: SummarizeInput): Promise<ChatResult>;
}
