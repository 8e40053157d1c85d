/**
 * What an agent is given besides the user's input: passages from the organization's knowledge
 * (hybrid_search for the input and the conversation's summary), the summary itself, and as many
 * recent messages as fit a token budget taken from the agent's model limits.
 *
 * The budget: the model's context window, less the answer's max_tokens, a safety margin, the
 * system prompt and the input (always sent whole; an input the window cannot hold is 413),
 * capped at MAX_CONTEXT_TOKENS (cost). Of it knowledge takes at most half, the summary at most a
 * quarter of the rest, and the history gets what is left, newest messages first. Tokens are
 * counted with the real tokenizer.
 */
import type { ChatMessage, SourcePassage } from "../_shared/ai/types.ts";
import type { Queryable } from "../_shared/db/mod.ts";
import { AppError } from "../_shared/errors.ts";
import { countTokens, truncateToTokens } from "../_shared/text/tokens.ts";

/** Context windows by model name prefix (first match wins); unknown models get the smallest. */
const CONTEXT_WINDOWS: ReadonlyArray<readonly [RegExp, number]> = [
  [/^local-/, 8_192],
  [/^gpt-4\.1/, 1_047_576],
  [/^(gpt-4o|gpt-4-turbo|gpt-5|o1|o3|o4)/, 128_000],
  [/^gpt-4-32k/, 32_768],
  [/^gpt-4/, 8_192],
  [/^gpt-3\.5-turbo/, 16_385],
];
const DEFAULT_CONTEXT_WINDOW = 8_192;
/** The most context added to a prompt whatever the window: long prompts cost more than they help. */
export const MAX_CONTEXT_TOKENS = 16_000;
/** Room for message framing and tokenizer differences between models. */
const SAFETY_MARGIN = 256;
/** Per-message framing tokens of the chat format. */
const MESSAGE_OVERHEAD = 4;
/** Messages read from the database as history candidates, newest first. */
export const HISTORY_CANDIDATES = 50;
/** Semantic-only hits below this cosine similarity are noise, not knowledge. */
const MIN_SEMANTIC_SIMILARITY = 0.2;
/** Words of a text used as its keyword query (hybrid_search accepts at most 256 lexemes). */
const MAX_QUERY_WORDS = 32;
/** Longer "words" (hashes, base64, runs of letters) are not search terms. */
const MAX_WORD_CHARS = 40;
/** The part of the input that is embedded for the semantic search. */
export const MAX_EMBEDDED_QUERY_TOKENS = 1_000;

export function contextWindow(model: string): number {
  const name = model.toLowerCase();
  return CONTEXT_WINDOWS.find(([pattern]) => pattern.test(name))?.[1] ?? DEFAULT_CONTEXT_WINDOW;
}

/**
 * Tokens of context (knowledge, summary, history) a prompt for `model` may carry when the answer
 * may take `completionTokens` and the instructions and input take `fixedTokens`; negative when
 * even those do not fit the window.
 */
export function contextBudget(
  model: string,
  completionTokens: number,
  fixedTokens: number,
): number {
  const room = contextWindow(model) - completionTokens - SAFETY_MARGIN - fixedTokens;
  return Math.min(room, MAX_CONTEXT_TOKENS);
}

/**
 * Items of `items`, in order, whose costs add up to at most `budget`. Stops at the first item
 * that does not fit, or with `skip` passes over it and tries the next (for independent items).
 */
export function takeWithin<T>(
  items: readonly T[],
  budget: number,
  cost: (item: T) => number,
  options: { skip?: boolean } = {},
): { taken: T[]; used: number } {
  const taken: T[] = [];
  let used = 0;
  for (const item of items) {
    const c = cost(item);
    if (used + c > budget) {
      if (options.skip) continue;
      break;
    }
    taken.push(item);
    used += c;
  }
  return { taken, used };
}

/**
 * A keyword query for hybrid_search from free text: its distinct words joined with `or`, so a
 * passage matching some of the words is found (websearch syntax ANDs bare words, which a
 * question rarely satisfies). At most MAX_QUERY_WORDS words of at most MAX_WORD_CHARS
 * characters, in order of appearance, so the query stays far inside hybrid_search's bounds.
 */
export function keywordQuery(text: string): string {
  const words = text.normalize("NFKC").toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
  const distinct = [
    ...new Set(
      words.filter((w) => w.length > 1 && w.length <= MAX_WORD_CHARS && w !== "or" && w !== "and"),
    ),
  ];
  return distinct.slice(0, MAX_QUERY_WORDS).join(" or ");
}

export interface Section {
  section_id: string;
  document_id: string;
  title: string;
  heading: string | null;
  content: string;
  /** Cosine similarity to the input, null for keyword-only hits. */
  similarity: number | null;
  score: number;
}

export interface HistoryMessage {
  role: "user" | "assistant";
  content: string;
}

