/**
 * Structure-aware chunking: blocks (already split at headings and pages) become sections of about
 * `targetTokens` tokens. A block that fits is one section; a longer one is cut at the largest
 * boundary that works (paragraphs, then lines, then sentences, then words), its pieces packed up
 * to the target, and each section after the first of a block starts with the last
 * `overlapTokens` or so of the one before, so a sentence cut at a boundary is still found whole.
 * Every section keeps its block's heading path and page. Fragments under `minTokens` tokens, or
 * without a letter or digit, are dropped: they mean nothing on their own and match everything.
 */
import { countTokens } from "../text/tokens.ts";
import type { Block } from "./types.ts";

export interface Chunk {
  /** 0-based position in the document. */
  ordinal: number;
  headingPath: string[];
  /** The heading path as one line (`Guide > Setup`), or null at the top. */
  heading: string | null;
  page?: number;
  content: string;
  tokenCount: number;
}

export interface ChunkOptions {
  /** Tokens a section aims for (default 400). */
  targetTokens?: number;
  /** Tokens carried over from the previous section of the same block (default 50). */
  overlapTokens?: number;
  /** Sections shorter than this are dropped (default 5). */
  minTokens?: number;
}

export const DEFAULT_CHUNK_OPTIONS: Required<ChunkOptions> = {
  targetTokens: 400,
  overlapTokens: 50,
  minTokens: 5,
};

/** Above this many characters per target token, a text is split without being counted. */
const MAX_CHARS_PER_TOKEN = 8;

/** The schema's bounds: document_sections.heading <= 1000, content <= 20000 characters. */
const MAX_HEADING_CHARS = 1000;
const MAX_CONTENT_CHARS = 20_000;

const SPLITTERS: Array<{ split: (text: string) => string[]; join: string }> = [
  { split: (t) => t.split(/\n{2,}/), join: "\n\n" },
  { split: (t) => t.split("\n"), join: "\n" },
  { split: (t) => t.split(/(?<=[.!?\u3002])\s+/), join: " " },
  { split: (t) => t.split(/\s+/), join: " " },
];

interface Piece {
  text: string;
  tokens: number;
  /** How this piece joins the one before it. */
  join: string;
}

/** Chunks `blocks` into sections, in order, numbered from 0. */
export function chunkBlocks(blocks: readonly Block[], options: ChunkOptions = {}): Chunk[] {
  const settings = { ...DEFAULT_CHUNK_OPTIONS, ...options };
  const chunks: Chunk[] = [];
  for (const block of blocks) {
    const heading = headingOf(block.headingPath);
    for (const content of chunkText(block.text, settings)) {
      const tokenCount = countTokens(content);
      if (tokenCount < settings.minTokens || !/[\p{L}\p{N}]/u.test(content)) continue;
      chunks.push({
        ordinal: chunks.length,
        headingPath: block.headingPath,
        heading,
        ...(block.page === undefined ? {} : { page: block.page }),
        content,
        tokenCount,
      });
    }
  }
  return chunks;
}

/** The text of one block as section contents within the target size. */
export function chunkText(text: string, options: Required<ChunkOptions>): string[] {
  if (measure(text, options.targetTokens).fits) return [text];
  const pieces = splitToFit(text, options.targetTokens, 0, "");
  const chunks: string[] = [];
  let current: Piece[] = [];
  let size = 0;
  for (const piece of pieces) {
    if (current.length && size + piece.tokens > options.targetTokens) {
      chunks.push(joinPieces(current));
      current = overlapOf(current, options.overlapTokens);
      size = current.reduce((sum, p) => sum + p.tokens, 0);
      // An overlap that leaves no room for the next piece is dropped rather than overflow.
      if (size + piece.tokens > options.targetTokens) {
        current = [];
        size = 0;
      }
    }
    current.push(piece);
    size += piece.tokens;
  }
  if (current.length) chunks.push(joinPieces(current));
  // A safety net only (pieces are far smaller); a cut must not split a surrogate pair.
  return chunks.map((chunk) => chunk.slice(0, MAX_CONTENT_CHARS).toWellFormed());
}

