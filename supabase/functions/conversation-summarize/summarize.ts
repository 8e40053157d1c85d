/**
 * The work of conversation-summarize: bring a conversation's rolling summary up to date.
 *
 * One round: take the conversation's summary lease (private.claim_conversation_summary; a second
 * summarizer gets none and backs off), read the previous summary and the messages after
 * `summarized_until` (oldest first, up to INPUT_TOKEN_BUDGET tokens), ask the provider for a new
 * summary of both within SUMMARY_MAX_TOKENS (cut to it whatever the provider returns), embed it,
 * and store summary, summarized_until (the last message read), embedding and model with
 * private.store_conversation_summary, which writes only under the lease and only forwards.
 * No transaction or row lock is held while the provider runs: messages keep arriving.
 *
 * Rounds repeat until the summary covers every message that existed when the call started
 * (forced) or fewer than the agent's summary_threshold are left (queue jobs), at most MAX_ROUNDS.
 */
import type { ChatMessage, Usage } from "../_shared/ai/types.ts";
import type { Queryable } from "../_shared/db/mod.ts";
import type { Columns } from "../_shared/db/rows.ts";
import type { Deps } from "../_shared/deps.ts";
import { countTokens, truncateToTokens } from "../_shared/text/tokens.ts";

/** Upper bound of a stored summary, in tokens. */
export const SUMMARY_MAX_TOKENS = 600;
/** Most message tokens given to one summary call. */
export const INPUT_TOKEN_BUDGET = 12_000;
/** Most summary calls for one conversation per request or job. */
export const MAX_ROUNDS = 8;
/** How long a summarizer holds a conversation (the queue's visibility timeout). */
const LEASE = "2 minutes";

export interface SummaryState {
  conversation_id: string;
  summary: string | null;
  summarized_until: number;
  covered_message_count: number;
}

export type SummarizeOutcome =
  | ({ status: "current" | "summarized"; model: string | null; usage: Usage | null } & SummaryState)
  /** Another summarizer holds the lease. */
  | { status: "busy" }
  /** The conversation no longer exists. */
  | { status: "gone" };

export interface SummarizeOptions {
  /** Summarise whatever is not covered yet, below the agent's threshold too. */
  force: boolean;
  signal?: AbortSignal;
}

type ConversationRow =
  & Columns<"conversations", "summary" | "summarized_until" | "last_message_seq">
  & Columns<"agents", "summary_threshold">;

type MessageRow = Columns<"messages", "seq" | "role" | "content">;

/** Runs rounds as described in this module's header. Service work: filters by the given id. */
export async function summarizeConversation(
  conversationId: string,
  deps: Deps,
  options: SummarizeOptions,
): Promise<SummarizeOutcome> {
  let model: string | null = null;
  let usage: Usage | null = null;
  let target: number | null = null;

  for (let round = 0; round < MAX_ROUNDS; round++) {
    const token = await claim(conversationId, deps);
    if (token === "gone") return { status: "gone" };
    if (token === null) return { status: "busy" };

    let stored: boolean;
    try {
      const conversation = await deps.db.asService((tx) => loadConversation(tx, conversationId));
      if (!conversation) {
        return { status: "gone" };
      }
      target ??= conversation.last_message_seq;
      const due = target - conversation.summarized_until;
      const enough = options.force ? due > 0 : due >= conversation.summary_threshold;
      if (!enough) {
        await release(conversationId, token, deps);
        break;
      }

      const messages = await deps.db.asService((tx) =>
        tx.query<MessageRow>(
          `select seq, role, content from public.messages
           where conversation_id = $1 and seq > $2 and seq <= $3
           order by seq
           limit 1000`,
          [conversationId, conversation.summarized_until, target],
        )
      );
      const batch = withinBudget(messages);
      // Messages deleted since they were counted leave gaps; with none left, move past them.
      const until = batch.at(-1)?.seq ?? target;
      const result = await deps.ai.summarize({
        previousSummary: conversation.summary,
        messages: batch.map(toChatMessage),
        maxTokens: SUMMARY_MAX_TOKENS,
        ...(options.signal ? { signal: options.signal } : {}),
      });
      const summary = truncateToTokens(result.text.trim(), SUMMARY_MAX_TOKENS) ||
        (conversation.summary ?? "");
      const { embeddings: [embedding] } = await deps.ai.embed([summary], {
        ...(options.signal ? { signal: options.signal } : {}),
      });
      stored = await deps.db.asService(async (tx) => {
        const [row] = await tx.query<{ stored: boolean }>(
          `select private.store_conversation_summary($1, $2, $3, $4, $5::extensions.halfvec, $6)
             as stored`,
          [
            conversationId,
            token,
            summary,
            until,
            embedding ? `[${embedding.join(",")}]` : null,
            result.model,
          ],
        );
        return row?.stored === true;
      });
      model = result.model;
      usage = addUsage(usage, result.usage);
    } catch (error) {
      await release(conversationId, token, deps).catch(() => {});
      throw error;
    }
    // Not stored: the lease expired and another summarizer moved on; its result stands.
    if (!stored) break;
  }

  const state = await deps.db.asService((tx) => readState(tx, conversationId));
  if (!state) return { status: "gone" };
  return { status: model ? "summarized" : "current", model, usage, ...state };
}

