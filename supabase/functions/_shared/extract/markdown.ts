/**
 * Plain text and Markdown as blocks. Markdown headings (ATX `#` and setext underlines) open
 * sections and build the heading path; fenced code is kept as text and never read as headings;
 * YAML front matter is skipped. The Markdown itself stays in the text: it reads well and embeds
 * well as it is.
 */
import { BlockBuilder } from "./blocks.ts";
import type { Block } from "./types.ts";

const ATX = /^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$/;
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
      builder.heading(atx[1]!.length, atx[2] ?? "");
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

function skipFrontMatter(lines: string[]): string[] {
  if (lines[0]?.trim() !== "---") return lines;
  const end = lines.findIndex((line, i) => i > 0 && /^(---|\.\.\.)\s*$/.test(line));
  return end > 0 ? lines.slice(end + 1) : lines;
}