/**
 * Whether `text` fits in `target` tokens, and its token count when it was counted. Texts longer
 * than MAX_CHARS_PER_TOKEN characters per target token are too large without counting: BPE is
 * quadratic in the length of an unbroken run (50,000 "x" take seconds), and a file must not be
 * able to make the worker spin on one.
 */
function measure(text: string, target: number): { fits: boolean; tokens: number } {
  if (text.length > target * MAX_CHARS_PER_TOKEN || text.length > MAX_CONTENT_CHARS) {
    return { fits: false, tokens: Number.POSITIVE_INFINITY };
  }
  const tokens = countTokens(text);
  return { fits: tokens <= target, tokens };
}

/** Splits `text` at the coarsest boundary, recursing into pieces that are still too large. */
function splitToFit(text: string, target: number, level: number, join: string): Piece[] {
  const size = measure(text, target);
  if (size.fits) return [{ text, tokens: size.tokens, join }];
  const splitter = SPLITTERS[level];
  if (!splitter) return hardSplit(text, target, join);
  const parts = splitter.split(text).filter((part) => part.trim() !== "");
  if (parts.length <= 1) return splitToFit(text, target, level + 1, join);
  return parts.flatMap((part, i) =>
    splitToFit(part, target, level + 1, i === 0 ? join : splitter.join)
  );
}

/**
 * An unbroken run (no paragraph, line, sentence or word boundary) cut every `target` characters
 * (a token is rarely shorter than a character), halved again while a cut is still over the target,
 * never inside a surrogate pair. Every cut is short, so counting it is cheap.
 */
function hardSplit(text: string, target: number, join: string): Piece[] {
  const pieces: Piece[] = [];
  let at = 0;
  let width = target;
  while (at < text.length) {
    let end = Math.min(text.length, at + width);
    const last = text.charCodeAt(end - 1);
    if (end < text.length && end - at > 1 && last >= 0xd800 && last <= 0xdbff) end--;
    const part = text.slice(at, end);
    const tokens = countTokens(part);
    if (tokens > target && end - at > 2) {
      width = Math.max(2, Math.floor((end - at) / 2));
      continue;
    }
    pieces.push({ text: part, tokens, join: at === 0 ? join : "" });
    at = end;
    width = target;
  }
  return pieces;
}

function joinPieces(pieces: readonly Piece[]): string {
  return pieces.map((p, i) => (i === 0 ? "" : p.join) + p.text).join("").trim();
}

/**
 * The tail of a section, at most `overlap` tokens, that starts the next one: its trailing whole
 * pieces, or when the last piece alone is larger, that piece's trailing sentences.
 */
function overlapOf(pieces: readonly Piece[], overlap: number): Piece[] {
  const tail: Piece[] = [];
  let size = 0;
  for (let i = pieces.length - 1; i > 0; i--) {
    const piece = pieces[i]!;
    if (size + piece.tokens > overlap) break;
    tail.unshift(piece);
    size += piece.tokens;
  }
  if (tail.length || overlap <= 0) return tail;
  const last = pieces.at(-1)!;
  const sentences = last.text.split(/(?<=[.!?\u3002])\s+/);
  const kept: string[] = [];
  for (let i = sentences.length - 1; i > 0; i--) {
    const candidate = [sentences[i]!, ...kept].join(" ");
    if (countTokens(candidate) > overlap) break;
    kept.unshift(sentences[i]!);
  }
  if (!kept.length) return [];
  const text = kept.join(" ");
  return [{ text, tokens: countTokens(text), join: "" }];
}

function headingOf(path: readonly string[]): string | null {
  if (path.length === 0) return null;
  return path.join(" > ").slice(0, MAX_HEADING_CHARS);
}

/** What is embedded for a section: its heading path, then its content. */
export function embeddingInput(chunk: { heading: string | null; content: string }): string {
  return chunk.heading ? `${chunk.heading}\n\n${chunk.content}` : chunk.content;
}
