/**
 * Extraction: from a file's bytes and name to its text as blocks (or an image's facts), within
 * limits. Pure apart from the libraries it calls; failures are AppErrors a person can act on
 * (`details.reason`), 413 when the file is too large and 422 otherwise.
 */
import { decodeText, detectType } from "./detect.ts";
import { docxToBlocks } from "./docx.ts";
import { fileFailure, formatBytes } from "./failure.ts";
import { htmlToBlocks } from "./html.ts";
import { imageFacts } from "./image.ts";
import { jsonToBlocks } from "./json.ts";
import { markdownToBlocks, textToBlocks } from "./markdown.ts";
import { pdfToBlocks } from "./pdf.ts";
import { tableToBlocks } from "./tabular.ts";
import {
  type Block,
  DEFAULT_EXTRACT_LIMITS,
  type DetectedType,
  type Extraction,
  type ExtractLimits,
} from "./types.ts";

export { detectType, SUPPORTED_FORMATS } from "./detect.ts";
export { type FailureReason, failureReason, fileFailure, formatBytes } from "./failure.ts";
export * from "./types.ts";

export interface ExtractOptions {
  limits?: Partial<ExtractLimits>;
  /** Aborts long extractions (PDF pages) when the caller's time is spent. */
  signal?: AbortSignal;
}

/** Detects the type of `bytes` named `name` and extracts its text or facts. */
export async function extractFile(
  bytes: Uint8Array,
  name: string,
  options: ExtractOptions = {},
): Promise<Extraction> {
  const limits = { ...DEFAULT_EXTRACT_LIMITS, ...options.limits };
  checkSize(bytes.length, limits.maxBytes);
  if (bytes.length === 0) throw fileFailure("empty", `File "${name}" is empty`);
  const type = await detectType(bytes, name);
  const extracted = await extractByType(type, bytes, limits, options.signal);
  const characters = extracted.blocks.reduce((sum, block) => sum + block.text.length, 0);
  if (characters > limits.maxCharacters) {
    throw fileFailure(
      "too_long",
      `The file has ${characters} characters of text; the limit is ${limits.maxCharacters}, split it into smaller files`,
      { characters, max_characters: limits.maxCharacters },
    );
  }
  if (type.kind !== "image" && characters === 0) {
    throw fileFailure("empty", `File "${name}" has no text to index`);
  }
  return { type, characters, ...extracted };
}

/** Throws payload_too_large (413) when `size` exceeds `maxBytes`. */
export function checkSize(size: number, maxBytes: number): void {
  if (size > maxBytes) {
    throw fileFailure(
      "too_large",
      `The file is ${formatBytes(size)}; the limit is ${formatBytes(maxBytes)}`,
      { size_bytes: size, max_bytes: maxBytes },
    );
  }
}

async function extractByType(
  type: DetectedType,
  bytes: Uint8Array,
  limits: ExtractLimits,
  signal: AbortSignal | undefined,
): Promise<Omit<Extraction, "type" | "characters">> {
  switch (type.kind) {
    case "image":
      return { blocks: [], metadata: { image: imageFacts(bytes) } };
    case "pdf": {
      const pdf = await pdfToBlocks(bytes, { ...limits, ...(signal ? { signal } : {}) });
      return {
        blocks: pdf.blocks,
        pages: pdf.pages,
        metadata: { pages: pdf.pages, ...(pdf.title ? { title: pdf.title } : {}) },
      };
    }
    case "docx":
      return { blocks: await docxToBlocks(bytes), metadata: {} };
    default:
      return textFormat(type, checkedText(bytes, limits));
  }
}

function textFormat(type: DetectedType, text: string): Omit<Extraction, "type" | "characters"> {
  switch (type.kind) {
    case "markdown":
      return { blocks: markdownToBlocks(text), metadata: {} };
    case "html": {
      const html = htmlToBlocks(text);
      return { blocks: html.blocks, metadata: html.title ? { title: html.title } : {} };
    }
    case "csv":
    case "tsv": {
      const table = tableToBlocks(text, type.kind === "tsv" ? "\t" : "auto");
      return { blocks: table.blocks, metadata: { rows: table.rows, columns: table.columns } };
    }
    case "json":
      return { blocks: jsonToBlocks(text), metadata: {} };
    default:
      return { blocks: textToBlocks(text), metadata: {} };
  }
}

/** The bytes as text; a text format's source must not exceed the character limit much. */
function checkedText(bytes: Uint8Array, limits: ExtractLimits): string {
  const text = decodeText(bytes);
  if (text === undefined) throw fileFailure("corrupt", "The file is not valid UTF-8 text");
  // Markup shrinks when extracted; refuse only sources far beyond the limit before parsing.
  if (text.length > limits.maxCharacters * 4) {
    throw fileFailure(
      "too_long",
      `The file has ${text.length} characters; the limit is ${limits.maxCharacters}, split it into smaller files`,
      { characters: text.length, max_characters: limits.maxCharacters },
    );
  }
  return text;
}

export type { Block };
