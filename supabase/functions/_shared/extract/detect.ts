/**
 * What a file is, from its bytes first and its name second; the client's content type is never
 * consulted. Binary formats are recognised by magic numbers (file-type); text formats, which have
 * none, by a strict UTF-8 decode plus the name's extension (or a look at the first characters when
 * there is no extension). Executables are refused whatever their name: ELF, PE (MZ), Mach-O and
 * Java classes by their magic numbers, scripts by a `#!` first line or a script extension.
 * A name that promises a binary format the bytes are not (a `.pdf` that is no PDF) is refused.
 */
import { fileTypeFromBuffer } from "file-type";
import { fileFailure } from "./failure.ts";
import type { DetectedType } from "./types.ts";

const IMAGE_MIME: Record<string, string> = {
  png: "image/png",
  jpg: "image/jpeg",
  webp: "image/webp",
  gif: "image/gif",
};

const DOCX_MIME = "application/vnd.openxmlformats-officedocument.wordprocessingml.document";

/** Text formats by extension. */
const TEXT_EXTENSIONS: Record<string, DetectedType> = {
  txt: { kind: "text", mime: "text/plain", ext: "txt" },
  text: { kind: "text", mime: "text/plain", ext: "txt" },
  log: { kind: "text", mime: "text/plain", ext: "txt" },
  md: { kind: "markdown", mime: "text/markdown", ext: "md" },
  markdown: { kind: "markdown", mime: "text/markdown", ext: "md" },
  html: { kind: "html", mime: "text/html", ext: "html" },
  htm: { kind: "html", mime: "text/html", ext: "html" },
  csv: { kind: "csv", mime: "text/csv", ext: "csv" },
  tsv: { kind: "tsv", mime: "text/tab-separated-values", ext: "tsv" },
  tab: { kind: "tsv", mime: "text/tab-separated-values", ext: "tsv" },
  json: { kind: "json", mime: "application/json", ext: "json" },
};

/** Extensions that name a binary format: the bytes must then be that format. */
const BINARY_EXTENSIONS = new Set(["pdf", "docx", "png", "jpg", "jpeg", "webp", "gif"]);

/** Programs and scripts: refused even when the bytes are plain text. */
const EXECUTABLE_EXTENSIONS = new Set([
  "exe",
  "dll",
  "com",
  "scr",
  "msi",
  "bat",
  "cmd",
  "ps1",
  "vbs",
  "sh",
  "bash",
  "zsh",
  "elf",
  "bin",
  "app",
  "dmg",
  "jar",
  "class",
  "apk",
  "so",
  "dylib",
]);

/** file-type results that are programs. */
const EXECUTABLE_TYPES = new Set([
  "exe",
  "elf",
  "macho",
  "class",
  "dex",
  "wasm",
  "msi",
  "apk",
  "deb",
  "rpm",
  "jar",
  "lnk",
  "swf",
  "cab",
]);

export const SUPPORTED_FORMATS = "txt, md, html, csv, tsv, json, pdf, docx, png, jpeg, webp, gif";

/** The type of `bytes` named `name`; throws a file failure for executables and the unsupported. */
export async function detectType(bytes: Uint8Array, name: string): Promise<DetectedType> {
  const ext = extensionOf(name);
  const magic = executableMagic(bytes);
  if (magic) {
    throw fileFailure("executable", `File "${name}" is an executable (${magic}) and is refused`, {
      detected: magic,
    });
  }
  const sniffed = await fileTypeFromBuffer(bytes);
  if (sniffed) return fromSniffed(sniffed, name, ext);

  if (ext && BINARY_EXTENSIONS.has(ext)) {
    throw fileFailure(
      "mismatch",
      `File "${name}" is not a valid ${ext.toUpperCase()} file: its content does not match its name`,
    );
  }
  if (ext && EXECUTABLE_EXTENSIONS.has(ext)) {
    throw fileFailure("executable", `File "${name}" is a program or script and is refused`);
  }
  const text = decodeText(bytes);
  if (text === undefined) {
    throw fileFailure(
      "unsupported",
      `File "${name}" is binary data of an unknown type; supported formats: ${SUPPORTED_FORMATS}`,
    );
  }
  if (/^#!\s*\//.test(text)) {
    throw fileFailure(
      "executable",
      `File "${name}" is a script (it starts with "#!") and is refused`,
    );
  }
  if (ext) {
    const known = TEXT_EXTENSIONS[ext];
    if (!known) {
      throw fileFailure(
        "unsupported",
        `File type ".${ext}" is not supported; supported formats: ${SUPPORTED_FORMATS}`,
      );
    }
    return known;
  }
  return sniffText(text);
}

