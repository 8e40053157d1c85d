/**
 * The local AI provider: deterministic, offline, no model. Used when no OPENAI_API_KEY is set
 * (or with AI_PROVIDER=local), so the whole product runs on a laptop and in tests.
 *
 * - Embeddings are lexical: hashed word unigrams and bigrams plus character 3- and 4-grams,
 *   sublinear term frequency, signed feature hashing into EMBEDDING_DIMENSIONS, L2-normalised.
 *   Texts that share words (or word stems, through the character n-grams) score higher cosine.
 * - Chat composes an answer from the retrieved passages in `options.sources`, citing them as
 *   [1], [2], ... and says plainly when there are none. It does not pretend to reason.
 * - Summaries are extractive: the previous summary first, then the conversation's most salient
 *   sentences, within the token budget.
 *
 * Model names start with `local-` so no stored record pretends to be an LLM's work.
 */
import { countTokens, truncateToTokens } from "../text/tokens.ts";
import {
  type AiProvider,
  type ChatChunk,
  type ChatMessage,
  type ChatOptions,
  type ChatResult,
  EMBEDDING_DIMENSIONS,
  type EmbedResult,
  type SourcePassage,
  type SummarizeInput,
  type Usage,
} from "./types.ts";

export const LOCAL_EMBEDDING_MODEL = "local-embed-v1";
export const LOCAL_CHAT_MODEL = "local-chat-v1";
export const LOCAL_SUMMARY_MODEL = "local-summary-v1";

/** Feature weights: whole words carry the meaning, n-grams catch inflections and typos. */
const WEIGHTS = { word: 1, bigram: 0.5, char: 0.25 } as const;

/** Words too common to say anything about a text (English; other languages keep theirs). */
const STOPWORDS = new Set(
  ("a about all also an and any are as at be been being both but by can could did do does done " +
    "each for from had has have he her here hi hello his how i if in into is it its just me more " +
    "most my no not of ok okay on only or other our out over please she should so some such sure " +
    "than thank thanks that the their them then there these they this those to too up very was " +
    "we were what when where which who why will with would yes you your").split(" "),
);

/** Words of a text: lowercased letter/digit runs, NFKC-normalised. */
function words(text: string): string[] {
  return text.normalize("NFKC").toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
}

/** Words that carry meaning: no stopwords, no single letters or digits. */
function contentWords(text: string): string[] {
  return words(text).filter((w) => w.length > 1 && !STOPWORDS.has(w));
}

/** A crude English stem, so "refunds", "refunded" and "refund" meet. */
export function stem(word: string): string {
  if (word.length <= 4 || /\d/.test(word)) return word;
  for (const suffix of ["ies", "ing", "ed", "es", "s"]) {
    if (word.endsWith(suffix) && word.length - suffix.length >= 3) {
      return suffix === "ies" ? word.slice(0, -3) + "y" : word.slice(0, -suffix.length);
    }
  }
  return word;
}

function terms(text: string): string[] {
  return contentWords(text).map(stem);
}

/** 32-bit FNV-1a over the UTF-16 code units. */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/** The lexical embedding of one text (unit length; a fixed unit vector for a text of no words). */
export function lexicalEmbedding(text: string): number[] {
  const counts = new Map<string, number>();
  const add = (feature: string) => counts.set(feature, (counts.get(feature) ?? 0) + 1);

  const content = contentWords(text);
  const stems = content.map(stem);
  for (const w of stems) add(`w:${w}`);
  for (let i = 1; i < stems.length; i++) add(`b:${stems[i - 1]} ${stems[i]}`);
  for (const w of content) {
    const padded = ` ${w} `;
    for (const n of [3, 4]) {
      for (let i = 0; i + n <= padded.length; i++) add(`c:${padded.slice(i, i + n)}`);
    }
  }

  const vector = new Array<number>(EMBEDDING_DIMENSIONS).fill(0);
  for (const [feature, count] of counts) {
    const hash = fnv1a(feature);
    // Signed hashing: colliding features cancel out on average instead of adding up.
    const sign = hash & 0x80000000 ? -1 : 1;
    // Sublinear tf: a word said ten times is not ten times the topic.
    vector[hash % EMBEDDING_DIMENSIONS]! += sign * weightOf(feature) * (1 + Math.log(count));
  }
  let norm = 0;
  for (const x of vector) norm += x * x;
  norm = Math.sqrt(norm);
  if (norm === 0) {
    // No words (empty or punctuation only): a unit vector, so cosine stays defined.
    vector[0] = 1;
    return vector;
  }
  return vector.map((x) => x / norm);
}

