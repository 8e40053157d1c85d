/**
 * Builds blocks from a stream of headings and text, keeping the heading path: a heading of level
 * n replaces the path from level n down. Text is cleaned (`clean`); empty blocks are dropped.
 */
import { cleanText } from "../text/sanitize.ts";
import type { Block } from "./types.ts";

/** Blank runs longer than this are cut to it before cleaning (see `clean`). */
const MAX_BLANK_RUN = 16;
/**
 * Runs of what cleaning turns into spaces or removes: whitespace other than newlines, control
 * and format characters (zero-width, bidi, soft hyphen), longer than MAX_BLANK_RUN.
 */
const LONG_BLANK_RUNS =
  // deno-lint-ignore no-control-regex
  /(?:[^\S\n]|[\u0000-\u0008\u000B-\u001F\u007F-\u009F\u00AD\u180E\u200B-\u200F\u202A-\u202E\u2060-\u2064\u2066-\u2069\uFEFF]){17,}/g;

/**
 * cleanText, after cutting long blank runs: file text can hold runs of any length, and the
 * regexes that trim trailing blanks backtrack quadratically through one (50,000 leading spaces
 * took seconds). The cut itself is one linear pass.
 */
export function clean(text: string): string {
  return cleanText(text.replace(LONG_BLANK_RUNS, (run) => run.slice(0, MAX_BLANK_RUN)));
}

export class BlockBuilder {
  #path: Array<string | undefined> = [];
  #buffer: string[] = [];
  #page: number | undefined;
  #blocks: Block[] = [];

  /** Starts a section under `text` at `level` (1 = top). */
  heading(level: number, text: string): void {
    this.flush();
    const title = clean(text).replace(/\s+/g, " ");
    if (!title) return;
    this.#path = this.#path.slice(0, level - 1);
    this.#path[level - 1] = title;
  }

  /** Appends text (a paragraph, a line, a row) to the current section. */
  text(text: string): void {
    this.#buffer.push(text);
  }

  /** Starts a new page: what follows belongs to `page` (1-based). */
  page(page: number): void {
    this.flush();
    this.#page = page;
  }

  /** Closes the current block. */
  flush(): void {
    const text = clean(this.#buffer.join("\n"));
    this.#buffer = [];
    if (!text) return;
    this.#blocks.push({
      headingPath: this.#path.filter((h): h is string => h !== undefined),
      text,
      ...(this.#page === undefined ? {} : { page: this.#page }),
    });
  }

  blocks(): Block[] {
    this.flush();
    return this.#blocks;
  }
}
