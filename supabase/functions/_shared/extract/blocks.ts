/**
 * Builds blocks from a stream of headings and text, keeping the heading path: a heading of level
 * n replaces the path from level n down. Text is cleaned with cleanText; empty blocks are dropped.
 */
import { cleanText } from "../text/sanitize.ts";
import type { Block } from "./types.ts";

export class BlockBuilder {
  #path: Array<string | undefined> = [];
  #buffer: string[] = [];
  #page: number | undefined;
  #blocks: Block[] = [];

  /** Starts a section under `text` at `level` (1 = top). */
  heading(level: number, text: string): void {
    this.flush();
    const title = cleanText(text).replace(/\s+/g, " ");
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
    const text = cleanText(this.#buffer.join("\n"));
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
