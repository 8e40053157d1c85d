/**
 * Request bodies and the checks GoTrue applies to them.
 *
 * Two layers, as in GoTrue: the zod schemas play the part of Go's json.Unmarshal into a params
 * struct (a body that is not JSON, or a field of the wrong type, is 400 `bad_json`), and the
 * validators below apply GoTrue's own rules and messages (400/422 `validation_failed`,
 * `weak_password`). Unknown fields are ignored, as Go ignores them.
 */
import { z } from "zod";
import { AuthError, badRequest } from "./errors.ts";

const JsonObject = z.record(z.string(), z.unknown());
/** A string field that may also be sent as null (Go reads both as ""). */
const Str = z.string().nullish().transform((v) => v ?? "");
const Obj = JsonObject.nullish().transform((v) => v ?? undefined);
const Bool = z.boolean().nullish().transform((v) => v ?? false);

export const SignupBody = z.object({
  email: Str,
  phone: Str,
  password: Str,
  data: Obj,
});
export type SignupBody = z.infer<typeof SignupBody>;

export const PasswordGrantBody = z.object({ email: Str, phone: Str, password: Str });
export type PasswordGrantBody = z.infer<typeof PasswordGrantBody>;

export const RefreshGrantBody = z.object({ refresh_token: Str });

export const UserUpdateBody = z.object({
  email: Str,
  phone: Str,
  password: z.string().nullish().transform((v) => v ?? undefined),
  data: Obj,
  app_metadata: Obj,
});
export type UserUpdateBody = z.infer<typeof UserUpdateBody>;

export const AdminUserBody = z.object({
  id: Str,
  aud: Str,
  role: Str,
  email: Str,
  phone: Str,
  password: z.string().nullish().transform((v) => v ?? undefined),
  password_hash: Str,
  email_confirm: Bool,
  phone_confirm: Bool,
  user_metadata: Obj,
  app_metadata: Obj,
  ban_duration: Str,
});
export type AdminUserBody = z.infer<typeof AdminUserBody>;

export const AdminDeleteBody = z.object({ should_soft_delete: Bool });

export const LogoutScope = z.enum(["global", "local", "others"]);
export type LogoutScope = z.infer<typeof LogoutScope>;

/** Parses a JSON body against a schema; GoTrue answers both failures with 400 bad_json. */
export function parseBody<S extends z.ZodType>(text: string, schema: S): z.infer<S> {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw badRequest(
      "bad_json",
      `Could not parse request body as JSON: ${
        text.trim() === "" ? "empty body" : (error as Error).message
      }`,
    );
  }
  checkStorable(raw);
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue && issue.path.length > 0 ? `"${issue.path.join(".")}": ` : "";
    throw badRequest(
      "bad_json",
      `Could not parse request body as JSON: ${where}${issue?.message ?? "invalid body"}`,
    );
  }
  return parsed.data;
}

/** How deeply a body may nest; Postgres refuses very deep jsonb, and no client needs it. */
const MAX_DEPTH = 64;

/**
 * Refuses what Postgres cannot store, so that it is a 400 and not a failed statement: a NUL
 * character or a lone UTF-16 surrogate in any string (text and jsonb cannot hold them) and
 * absurdly deep nesting.
 */
function checkStorable(value: unknown, depth = 0): void {
  if (depth > MAX_DEPTH) {
    throw badRequest("validation_failed", `Request body is nested deeper than ${MAX_DEPTH} levels`);
  }
  if (typeof value === "string") {
    if (value.includes("\0")) {
      throw badRequest("validation_failed", "Request body contains a NUL character (\\u0000)");
    }
    // Postgres text and jsonb cannot hold a lone UTF-16 surrogate (the statement would fail).
    if (!value.isWellFormed()) {
      throw badRequest("validation_failed", "Request body contains a lone UTF-16 surrogate");
    }
  } else if (Array.isArray(value)) {
    for (const item of value) checkStorable(item, depth + 1);
  } else if (typeof value === "object" && value !== null) {
    for (const [key, item] of Object.entries(value)) {
      checkStorable(key, depth + 1);
      checkStorable(item, depth + 1);
    }
  }
}

