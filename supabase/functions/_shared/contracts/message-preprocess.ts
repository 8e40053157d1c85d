/**
 * `message-preprocess`'s and `conversation-summarize`'s requests and responses: messages enter a
 * conversation cleaned, redacted, flagged, counted and embedded; conversations get a rolling
 * summary.
 */
import { z } from "zod";

export const MESSAGE_ROLES = ["user", "assistant", "system"] as const;
/** Most messages in one message-preprocess request. */
export const MAX_MESSAGES_PER_REQUEST = 100;
/** Largest `metadata` of one message, as JSON, in characters. */
export const MAX_METADATA_CHARS = 16_384;

const Metadata = z.record(z.string(), z.unknown()).refine(
  (value) => JSON.stringify(value).length <= MAX_METADATA_CHARS,
  `Metadata is larger than ${MAX_METADATA_CHARS} characters as JSON`,
).refine(
  // Postgres jsonb refuses NUL and lone surrogates (JSON.stringify escapes both as \uXXXX).
  (value) => !/\\u(?:0000|d[89a-f][0-9a-f]{2})/i.test(JSON.stringify(value)),
  "Metadata holds a NUL character or a lone surrogate",
);

/** One message to preprocess. content: cleaned, then 1..32,000 characters (empty: 400, longer: 413). */
export const PreprocessMessage = z.strictObject({
  content: z.string(),
  role: z.enum(MESSAGE_ROLES).default("user"),
  metadata: Metadata.default({}),
});
export type PreprocessMessage = z.input<typeof PreprocessMessage>;

/**
 * `POST /functions/v1/message-preprocess`: one message (`content`, `role?`, `metadata?`) or a
 * batch (`messages`, 1..100), never both. `store` (default true): false only returns the
 * processed text and writes nothing.
 */
export const MessagePreprocessRequest = z.strictObject({
  conversation_id: z.uuid(),
  content: z.string().optional(),
  role: z.enum(MESSAGE_ROLES).optional(),
  metadata: Metadata.optional(),
  messages: z.array(PreprocessMessage).min(1).max(MAX_MESSAGES_PER_REQUEST).optional(),
  store: z.boolean().default(true),
}).superRefine((body, ctx) => {
  const single = body.content !== undefined;
  const batch = body.messages !== undefined;
  if (single === batch) {
    ctx.addIssue({
      code: "custom",
      path: single ? ["messages"] : ["content"],
      message: 'Send either "content" or "messages"',
    });
  } else if (batch && (body.role !== undefined || body.metadata !== undefined)) {
    ctx.addIssue({
      code: "custom",
      path: [body.role !== undefined ? "role" : "metadata"],
      message: 'With "messages", set role and metadata per message',
    });
  }
});
export type MessagePreprocessRequest = z.input<typeof MessagePreprocessRequest>;
export type MessagePreprocessInput = z.output<typeof MessagePreprocessRequest>;

/** How many values of one type were replaced by its placeholder (`[EMAIL]`, ...). */
export const RedactionCount = z.object({ type: z.string(), count: z.int().positive() });
export type RedactionCount = z.infer<typeof RedactionCount>;

/** A processed message; with `store: false`, `id` and `created_at` are null (nothing stored). */
export const PreprocessedMessage = z.object({
  id: z.uuid().nullable(),
  conversation_id: z.uuid(),
  role: z.enum(MESSAGE_ROLES),
  content: z.string(),
  token_estimate: z.int().nonnegative(),
  redactions: z.array(RedactionCount),
  flags: z.array(z.string()),
  created_at: z.string().nullable(),
});
export type PreprocessedMessage = z.infer<typeof PreprocessedMessage>;

/** 200: the messages in request order. */
export const MessagePreprocessResponse = z.object({ messages: z.array(PreprocessedMessage) });
export type MessagePreprocessResponse = z.infer<typeof MessagePreprocessResponse>;

/**
 * `POST /functions/v1/conversation-summarize`: bring the caller's conversation's summary up to
 * date. Without `force` only when the agent's summary_threshold of new messages is reached; with
 * `force` whenever there is any message the summary does not cover.
 */
export const ConversationSummarizeRequest = z.strictObject({
  conversation_id: z.uuid(),
  force: z.boolean().default(false),
});
export type ConversationSummarizeRequest = z.input<typeof ConversationSummarizeRequest>;

/**
 * 200: the conversation's summary after the call. covered_message_count: the messages (still
 * there) with seq <= summarized_until. model and usage: of the summary call, null when the
 * stored summary was already current (nothing was summarised).
 */
export const ConversationSummarizeResponse = z.object({
  conversation_id: z.uuid(),
  summary: z.string().nullable(),
  covered_message_count: z.int().nonnegative(),
  summarized_until: z.int().nonnegative(),
  model: z.string().nullable(),
  usage: z.object({
    prompt_tokens: z.int().nonnegative(),
    completion_tokens: z.int().nonnegative(),
    total_tokens: z.int().nonnegative(),
  }).nullable(),
});
export type ConversationSummarizeResponse = z.infer<typeof ConversationSummarizeResponse>;
