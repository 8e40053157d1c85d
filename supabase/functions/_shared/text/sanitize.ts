/**
 * Text that enters the database: one cleaning pass and one size check, shared by every function
 * that stores or searches user-written text (message-preprocess, execute-agent, ingestion).
 *
 * cleanText() keeps meaning and drops what is invisible or hostile:
 * - lone UTF-16 surrogates become U+FFFD (Postgres and JSON encoders refuse them), then Unicode NFC;
 * - CRLF, CR, U+2028 and U+2029 become "\n";
 * - control characters other than "\n" and "\t" (C0, DEL, C1, NUL included) are removed;
 * - zero-width characters (U+200B ZWSP, U+200C ZWNJ, U+2060 WJ, U+FEFF BOM, U+00AD soft hyphen,
 *   U+180E, U+2061-U+2064) are removed, and U+200D ZWJ too except between two emoji, where it
 *   joins a sequence such as a family emoji;
 * - bidi embeddings, overrides and isolates (U+202A-U+202E, U+2066-U+2069: "Trojan Source") are
 *   removed; the plain marks LRM/RLM/ALM stay, right-to-left text needs them;
 * - other Unicode spaces (NBSP, en/em spaces, U+3000, ...) become " ";
 * - inside a line, runs of spaces collapse to one; a line's leading indentation is kept (code in a
 *   message still reads) and trailing spaces and tabs are removed;
 * - runs of blank lines collapse to one blank line; the whole text is trimmed.
 */

import { AppError } from "../errors.ts";

/** Default upper bound of checkText(), in characters (code points). */
export const DEFAULT_MAX_CHARS = 32_000;

const NEWLINES = /\r\n?|[\u2028\u2029]/g;
// C0 except \t (09) and \n (0A), DEL and C1.
// deno-lint-ignore no-control-regex
const CONTROL = /[\u0000-\u0008\u000B-\u001F\u007F-\u009F]/g;
const INVISIBLE = /[\u00AD\u180E\u200B\u200C\u2060-\u2064\uFEFF]/g;
const BIDI_CONTROL = /[\u202A-\u202E\u2066-\u2069]/g;
const ZWJ_OUTSIDE_EMOJI =
  /(?<!\p{Extended_Pictographic}\uFE0F?)\u200D|\u200D(?!\p{Extended_Pictographic})/gu;
const UNICODE_SPACES = /[\u00A0\u1680\u2000-\u200A\u202F\u205F\u3000]/g;
const INNER_SPACE_RUNS = /(?<=\S) {2,}/g;
// Anchored at the start of a run (the lookbehind): without it, a long run of blanks that does
// not end a line is retried from every position, quadratic in its length.
const TRAILING_BLANKS = /(?<![ \t])[ \t]+$/gm;
const BLANK_LINE_RUNS = /\n{3,}/g;

/** Normalise text as described in this module's header; pure and idempotent. */
export function cleanText(input: string): string {
  return input
    .toWellFormed()
    .normalize("NFC")
    .replace(NEWLINES, "\n")
    .replace(CONTROL, "")
    .replace(INVISIBLE, "")
    .replace(BIDI_CONTROL, "")
    .replace(ZWJ_OUTSIDE_EMOJI, "")
    .replace(UNICODE_SPACES, " ")
    .replace(INNER_SPACE_RUNS, " ")
    .replace(TRAILING_BLANKS, "")
    .replace(BLANK_LINE_RUNS, "\n\n")
    .trim();
}

export interface CheckTextOptions {
  /** Longest accepted cleaned text in characters (code points); default 32,000. */
  maxChars?: number;
  /** Name of the field in error messages and details; default "content". */
  field?: string;
}

/**
 * cleanText(), then refuse what cannot be stored: AppError invalid_request (400) when nothing is
 * left, payload_too_large (413) when longer than maxChars. Returns the cleaned text.
 */
export function checkText(input: string, options: CheckTextOptions = {}): string {
  const field = options.field ?? "content";
  const maxChars = options.maxChars ?? DEFAULT_MAX_CHARS;
  const text = cleanText(input);
  if (text.length === 0) {
    throw new AppError("invalid_request", `Field "${field}" is empty after cleaning`, {
      details: { field },
    });
  }
  // Code points, not UTF-16 units: an emoji counts once. Cheap check first.
  if (text.length > maxChars) {
    const length = countCodePoints(text);
    if (length > maxChars) {
      throw new AppError(
        "payload_too_large",
        `Field "${field}" is longer than ${maxChars} characters`,
        { details: { field, max_chars: maxChars, length } },
      );
    }
  }
  return text;
}

function countCodePoints(text: string): number {
  let count = 0;
  for (const _ of text) count++;
  return count;
}