/** The summary as stored now, with the number of messages it covers. */
export async function readState(
  tx: Queryable,
  conversationId: string,
): Promise<SummaryState | null> {
  const [row] = await tx.query<
    Columns<"conversations", "summary" | "summarized_until"> & { covered: number | string }
  >(
    `select c.summary, c.summarized_until,
            (select count(*) from public.messages m
             where m.conversation_id = c.id and m.seq <= c.summarized_until) as covered
     from public.conversations c
     where c.id = $1`,
    [conversationId],
  );
  if (!row) return null;
  return {
    conversation_id: conversationId,
    summary: row.summary,
    summarized_until: row.summarized_until,
    covered_message_count: Number(row.covered),
  };
}

/** The lease token, null when another summarizer holds it, "gone" for a missing conversation. */
async function claim(conversationId: string, deps: Deps): Promise<string | null | "gone"> {
  return await deps.db.asService(async (tx) => {
    const [exists] = await tx.query(`select 1 from public.conversations where id = $1`, [
      conversationId,
    ]);
    if (!exists) return "gone";
    const [row] = await tx.query<{ token: string | null }>(
      `select private.claim_conversation_summary($1, $2::interval) as token`,
      [conversationId, LEASE],
    );
    return row?.token ?? null;
  });
}

async function release(conversationId: string, token: string, deps: Deps): Promise<void> {
  await deps.db.asService((tx) =>
    tx.query(`select private.release_conversation_summary($1, $2)`, [conversationId, token])
  );
}

async function loadConversation(
  tx: Queryable,
  conversationId: string,
): Promise<ConversationRow | null> {
  const [row] = await tx.query<ConversationRow>(
    `select c.summary, c.summarized_until, c.last_message_seq, a.summary_threshold
     from public.conversations c
     join public.agents a on a.id = c.agent_id
     where c.id = $1`,
    [conversationId],
  );
  return row ?? null;
}

/** The oldest messages that fit INPUT_TOKEN_BUDGET; the first one always (cut to the budget). */
function withinBudget(messages: readonly MessageRow[]): MessageRow[] {
  const batch: MessageRow[] = [];
  let used = 0;
  for (const message of messages) {
    const cost = countTokens(message.content);
    if (batch.length === 0 && cost > INPUT_TOKEN_BUDGET) {
      batch.push({ ...message, content: truncateToTokens(message.content, INPUT_TOKEN_BUDGET) });
      break;
    }
    if (used + cost > INPUT_TOKEN_BUDGET) break;
    batch.push(message);
    used += cost;
  }
  return batch;
}

function toChatMessage(message: MessageRow): ChatMessage {
  // Tool output is something the assistant side produced; system turns stay system turns.
  const role = message.role === "user" || message.role === "system" ? message.role : "assistant";
  return { role, content: message.content };
}

function addUsage(total: Usage | null, more: Usage): Usage {
  if (!total) return { ...more };
  return {
    prompt_tokens: total.prompt_tokens + more.prompt_tokens,
    completion_tokens: total.completion_tokens + more.completion_tokens,
    total_tokens: total.total_tokens + more.total_tokens,
  };
}
