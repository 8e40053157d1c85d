/**
 * What extraction produces: the file's detected type, its text as blocks (each under the heading
 * path it sits in, and on its page for paginated formats), and facts about the file for the
 * upload's metadata. Images have no blocks.
 */

/** The formats extraction understands. */
export type FileKind =
  | "text"
  | "markdown"
  | "html"
  | "csv"
  | "tsv"
  | "json"
  | "pdf"
  | "docx"
  | "image";

export interface DetectedType {
  kind: FileKind;
  /** The MIME type the bytes are, whatever the client claimed. */
  mime: string;
  /** Canonical extension, without the dot. */
  ext: string;
}

/** A run of text under one heading path, on one page when the format has pages. */
export interface Block {
  headingPath: string[];
  text: string;
  page?: number;
}

export interface Extraction {
  type: DetectedType;
  blocks: Block[];
  /** Characters of extracted text (sum over blocks). */
  characters: number;
  /** Page count, for paginated formats. */
  pages?: number;
  /** Facts for the upload's metadata (image dimensions, rows and columns, ...). */
  metadata: Record<string, unknown>;
}

/** Upper bounds a file must stay within; larger files fail with a reason. */
export interface ExtractLimits {
  /** Largest file, in bytes (413 payload_too_large). */
  maxBytes: number;
  /** Most PDF pages. */
  maxPages: number;
  /** Most characters of extracted text. */
  maxCharacters: number;
}

export const DEFAULT_EXTRACT_LIMITS: ExtractLimits = {
  maxBytes: 20 * 1024 * 1024,
  maxPages: 500,
  maxCharacters: 2_000_000,
};