/** A query parameter headed for SQL: refused with 400 when it holds a NUL character. */
export function queryText(value: string | undefined, name: string): string {
  if (value?.includes("\0")) {
    throw badRequest("validation_failed", `Query parameter "${name}" contains a NUL character`);
  }
  return value ?? "";
}

// The format check of GoTrue's email library (checkmail.ValidateFormat), close enough: a local
// part without spaces, an @, and a domain of dot-separated labels.
const EMAIL =
  /^[a-zA-Z0-9.!#$%&'*+/=?^_`{|}~-]+@[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$/;

/** GoTrue's validateEmail: required, at most 255 characters, a valid format; lowercased. */
export function validateEmail(email: string): string {
  if (email === "") throw badRequest("validation_failed", "An email address is required");
  if (email.length > 255) throw badRequest("validation_failed", "An email address is too long");
  if (!EMAIL.test(email)) {
    throw badRequest("validation_failed", "Unable to validate email address: invalid format");
  }
  return email.toLowerCase();
}

/** GoTrue's validatePhone: E.164 digits, stored without the leading "+". */
export function validatePhone(phone: string): string {
  const digits = phone.replace(/[\s()+-]/g, "");
  if (!/^[1-9][0-9]{1,14}$/.test(digits)) {
    throw badRequest("validation_failed", "Invalid phone number format (E.164 required)");
  }
  return digits;
}

/** bcrypt reads only 72 bytes; GoTrue refuses longer passwords instead of truncating them. */
const MAX_PASSWORD_BYTES = 72;

/** GoTrue's checkPasswordStrength with the local settings (length only, as the CLI default). */
export function checkPasswordStrength(password: string, minimumLength: number): void {
  if (new TextEncoder().encode(password).length > MAX_PASSWORD_BYTES) {
    throw badRequest(
      "validation_failed",
      `Password cannot be longer than ${MAX_PASSWORD_BYTES} characters`,
    );
  }
  if ([...password].length < minimumLength) {
    throw new AuthError(
      422,
      "weak_password",
      `Password should be at least ${minimumLength} characters.`,
      { reasons: ["length"] },
    );
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isUuid(value: string): boolean {
  return UUID.test(value);
}

export const NIL_UUID = "00000000-0000-0000-0000-000000000000";

const DURATION_UNITS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  "\u00b5s": 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/**
 * A Go duration ("24h", "1h30m", "90s") in milliseconds, as admin `ban_duration` takes it;
 * "none" is 0 (lift the ban). Throws 400 validation_failed otherwise.
 */
export function parseBanDuration(text: string): number {
  if (text === "none") return 0;
  const invalid = () =>
    badRequest(
      "validation_failed",
      `invalid format for ban duration: time: invalid duration "${text}"`,
    );
  if (!/^(?:(?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|\u00b5s|ms|s|m|h))+$/.test(text)) throw invalid();
  let total = 0;
  for (const match of text.matchAll(/(\d+(?:\.\d*)?|\.\d+)(ns|us|\u00b5s|ms|s|m|h)/g)) {
    total += Number(match[1]) * DURATION_UNITS[match[2]!]!;
  }
  // Go durations are int64 nanoseconds (about 292 years); longer ones are invalid there too.
  if (!Number.isFinite(total) || total > 9_223_372_036_854) throw invalid();
  return total;
}

/** A bcrypt hash that pgcrypto's crypt() can check ($2a$, $2b$, $2x$ or $2y$, cost 4 to 31). */
export function isBcryptHash(hash: string): boolean {
  return /^\$2[abxy]\$(0[4-9]|[12][0-9]|3[01])\$[./A-Za-z0-9]{53}$/.test(hash);
}

/**
 * Merges a metadata patch as GoTrue's UpdateUserMetaData does: keys are set, a null value
 * deletes its key.
 */
export function mergeMetadata(
  current: Record<string, unknown> | null,
  patch: Record<string, unknown>,
): Record<string, unknown> {
  const merged = { ...(current ?? {}) };
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete merged[key];
    else merged[key] = value;
  }
  return merged;
}