/** The text of `bytes` when they are UTF-8 (or UTF-16 with a byte order mark) without NULs. */
export function decodeText(bytes: Uint8Array): string | undefined {
  let encoding = "utf-8";
  if (bytes[0] === 0xff && bytes[1] === 0xfe) encoding = "utf-16le";
  else if (bytes[0] === 0xfe && bytes[1] === 0xff) encoding = "utf-16be";
  try {
    const text = new TextDecoder(encoding, { fatal: true }).decode(bytes);
    return text.includes("\u0000") ? undefined : text;
  } catch {
    return undefined;
  }
}

function fromSniffed(
  sniffed: { ext: string; mime: string },
  name: string,
  ext: string | undefined,
): DetectedType {
  if (EXECUTABLE_TYPES.has(sniffed.ext)) {
    throw fileFailure(
      "executable",
      `File "${name}" is an executable (${sniffed.ext}) and is refused`,
      { detected: sniffed.ext },
    );
  }
  if (sniffed.ext === "pdf") return { kind: "pdf", mime: "application/pdf", ext: "pdf" };
  if (sniffed.ext === "docx") return { kind: "docx", mime: DOCX_MIME, ext: "docx" };
  const imageMime = IMAGE_MIME[sniffed.ext];
  if (imageMime) return { kind: "image", mime: imageMime, ext: sniffed.ext };
  const claimed = ext ? ` (named ".${ext}")` : "";
  throw fileFailure(
    "unsupported",
    `File "${name}" is ${sniffed.mime}${claimed}, which is not supported; supported formats: ${SUPPORTED_FORMATS}`,
    { detected: sniffed.mime },
  );
}

/** The magic-number family of a native executable, checked before anything else. */
function executableMagic(bytes: Uint8Array): string | undefined {
  const b = (i: number) => bytes[i] ?? -1;
  if (b(0) === 0x7f && b(1) === 0x45 && b(2) === 0x4c && b(3) === 0x46) return "ELF";
  if (b(0) === 0x4d && b(1) === 0x5a) return "PE/DOS";
  const word = ((b(0) << 24) | (b(1) << 16) | (b(2) << 8) | b(3)) >>> 0;
  if ([0xfeedface, 0xfeedfacf, 0xcefaedfe, 0xcffaedfe].includes(word)) return "Mach-O";
  // 0xCAFEBABE is both a Mach-O universal binary and a Java class; either way a program.
  if (word === 0xcafebabe) return "Mach-O universal or Java class";
  return undefined;
}

function extensionOf(name: string): string | undefined {
  const base = name.split("/").pop() ?? "";
  const dot = base.lastIndexOf(".");
  if (dot <= 0 || dot === base.length - 1) return undefined;
  return base.slice(dot + 1).toLowerCase();
}

function sniffText(text: string): DetectedType {
  const start = text.trimStart().slice(0, 200).toLowerCase();
  if (start.startsWith("{") || start.startsWith("[")) {
    try {
      JSON.parse(text);
      return TEXT_EXTENSIONS.json!;
    } catch {
      // Not JSON after all: plain text.
    }
  }
  if (start.startsWith("<!doctype html") || start.startsWith("<html")) return TEXT_EXTENSIONS.html!;
  return TEXT_EXTENSIONS.txt!;
}
