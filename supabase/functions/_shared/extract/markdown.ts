/**
 * Plain text and Markdown as blocks. Markdown headings (ATX `#` and setext underlines) open
 * sections and build the heading path; fenced code is kept as text and never read as headings;
 * YAML front matter is skipped. The Markdown itself stays in the text: it reads well and embeds
 * well as it is.
 */
import { BlockBuilder } from "./blocks.ts";
import type { Block } from "./types.ts";

// The optional closing `#`s are stripped by atxTitle(): in the regex, a lazy title before an
// optional closing sequence backtracks quadratically through a long run of blanks.
const ATX = /^ {0,3}(#{1,6})(?:[ \t]+(.*))?$/;
const FENCE = /^ {0,3}(`{3,}|~{3,})/;
const SETEXT_H1 = /^ {0,3}=+[ \t]*$/;
const SETEXT_H2 = /^ {0,3}-+[ \t]*$/;
const LIST_ITEM = /^\s*(?:[-*+]|\d+[.)])\s/;

/** A plain text file: one untitled block. */
export function textToBlocks(text: string): Block[] {
  const builder = new BlockBuilder();
  builder.text(text);
  return builder.blocks();
}

/** A Markdown document: one block per section, under its heading path. */
export function markdownToBlocks(markdown: string): Block[] {
  const builder = new BlockBuilder();
  const lines = skipFrontMatter(markdown.replace(/\r\n?/g, "\n").split("\n"));
  let fence: string | undefined;
  const pending: string[] = [];
  const emit = () => {
    if (pending.length) builder.text(pending.splice(0).join("\n"));
  };

  for (const line of lines) {
    if (fence) {
      pending.push(line);
      if (line.trimStart().startsWith(fence)) fence = undefined;
      continue;
    }
    const fenceOpen = FENCE.exec(line);
    if (fenceOpen) {
      fence = fenceOpen[1]!.slice(0, 3);
      pending.push(line);
      continue;
    }
    const atx = ATX.exec(line);
    if (atx) {
      emit();
      builder.heading(atx[1]!.length, atxTitle(atx[2] ?? ""));
      continue;
    }
    const last = pending.at(-1);
    const underline = SETEXT_H1.test(line) ? 1 : SETEXT_H2.test(line) ? 2 : 0;
    if (underline && last !== undefined && last.trim() !== "" && !LIST_ITEM.test(last)) {
      pending.pop();
      emit();
      builder.heading(underline, last);
      continue;
    }
    pending.push(line);
  }
  emit();
  return builder.blocks();
}

/** An ATX heading's text without its optional closing sequence (`## Title ##` -> "Title"). */
function atxTitle(raw: string): string {
  const text = raw.trimEnd();
  let end = text.length;
  while (end > 0 && text[end - 1] === "#") end--;
  if (end === 0) return "";
  const before = text[end - 1];
  return end < text.length && (before === " " || before === "\t")
    ? text.slice(0, end).trimEnd()
    : text;
}

function skipFrontMatter(lines: string[]): string[] {
  if (lines[0]?.trim() !== "---") return lines;
  const end = lines.findIndex((line, i) => i > 0 && /^(---|\.\.\.)\s*$/.test(line));
  return end > 0 ? lines.slice(end + 1) : lines;
}
