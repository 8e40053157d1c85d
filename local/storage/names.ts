/**
 * What the Storage API accepts as object keys, bucket names, MIME type rules and size limits,
 * after supabase/storage `src/storage/limits.ts`. Object bytes are stored by version id, never by
 * key, so these rules are about fidelity and tidy listings, not about protecting the disk.
 */
import { ERRORS } from "./errors.ts";

/**
 * Any UTF-8 except controls, the characters S3 asks to avoid, and invisible characters that can
 * hide or spoof a path (upstream's list, verbatim).
 */
const VALID_OBJECT_KEY =
  // deno-lint-ignore no-control-regex
  /^[^\u0000-\u001f\u007f\u0080-\u009f#\[\]{}^`"<>\\|%~\u{034F}\u{061C}\u{200B}\u{200E}\u{200F}\u{2028}\u{2029}\u{202A}-\u{202E}\u{2060}\u{2066}-\u{2069}\u{FEFF}]+$/u;

/** `.` or `..` as a path segment. */
const PATH_TRAVERSAL = /(^|\/)\.{1,2}(\/|$)/;

/** S3's limit on a key's UTF-8 length. */
const MAX_OBJECT_KEY_BYTES = 1024;

const VALID_BUCKET_NAME = /^[A-Za-z0-9_!.*'() &$=@;:+,?-]+$/;

const VALID_MIME_RULE = /^([a-zA-Z0-9\-+.]+)\/([a-zA-Z0-9\-+.]+)(;\s*charset=[a-zA-Z0-9\-]+)?$|\*$/;

/**
 * Upstream's key rule, plus one: a leading slash is refused. Upstream lets it through for old
 * clients, but storage-js strips it, and a key starting with "/" lists as an empty folder.
 */
export function isValidKey(key: string): boolean {
  return key.length > 0 &&
    !key.startsWith("/") &&
    VALID_OBJECT_KEY.test(key) &&
    !PATH_TRAVERSAL.test(key) &&
    new TextEncoder().encode(key).length <= MAX_OBJECT_KEY_BYTES;
}

export function mustBeValidKey(key: string): void {
  if (!isValidKey(key)) throw ERRORS.invalidKey(key);
}

export function mustBeValidBucketName(name: string): void {
  if (name.length === 0 || name.length > 100 || !VALID_BUCKET_NAME.test(name)) {
    throw ERRORS.invalidBucketName();
  }
}

/** Keys the Dashboard uses to keep an empty folder; upstream caps them at 0 bytes. */
export function isEmptyFolderPlaceholder(key: string): boolean {
  return key.endsWith(".emptyFolderPlaceholder");
}

/** Throws InvalidMimeType unless every rule is `type/subtype`, `type/*` or `*`. */
export function mustBeValidMimeRules(rules: readonly string[]): void {
  for (const rule of rules) {
    if (rule.length > 1000 || !VALID_MIME_RULE.test(rule)) throw ERRORS.invalidMimeType(rule);
  }
}

/**
 * Whether a bucket's `allowed_mime_types` admit `mimeType`: exact `type/subtype` or `type/*`.
 * Parameters (`;charset=...`) are ignored on both sides, so storage-js's default
 * `text/plain;charset=UTF-8` matches a `text/plain` rule.
 */
export function isAllowedMimeType(mimeType: string, allowed: readonly string[]): boolean {
  const [type, subtype] = stripParameters(mimeType).split("/");
  if (!type || !subtype) return false;
  return allowed.some((rule) => {
    if (rule === "*") return true;
    const [ruleType, ruleSubtype] = stripParameters(rule).split("/");
    return ruleType === type && (ruleSubtype === "*" || ruleSubtype === subtype);
  });
}

function stripParameters(mimeType: string): string {
  return (mimeType.split(";")[0] ?? "").trim().toLowerCase();
}

const SIZE_UNITS: Record<string, number> = { b: 1, kb: 1e3, mb: 1e6, gb: 1e9 };

/**
 * A bucket's file_size_limit: bytes as a number, or a string such as "20MB" (upstream's units,
 * decimal). Throws EntityTooLarge above the global limit, as upstream does.
 */
export function parseBucketSizeLimit(limit: number | string, globalLimit: number): number {
  let bytes: number;
  if (typeof limit === "number") {
    bytes = limit;
  } else {
    const match = /^([0-9]+(?:\.[0-9]+)?)(gb|mb|kb|b)$/i.exec(limit.trim());
    if (!match) {
      throw ERRORS.invalidRequest("Invalid file size format, hint: use 20GB / 20MB / 30KB / 3B");
    }
    bytes = Math.round(Number(match[1]) * SIZE_UNITS[match[2]!.toLowerCase()]!);
  }
  if (!Number.isSafeInteger(bytes) || bytes < 0) {
    throw ERRORS.invalidRequest("file_size_limit must be a whole number of bytes");
  }
  if (bytes > globalLimit) throw ERRORS.entityTooLarge();
  return bytes;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isUuid(value: string): boolean {
  return UUID.test(value);
}