interface SearchRow extends Record<string, unknown> {
  id: string;
  document_id: string;
  document_title: string;
  heading: string | null;
  content: string;
  score: number;
  full_text_rank: number | null;
  similarity: number | null;
}

/**
 * Knowledge sections of one organization for the given queries (the input, with its embedding
 * when there is one, and the summary by keywords), merged by section, best score first.
 * Runs in a service_role transaction: the organization filter is what scopes it.
 */
export async function searchKnowledge(
  tx: Queryable,
  input: {
    organizationId: string;
    queries: ReadonlyArray<{ text: string; embedding?: readonly number[] | null }>;
    maxSections: number;
  },
): Promise<Section[]> {
  const best = new Map<string, Section>();
  for (const query of input.queries) {
    const text = keywordQuery(query.text);
    if (!text && !query.embedding) continue;
    const rows = await tx.query<SearchRow>(
      `select id, document_id, document_title, heading, content, score, full_text_rank, similarity
       from public.hybrid_search_tracked(
         query_text => $1,
         query_embedding => $2::extensions.halfvec,
         match_count => $3,
         filter => jsonb_build_object('organization_id', $4::uuid)
       )`,
      [
        text,
        query.embedding ? `[${query.embedding.join(",")}]` : null,
        input.maxSections,
        input.organizationId,
      ],
    );
    for (const row of rows) {
      const similarity = row.similarity === null ? null : Number(row.similarity);
      if (row.full_text_rank === null && (similarity ?? 0) < MIN_SEMANTIC_SIMILARITY) continue;
      const section: Section = {
        section_id: row.id,
        document_id: row.document_id,
        title: row.document_title,
        heading: row.heading,
        content: row.content,
        similarity,
        score: Number(row.score),
      };
      const seen = best.get(section.section_id);
      if (!seen || seen.score < section.score) best.set(section.section_id, section);
    }
  }
  return [...best.values()].sort((a, b) => b.score - a.score).slice(0, input.maxSections);
}

export interface PromptParts {
  model: string;
  maxTokens: number;
  systemPrompt: string;
  summary: string | null;
  /** Retrieved sections, best first. */
  sections: readonly Section[];
  /** Earlier messages of the conversation, newest first. */
  history: readonly HistoryMessage[];
  input: string;
}

export interface Prompt {
  messages: ChatMessage[];
  /** The sections placed in the prompt, in citation order ([1], [2], ...). */
  sections: Section[];
  passages: SourcePassage[];
  historyCount: number;
  promptTokens: number;
}

/** Assembles the chat messages within the model's budget (see this module's header). */
export function buildPrompt(parts: PromptParts): Prompt {
  const instructions = parts.systemPrompt.trim() || "You are a helpful assistant.";
  const inputTokens = countTokens(parts.input);
  const fixed = countTokens(instructions) + inputTokens + 3 * MESSAGE_OVERHEAD;
  let left = contextBudget(parts.model, parts.maxTokens, fixed);
  if (left < 0) {
    throw new AppError(
      "payload_too_large",
      `Input is too long for model "${parts.model}": ${inputTokens} tokens, with room for ${
        inputTokens + left
      }`,
      { details: { input_tokens: inputTokens, max_input_tokens: Math.max(0, inputTokens + left) } },
    );
  }

  const knowledge = takeWithin(parts.sections, Math.floor(left / 2), sectionTokens, { skip: true });
  left -= knowledge.used;

  const summary = parts.summary?.trim()
    ? truncateToTokens(parts.summary.trim(), Math.floor(left / 4))
    : "";
  left -= countTokens(summary);

  const history = takeWithin(
    parts.history,
    left,
    (m) => countTokens(m.content) + MESSAGE_OVERHEAD,
  );

  const system = [
    instructions,
    summary ? `Summary of the conversation so far:\n${summary}` : "",
    knowledge.taken.length > 0
      ? "Answer from these sources when they are relevant and cite them as [n]:\n\n" +
        knowledge.taken.map((s, i) => `[${i + 1}] ${sourceLabel(s)}\n${s.content}`).join("\n\n")
      : "",
  ].filter(Boolean).join("\n\n");

  const messages: ChatMessage[] = [
    { role: "system", content: system },
    ...[...history.taken].reverse().map((m) => ({ role: m.role, content: m.content })),
    { role: "user", content: parts.input },
  ];
  return {
    messages,
    sections: knowledge.taken,
    passages: knowledge.taken.map((s) => ({
      title: s.title,
      heading: s.heading,
      content: s.content,
    })),
    historyCount: history.taken.length,
    promptTokens: messages.reduce((sum, m) => sum + countTokens(m.content) + MESSAGE_OVERHEAD, 0),
  };
}

function sourceLabel(section: Section): string {
  return section.heading ? `${section.title}: ${section.heading}` : section.title;
}

function sectionTokens(section: Section): number {
  return countTokens(sourceLabel(section)) + countTokens(section.content) + MESSAGE_OVERHEAD;
}
