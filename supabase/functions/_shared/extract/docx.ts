/**
 * Word documents (.docx) through mammoth, which maps Word's heading styles to h1-h6; the HTML is
 * then read like any other, so headings structure the sections. Old binary .doc is not supported.
 *
 * mammoth 1.13 wraps its results in a Promise subclass built with `__proto__` assignments, which
 * Deno disables: the wrapper's static `resolve` is missing and every call throws. Its results are
 * documented only as promises, so the wrapper is replaced by the identity (plain native promises);
 * the unit tests exercise the whole conversion on this pinned version.
 */
import mammoth from "mammoth";
import mammothPromises from "mammoth/lib/promises.js";
import { Buffer } from "node:buffer";
import { fileFailure } from "./failure.ts";
import { htmlToBlocks } from "./html.ts";
import type { Block } from "./types.ts";

(mammothPromises as { toExternalPromise: (p: Promise<unknown>) => Promise<unknown> })
  .toExternalPromise = (promise) => promise;

export async function docxToBlocks(bytes: Uint8Array): Promise<Block[]> {
  let html: string;
  try {
    const result = await mammoth.convertToHtml({ buffer: Buffer.from(bytes) });
    html = result.value;
  } catch {
    throw fileFailure(
      "corrupt",
      "The Word document is corrupt or not a .docx file; open and save it again",
    );
  }
  return htmlToBlocks(html).blocks;
}
