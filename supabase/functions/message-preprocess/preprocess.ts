/**
 * The work of message-preprocess: clean, redact, flag and count each message, then (unless
 * `store` is false) embed them with one provider call and insert them in one statement.
 *
 * Order of checks, so a refused request writes nothing and costs nothing:
 *   1. every message's text is cleaned and checked (400 empty, 413 too long; 413 too when the
 *      request totals more than MAX_REQUEST_CHARS), no database yet;
 *   2. under the user's RLS: the conversation is theirs (404) and they are still a member of its
 *      organization (403); its organization's redaction settings are read there too;
 *   3. redaction and injection flags (pure), token estimates with the execute-agent tokenizer;
 *   4. store=false: answer now. Else the rate limit (service_role), one batched embedding call
 *      on the redacted text (a secret never reaches the provider), and one insert of all
 *      messages as service_role (the database's triggers number them, keep the counters, refuse
 *      an ex-member again at insert time, and queue a summary when the agent's threshold is
 *      reached). One statement: all messages are stored or none.
 */
import { z } from "zod";
import type { UserClaims } from "../_shared/auth.ts";
import type {
  MessagePreprocessInput,
  PreprocessedMessage,
} from "../_shared/contracts/message-preprocess.ts";
import { requireOwnConversation } from "../_shared/conversations.ts";
import type { Columns } from "../_shared/db/rows.ts";
import type { Deps } from "../_shared/deps.ts";
import { AppError } from "../_shared/errors.ts";
import { enforceRateLimit } from "../_shared/rate-limit.ts";
import { detectInjection } from "../_shared/text/flags.ts";
import { redact, REDACTION_TYPES, type RedactOptions } from "../_shared/text/redact.ts";
import { checkText } from "../_shared/text/sanitize.ts";
import { countTokens } from "../_shared/text/tokens.ts";

/** The rate limit bucket of this function (private.rate_limit_policies; `default` limits). */
export const RATE_LIMIT_BUCKET = "message-preprocess";
/**
 * Most characters (after cleaning) in one request. Phone detection costs up to about 25 microseconds per
 * character of digit-dense text; this keeps a request's worst case to a few seconds of CPU.
 */
export const MAX_REQUEST_CHARS = 256_000;
/** The key message-preprocess owns inside each stored message's metadata. */
export const METADATA_KEY = "preprocess";

type Role = PreprocessedMessage["role"];

interface Draft {
  role: Role;
  content: string;
  metadata: Record<string, unknown>;
}

/** A message after the text pipeline, before storage. */
export interface ProcessedText {
  content: string;
  token_estimate: number;
  redactions: Array<{ type: string; count: number }>;
  flags: string[];
}

/**
 * `organizations.settings -> 'redaction'` (see *_redaction_settings.sql). The database checks the
 * shape on write; a value it would refuse is read as absent, i.e. redact everything.
 */
const RedactionSettings = z.object({
  enabled: z.boolean().optional(),
  types: z.array(z.enum(REDACTION_TYPES)).optional(),
  phone_region: z.string().regex(/^[A-Z]{2}$/).optional(),
});

/** The redact() options an organization's settings ask for. */
export function redactionOptions(settings: Record<string, unknown>): RedactOptions {
  const parsed = RedactionSettings.safeParse(settings.redaction ?? {});
  if (!parsed.success) return {};
  const { enabled, types, phone_region } = parsed.data;
  return {
    ...(enabled === undefined ? {} : { enabled }),
    ...(types === undefined ? {} : { types }),
    ...(phone_region === undefined ? {} : { phoneRegion: phone_region }),
  };
}

/** The text pipeline on already cleaned text: redaction, flags, token estimate. Pure. */
export function processText(cleaned: string, options: RedactOptions): ProcessedText {
  const flags = detectInjection(cleaned);
  const { text, redactions } = redact(cleaned, options);
  return { content: text, token_estimate: countTokens(text), redactions, flags };
}

/** Runs the whole request; see this module's header. */
export async function preprocessMessages(
  claims: UserClaims,
  input: MessagePreprocessInput,
  deps: Deps,
): Promise<PreprocessedMessage[]> {
  const single = input.messages === undefined;
  const drafts: Draft[] = single
    ? [{ content: input.content ?? "", role: input.role ?? "user", metadata: input.metadata ?? {} }]
    : input.messages!;
  const cleaned = drafts.map((draft, i) =>
    checkText(draft.content, {
      maxChars: deps.config.maxInputChars,
      field: single ? "content" : `messages.${i}.content`,
    })
  );

  const total = cleaned.reduce((sum, text) => sum + text.length, 0);
  if (total > MAX_REQUEST_CHARS) {
    throw new AppError(
      "payload_too_large",
      `Messages total more than ${MAX_REQUEST_CHARS} characters; send them in smaller batches`,
      { details: { max_chars: MAX_REQUEST_CHARS, length: total } },
    );
  }

  const conversation = await deps.db.asUser(
    claims,
    (tx) => requireOwnConversation(tx, input.conversation_id),
  );
  const options = redactionOptions(conversation.organization_settings);
  const processed = cleaned.map((text) => processText(text, options));

  await deps.db.asService((tx) =>
    enforceRateLimit(tx, {
      userId: claims.sub,
      organizationId: conversation.organization_id,
      bucket: RATE_LIMIT_BUCKET,
    })
  );

  if (!input.store) {
    return processed.map((p, i) => ({
      id: null,
      conversation_id: conversation.id,
      role: drafts[i]!.role,
      ...p,
      created_at: null,
    }));
  }

  const embedded = await deps.ai.embed(processed.map((p) => p.content));
  if (embedded.embeddings.length !== processed.length) {
    throw new AppError(
      "upstream_error",
      "The embedding provider returned a wrong number of vectors",
    );
  }
  const rows = processed.map((p, i) => ({
    role: drafts[i]!.role,
    content: p.content,
    token_estimate: p.token_estimate,
    redactions: p.redactions,
    metadata: {
      ...drafts[i]!.metadata,
      [METADATA_KEY]: { flags: p.flags, embedding_model: embedded.model },
    },
    embedding: `[${embedded.embeddings[i]!.join(",")}]`,
  }));

  const stored = await deps.db.asService((tx) =>
    tx.query<Columns<"messages", "id" | "seq"> & { created_at: Date | string }>(
      `insert into public.messages
         (conversation_id, role, content, token_estimate, redactions, metadata, embedding)
       select $1, m.role, m.content, m.token_estimate, m.redactions, m.metadata,
              m.embedding::extensions.halfvec
       from rows from (
         jsonb_to_recordset($2::jsonb) as (
           role text, content text, token_estimate integer, redactions jsonb, metadata jsonb,
           embedding text
         )
       ) with ordinality
         as m(role, content, token_estimate, redactions, metadata, embedding, position)
       order by m.position
       returning id, seq, created_at`,
      [conversation.id, JSON.stringify(rows)],
    )
  );
  // seq follows insertion order, which is request order.
  stored.sort((a, b) => a.seq - b.seq);
  return processed.map((p, i) => ({
    id: stored[i]!.id,
    conversation_id: conversation.id,
    role: drafts[i]!.role,
    ...p,
    created_at: iso(stored[i]!.created_at),
  }));
}

function iso(value: Date | string): string {
  return value instanceof Date ? value.toISOString() : new Date(value).toISOString();
}
