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

/**
 * Longest run of non-blank (or of blank) characters encoded at once. BPE merges within a
 * pre-tokenized piece are quadratic in its length (50,000 "x", or 50,000 spaces, took 6 s); real
 * words and indentation are far shorter, so longer runs (hostile input, base64) are cut into
 * pieces of this length, which changes their count by at most one token per piece.
 */
const MAX_RUN = 256;
const LONG_RUN = new RegExp(`\\S{${MAX_RUN + 1},}|\\s{${MAX_RUN + 1},}`, "g");

/** `text` in pieces whose runs of non-blank or blank characters are at most MAX_RUN long. */
function* pieces(text: string): Generator<string> {
  let at = 0;
  for (const match of text.matchAll(LONG_RUN)) {
    if (match.index > at) yield text.slice(at, match.index);
    const run = match[0];
    for (let i = 0; i < run.length; i += MAX_RUN) yield run.slice(i, i + MAX_RUN);
    at = match.index + run.length;
  }
  if (at < text.length) yield text.slice(at);
}

/** The number of o200k_base tokens in `text`. */
export function countTokens(text: string): number {
  let count = 0;
  for (const piece of pieces(text)) count += encode(piece, PLAIN_TEXT).length;
  return count;
}

/** `text` cut to at most `maxTokens` tokens, at a token boundary (the whole text when it fits). */
export function truncateToTokens(text: string, maxTokens: number): string {
  if (maxTokens <= 0 || text === "") return "";
  const tokens: number[] = [];
  for (const piece of pieces(text)) {
    const encoded = encode(piece, PLAIN_TEXT);
    if (tokens.length + encoded.length > maxTokens) {
      tokens.push(...encoded.slice(0, maxTokens - tokens.length));
      // A cut can split a multi-byte character across tokens; drop the dangling replacement.
      return decode(tokens).replace(/\uFFFD+$/, "");
    }
    tokens.push(...encoded);
  }
  return text;
}
