/**
 * HTML as blocks: headings (h1-h6) open sections, scripts, styles and other non-content elements
 * are dropped with their content, every other tag is removed and entities are decoded.
 *
 * A small stripper rather than a DOM: no HTML parser is pinned, and indexing needs only the text
 * and the headings. The output is stored and embedded as plain text and never rendered as HTML,
 * so a lossy parse (odd markup read as text) cannot become an injection; the cost of a mistake is
 * a few stray characters in a section. Also used for DOCX, which mammoth turns into HTML.
 */
import { BlockBuilder } from "./blocks.ts";
import type { Block } from "./types.ts";

/** Elements dropped with everything inside them. */
const DROPPED = "script|style|noscript|template|svg|math|iframe|object|canvas|head|title|select";
/** Raw-text elements: never closed, they hide the rest of the document (as browsers do). */
const RAW_TEXT = new Set(["script", "style"]);
/** The opening tag of a dropped element. */
const DROPPED_OPEN = new RegExp(`<(${DROPPED})\\b`, "gi");
const COMMENTS =
  /<!--[\s\S]*?(?:-->|$)|<!\[CDATA\[[\s\S]*?(?:\]\]>|$)|<![^<>]*>|<\?[\s\S]*?(?:\?>|$)/g;
/**
 * A tag, its attributes allowed to hold `>` inside quotes. `<` is not an attribute character, so
 * a failed match stops at the next tag (linear time on hostile input).
 */
const TAG = /<(\/?)([a-zA-Z][a-zA-Z0-9-]*)((?:[^<>"']|"[^"]*"|'[^']*')*)>/g;
const BLOCK_TAGS = new Set([
  "address",
  "article",
  "aside",
  "blockquote",
  "br",
  "dd",
  "div",
  "dl",
  "dt",
  "figcaption",
  "figure",
  "footer",
  "form",
  "header",
  "hr",
  "li",
  "main",
  "nav",
  "ol",
  "p",
  "pre",
  "section",
  "table",
  "tbody",
  "thead",
  "tfoot",
  "tr",
  "ul",
  "caption",
]);
const CELL_TAGS = new Set(["td", "th"]);

const NAMED_ENTITIES: Record<string, string> = {
  amp: "&",
  lt: "<",
  gt: ">",
  quot: '"',
  apos: "'",
  nbsp: " ",
  ndash: "\u2013",
  mdash: "\u2014",
  hellip: "\u2026",
  lsquo: "\u2018",
  rsquo: "\u2019",
  ldquo: "\u201C",
  rdquo: "\u201D",
  copy: "\u00A9",
  reg: "\u00AE",
  trade: "\u2122",
  euro: "\u20AC",
  bull: "\u2022",
  middot: "\u00B7",
  laquo: "\u00AB",
  raquo: "\u00BB",
  times: "\u00D7",
  deg: "\u00B0",
};

/** The document's blocks; the `<title>` is returned beside them. */
export function htmlToBlocks(html: string): { blocks: Block[]; title?: string } {
  const title = titleOf(html);
  const body = dropElements(html.replace(COMMENTS, " "));

  const builder = new BlockBuilder();
  let line = "";
  let heading: { level: number; text: string } | undefined;
  let at = 0;
  const addText = (raw: string) => {
    const text = decodeEntities(raw.replace(/\s+/g, " "));
    if (heading) heading.text += text;
    else line += text;
  };
  const endLine = () => {
    if (line.trim()) builder.text(line.trim());
    line = "";
  };

  for (const match of body.matchAll(TAG)) {
    addText(body.slice(at, match.index));
    at = match.index + match[0].length;
    const closing = match[1] === "/";
    const tag = match[2]!.toLowerCase();
    const level = /^h([1-6])$/.exec(tag);
    if (level) {
      if (!closing) {
        endLine();
        heading = { level: Number(level[1]), text: "" };
      } else if (heading) {
        builder.heading(heading.level, heading.text);
        heading = undefined;
      }
    } else if (BLOCK_TAGS.has(tag)) {
      if (!heading) endLine();
    } else if (CELL_TAGS.has(tag) && closing) {
      addText(" | ");
    } else if (tag === "img" && !closing) {
      const alt = /\balt\s*=\s*(?:"([^"]*)"|'([^']*)')/i.exec(match[3] ?? "");
      const text = alt?.[1] ?? alt?.[2];
      if (text) addText(` ${text} `);
    }
  }
  addText(body.slice(at));
  if (heading) builder.heading(heading.level, heading.text);
  endLine();
  return { blocks: builder.blocks(), ...(title ? { title } : {}) };
}

/**
 * `html` without the DROPPED elements and their content, in one pass: each opening tag is matched
 * with the next closing tag of its name (their content is raw text or not shown); an unclosed
 * script or style drops everything after it. A regex with a lazy body would rescan to the end for every
 * unclosed opening tag, which a hostile file can repeat thousands of times.
 */
export function dropElements(html: string): string {
  const lower = html.toLowerCase();
  const kept: string[] = [];
  const unclosed = new Set<string>(); // names with no closing tag after some point: none later
  let at = 0;
  DROPPED_OPEN.lastIndex = 0;
  for (let open = DROPPED_OPEN.exec(html); open; open = DROPPED_OPEN.exec(html)) {
    if (open.index < at) continue;
    const name = open[1]!.toLowerCase();
    if (unclosed.has(name)) continue;
    const close = lower.indexOf(`</${name}`, open.index + open[0].length);
    const end = close < 0 ? -1 : lower.indexOf(">", close);
    if (end < 0) {
      // Unclosed: a script or style hides the rest; another element (an omitted </head>) is
      // kept, only its tag goes.
      if (RAW_TEXT.has(name)) return kept.join("") + html.slice(at, open.index);
      unclosed.add(name);
      continue;
    }
    kept.push(html.slice(at, open.index), " ");
    at = end + 1;
    DROPPED_OPEN.lastIndex = at;
  }
  kept.push(html.slice(at));
  return kept.join("");
}

/** The first `<title>`'s text, found with two searches (a lazy regex rescans per opening). */
function titleOf(html: string): string | undefined {
  const lower = html.toLowerCase();
  const open = lower.search(/<title\b/);
  if (open < 0) return undefined;
  const start = lower.indexOf(">", open);
  const end = start < 0 ? -1 : lower.indexOf("</title", start);
  if (end < 0) return undefined;
  return inlineText(html.slice(start + 1, end)) || undefined;
}

function inlineText(html: string): string {
  return decodeEntities(html.replace(TAG, " ").replace(/\s+/g, " ")).trim();
}

/** Decodes numeric entities and the common named ones; unknown names stay as written. */
export function decodeEntities(text: string): string {
  return text.replace(/&(#x[0-9a-f]{1,6}|#[0-9]{1,7}|[a-z][a-z0-9]{1,31});/gi, (whole, entity) => {
    const name = String(entity);
    if (name.startsWith("#")) {
      const code = name[1] === "x" || name[1] === "X"
        ? parseInt(name.slice(2), 16)
        : parseInt(name.slice(1), 10);
      return code > 0 && code <= 0x10ffff && !(code >= 0xd800 && code <= 0xdfff)
        ? String.fromCodePoint(code)
        : "\uFFFD";
    }
    return NAMED_ENTITIES[name.toLowerCase()] ?? whole;
  });
}
