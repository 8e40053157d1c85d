/**
 * Token counting with a real BPE tokenizer (gpt-tokenizer), for context budgets and usage.
 *
 * The encoding is o200k_base: the one of the default chat model (gpt-4o-mini) and of every
 * current OpenAI chat model, which is what the budgets (context window, summary length) are
 * measured against. text-embedding-3-* use cl100k_base; the two agree within a few percent on
 * prose, close enough for the embedding batches' safety margin, so one encoding serves both.
 *
 * Special-token strings in user text (`<|endoftext|>`) are counted as plain text, never refused.
 */
import { decode, encode } from "gpt-tokenizer/encoding/o200k_base";

/** Treat `<|...|>` markers as ordinary text: user input must not make the tokenizer throw. */
const PLAIN_TEXT = { allowedSpecial: new Set<string>(), disallowedSpecial: new Set<string>() };

/** The number of o200k_base tokens in `text`. */
export function countTokens(text: string): number {
  if (text === "") return 0;
  return encode(text, PLAIN_TEXT).length;
}

/** `text` cut to at most `maxTokens` tokens, at a token boundary (the whole text when it fits). */
export function truncateToTokens(text: string, maxTokens: number): string {
  if (maxTokens <= 0 || text === "") return "";
  const tokens = encode(text, PLAIN_TEXT);
  if (tokens.length <= maxTokens) return text;
  // A cut can split a multi-byte character across tokens; drop the dangling replacement char.
  return decode(tokens.slice(0, maxTokens)).replace(/\uFFFD+$/, "");
}
