/**
 * PDF text per page with unpdf (pdf.js built for servers: no worker, no canvas, no eval). Each
 * page becomes its own block carrying its page number. Checked before parsing: the end-of-file
 * marker (a missing one means an interrupted upload, which pdf.js would otherwise half-read).
 * Refused: password protection, corrupt structure, more pages than the limit, and files with no
 * extractable text at all (scans: no OCR here).
 */
import { getDocumentProxy } from "unpdf";
import { AppError } from "../errors.ts";
import { BlockBuilder } from "./blocks.ts";
import { fileFailure } from "./failure.ts";
import type { Block } from "./types.ts";

export interface PdfText {
  blocks: Block[];
  pages: number;
  title?: string;
}

interface TextItemLike {
  str?: string;
  hasEOL?: boolean;
}

export async function pdfToBlocks(
  bytes: Uint8Array,
  options: { maxPages: number; maxCharacters: number; signal?: AbortSignal },
): Promise<PdfText> {
  if (!hasEofMarker(bytes)) {
    throw fileFailure(
      "truncated",
      "The PDF is truncated (it has no end-of-file marker); upload the complete file again",
    );
  }
  let pdf: Awaited<ReturnType<typeof getDocumentProxy>>;
  try {
    // pdf.js may detach the buffer it is given: hand it a copy.
    pdf = await getDocumentProxy(bytes.slice(), {
      verbosity: 0,
      disableFontFace: true,
      useSystemFonts: false,
    });
  } catch (error) {
    throw pdfFailure(error);
  }
  try {
    if (pdf.numPages > options.maxPages) {
      throw fileFailure(
        "too_many_pages",
        `The PDF has ${pdf.numPages} pages; the limit is ${options.maxPages}`,
        { pages: pdf.numPages, max_pages: options.maxPages },
      );
    }
    const builder = new BlockBuilder();
    let characters = 0;
    for (let number = 1; number <= pdf.numPages; number++) {
      // pdf.js without a worker settles its page promises as microtasks, so a long PDF would
      // never let a timer run: yield to the event loop now and then, so the caller's time limit
      // (an AbortSignal.timeout) can fire and other requests of the isolate make progress.
      if (number % 8 === 0) await new Promise((resolve) => setTimeout(resolve, 0));
      options.signal?.throwIfAborted();
      const page = await pdf.getPage(number);
      const content = await page.getTextContent();
      const text = (content.items as TextItemLike[])
        .map((item) => (item.str ?? "") + (item.hasEOL ? "\n" : ""))
        .join("");
      characters += text.length;
      if (characters > options.maxCharacters) {
        throw fileFailure(
          "too_long",
          `The PDF has more than ${options.maxCharacters} characters of text; split it into smaller files`,
          { max_characters: options.maxCharacters },
        );
      }
      builder.page(number);
      builder.text(text);
      page.cleanup();
    }
    const blocks = builder.blocks();
    if (blocks.length === 0) {
      throw fileFailure(
        "empty",
        "The PDF has no extractable text (a scan or images only); text recognition is not supported",
      );
    }
    const title = await pdfTitle(pdf);
    return { blocks, pages: pdf.numPages, ...(title ? { title } : {}) };
  } catch (error) {
    // Stopped by the caller (time limit): not the file's fault, so not a file failure.
    if (options.signal?.aborted) throw options.signal.reason ?? error;
    throw pdfFailure(error);
  } finally {
    await pdf.loadingTask.destroy();
  }
}

/** `%%EOF` within the last KiB, as the PDF format requires (incremental updates included). */
function hasEofMarker(bytes: Uint8Array): boolean {
  const tail = new TextDecoder("latin1").decode(bytes.subarray(Math.max(0, bytes.length - 1024)));
  return tail.includes("%%EOF");
}

async function pdfTitle(
  pdf: { getMetadata(): Promise<{ info: unknown }> },
): Promise<string | undefined> {
  try {
    const { info } = await pdf.getMetadata();
    const title = (info as { Title?: unknown } | undefined)?.Title;
    return typeof title === "string" && title.trim() ? title.trim() : undefined;
  } catch {
    return undefined;
  }
}

function pdfFailure(error: unknown): unknown {
  if (error instanceof AppError) return error;
  if (error instanceof DOMException && error.name === "AbortError") return error;
  const name = error instanceof Error ? error.name : "";
  if (name === "PasswordException") {
    return fileFailure(
      "encrypted",
      "The PDF is password-protected; upload a copy without a password",
    );
  }
  return fileFailure(
    "corrupt",
    "The PDF is corrupt or not a PDF; open and save it again, or export it anew",
    { parser: name || undefined },
  );
}