function weightOf(feature: string): number {
  if (feature.startsWith("w:")) return WEIGHTS.word;
  return feature.startsWith("b:") ? WEIGHTS.bigram : WEIGHTS.char;
}

/** Sentences of a text: split after . ! ? and at line breaks, trimmed, non-empty. */
export function sentences(text: string): string[] {
  return text
    .split(/(?<=[.!?])\s+|\n+/u)
    .map((s) => s.replace(/\s+/g, " ").trim())
    .filter((s) => /[\p{L}\p{N}]/u.test(s));
}

/** Prompt tokens as OpenAI counts them roughly: content plus a few tokens per message. */
function promptTokens(messages: readonly ChatMessage[]): number {
  return messages.reduce((sum, m) => sum + countTokens(m.content) + 4, 3);
}

function usageOf(prompt: number, completion: number): Usage {
  return {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: prompt + completion,
  };
}

function lastUserMessage(messages: readonly ChatMessage[]): string {
  for (let i = messages.length - 1; i >= 0; i--) {
    if (messages[i]!.role === "user") return messages[i]!.content;
  }
  return "";
}

/** The sentences of a passage that share the most content words with the question. */
function relevantSentences(source: SourcePassage, question: Set<string>, max: number): string[] {
  const candidates = sentences(source.content);
  const scored = candidates.map((sentence, index) => {
    let overlap = 0;
    for (const t of new Set(terms(sentence))) if (question.has(t)) overlap++;
    return { sentence, index, overlap };
  });
  const matching = scored.filter((s) => s.overlap > 0);
  // A passage retrieved for other reasons (its embedding, its title) opens with its gist.
  if (matching.length === 0) return candidates.slice(0, 1);
  return matching
    .sort((a, b) => b.overlap - a.overlap || a.index - b.index)
    .slice(0, max)
    .sort((a, b) => a.index - b.index)
    .map((s) => s.sentence);
}

function composeAnswer(messages: readonly ChatMessage[], options: ChatOptions): string {
  const question = lastUserMessage(messages);
  const sources = options.sources ?? [];
  if (sources.length === 0) {
    return "I found nothing in the knowledge base about this, so I cannot answer from it. " +
      "(This answer comes from the local provider, which only quotes retrieved passages; " +
      "configure OPENAI_API_KEY for a language model.)";
  }
  const asked = new Set(terms(question));
  const lines = sources.map((source, i) => {
    const label = source.heading ? `${source.title}, ${source.heading}` : source.title;
    const quote = relevantSentences(source, asked, 2).join(" ");
    return `- ${label}: ${quote} [${i + 1}]`;
  });
  return `From the knowledge base:\n\n${lines.join("\n")}`;
}

function chatResult(messages: readonly ChatMessage[], options: ChatOptions): ChatResult {
  const full = composeAnswer(messages, options);
  const limit = options.maxTokens;
  const text = limit !== undefined ? truncateToTokens(full, limit) : full;
  return {
    text,
    model: LOCAL_CHAT_MODEL,
    usage: usageOf(promptTokens(messages), countTokens(text)),
    finishReason: text === full ? "stop" : "length",
  };
}

function throwIfAborted(signal: AbortSignal | undefined): void {
  signal?.throwIfAborted();
}

/** Term weights over a conversation: content-word frequency, sublinear. */
function salience(texts: readonly string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const text of texts) {
    for (const w of terms(text)) counts.set(w, (counts.get(w) ?? 0) + 1);
  }
  return new Map([...counts].map(([w, n]) => [w, 1 + Math.log(n)]));
}

function summarize(input: SummarizeInput): string {
  const budget = Math.max(0, input.maxTokens);
  const previous = input.previousSummary?.trim() ?? "";
  const turns = input.messages.flatMap((m) =>
    sentences(m.content).map((s) => ({ role: m.role, sentence: s }))
  );
  if (turns.length === 0) return truncateToTokens(previous, budget);

  // The previous summary comes first but leaves at least half the budget to what is new.
  const head = truncateToTokens(previous, Math.floor(budget / 2));
  let used = head ? countTokens(head) + 1 : 0;

  const weights = salience(turns.map((t) => t.sentence));
  const scored = turns.map((t, index) => {
    const unique = new Set(terms(t.sentence));
    let score = 0;
    for (const term of unique) score += weights.get(term) ?? 0;
    const salient = [...unique].some((term) => (weights.get(term) ?? 0) > 1);
    return { ...t, index, salient, score: score / Math.sqrt(unique.size + 1) };
  });
  // Small talk ("Anything else?") is left out when the conversation has repeated terms at all.
  const anySalient = scored.some((s) => s.salient);

  // Terms said more than once, as first written (stems are for matching, not for reading).
  const surface = new Map<string, string>();
  for (const t of turns) {
    for (const w of contentWords(t.sentence)) if (!surface.has(stem(w))) surface.set(stem(w), w);
  }
  const keyTerms = [...weights].filter(([term, weight]) => weight > 1 && term.length > 2)
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .slice(0, 8).map(([term]) => surface.get(term) ?? term);
  const termsLine = keyTerms.length ? `Key terms: ${keyTerms.join(", ")}.` : "";
  const termsCost = termsLine ? countTokens(termsLine) + 1 : 0;

  const chosen: typeof scored = [];
  for (const candidate of [...scored].sort((a, b) => b.score - a.score || a.index - b.index)) {
    if (anySalient && !candidate.salient) continue;
    const line = `${capitalise(candidate.role)}: ${candidate.sentence}`;
    const cost = countTokens(line) + 1;
    if (used + cost + termsCost > budget) continue;
    chosen.push(candidate);
    used += cost;
  }
  const body = chosen.sort((a, b) => a.index - b.index)
    .map((c) => `${capitalise(c.role)}: ${c.sentence}`);
  const parts = [head, ...body, used + termsCost <= budget ? termsLine : ""].filter(Boolean);
  return truncateToTokens(parts.join("\n"), budget);
}

function capitalise(word: string): string {
  return word.charAt(0).toUpperCase() + word.slice(1);
}

/** Splits text into deltas of a few words each, whitespace kept, so they concatenate back. */
function wordGroups(text: string, size = 3): string[] {
  const pieces = text.match(/\S+\s*/g) ?? [];
  const leading = text.match(/^\s+/)?.[0] ?? "";
  const groups: string[] = [];
  for (let i = 0; i < pieces.length; i += size) groups.push(pieces.slice(i, i + size).join(""));
  if (leading) groups.unshift(leading);
  return groups;
}

export function createLocalProvider(): AiProvider {
  return {
    name: "local",
    embeddingModel: LOCAL_EMBEDDING_MODEL,
    defaultChatModel: LOCAL_CHAT_MODEL,

    embed(texts, options = {}): Promise<EmbedResult> {
      throwIfAborted(options.signal);
      const tokens = texts.reduce((sum, t) => sum + countTokens(t), 0);
      return Promise.resolve({
        embeddings: texts.map(lexicalEmbedding),
        model: LOCAL_EMBEDDING_MODEL,
        usage: usageOf(tokens, 0),
      });
    },

    chat(messages, options = {}): Promise<ChatResult> {
      throwIfAborted(options.signal);
      return Promise.resolve(chatResult(messages, options));
    },

    async *chatStream(messages, options = {}): AsyncIterable<ChatChunk> {
      throwIfAborted(options.signal);
      const result = chatResult(messages, options);
      for (const text of wordGroups(result.text)) {
        throwIfAborted(options.signal);
        yield { type: "delta", text };
      }
      yield { type: "done", result };
    },

    summarize(input): Promise<ChatResult> {
      throwIfAborted(input.signal);
      const text = summarize(input);
      const prompt = countTokens(input.previousSummary ?? "") +
        input.messages.reduce((sum, m) => sum + countTokens(m.content), 0);
      return Promise.resolve({
        text,
        model: LOCAL_SUMMARY_MODEL,
        usage: usageOf(prompt, countTokens(text)),
        finishReason: "stop",
      });
    },
  };
}
