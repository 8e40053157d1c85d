/**
 * Redaction: personal data and secrets replaced by typed placeholders before text is stored or
 * embedded, with a `{ type, count }` report per type. Pure; runs on cleaned text (sanitize.ts).
 *
 *   type          placeholder       what is matched
 *   private_key   [PRIVATE_KEY]     PEM blocks `-----BEGIN ... PRIVATE KEY-----` to their END line
 *                                   (or, cut off, through the base64 lines that follow)
 *   jwt           [JWT]             `eyJ<header>.eyJ<payload>.<signature>` (base64url)
 *   api_key       [API_KEY]         OpenAI `sk-...`, `sk-proj-...`, `sk-svcacct-...`, Anthropic
 *                                   `sk-ant-...`: 20+ key characters holding letters and digits
 *   aws_key       [AWS_KEY]         access key ids `AKIA|ASIA|ABIA|ACCA` + 16 upper-case
 *                                   alphanumerics; a 40-character secret after
 *                                   `aws_secret_access_key =`/`:`
 *   github_token  [GITHUB_TOKEN]    `ghp_ gho_ ghu_ ghs_ ghr_` + 36+ alphanumerics, `github_pat_...`
 *   slack_token   [SLACK_TOKEN]     `xoxa- xoxb- xoxp- xoxr- xoxs- xoxe-` tokens
 *   iban          [IBAN]            country code, check digits and BBAN (spaces allowed) of the
 *                                   country's registered length that pass mod-97 (ibantools)
 *   card          [CARD]            13-19 digits (single spaces or dashes between), first digit 2-6
 *                                   (the card networks' ranges), passing the Luhn check
 *   ssn           [SSN]             US SSNs written `AAA-GG-SSSS` or `AAA GG SSSS` with a valid
 *                                   area (not 000, 666, 900-999), group (not 00), serial (not 0000);
 *                                   nine bare digits only right after `SSN` / `social security no.`
 *   email         [EMAIL]           `local@domain.tld`: a dotted domain ending in a 2+ letter TLD,
 *                                   letters of any script (internationalised addresses too)
 *   phone         [PHONE]           numbers libphonenumber-js (full metadata) finds and deems
 *                                   valid for the default region (or international with `+`)
 *
 * Deliberately kept (documented near misses): a card number failing Luhn; an IBAN with a wrong
 * check digit; `user@localhost`, `a@b`, `@decorator`, `pkg@1.2.3`, `icon@2x.png` (no real TLD or an
 * image file name), so code survives; a phone-like digit run with no `+`, no separators and no
 * phone word before it, or one after `#` or `order`/`invoice`/`ref`/... (an order number); an
 * unformatted nine-digit run as SSN unless labelled so.
 *
 * Detectors run in the table's order on the text left by the previous ones; placeholders hold no
 * digits or `@`, so nothing is counted twice.
 */
import { findPhoneNumbersInText } from "libphonenumber-js/max";
import type { CountryCode } from "libphonenumber-js/max";
import { getCountrySpecifications, isValidIBAN } from "ibantools";

export const REDACTION_TYPES = [
  "private_key",
  "jwt",
  "api_key",
  "aws_key",
  "github_token",
  "slack_token",
  "iban",
  "card",
  "ssn",
  "email",
  "phone",
] as const;

export type RedactionType = (typeof REDACTION_TYPES)[number];

/** How many of one type were replaced. */
export interface Redaction {
  type: RedactionType;
  count: number;
}

export interface RedactOptions {
  /** false: nothing is redacted (an organization's setting). Default true. */
  enabled?: boolean;
  /** The types to redact; default all of REDACTION_TYPES. */
  types?: readonly RedactionType[];
  /** ISO 3166 region for phone numbers written without `+` (default "US"). */
  phoneRegion?: string;
}

export interface Redacted {
  text: string;
  /** One entry per type found, in REDACTION_TYPES order; empty when nothing was replaced. */
  redactions: Redaction[];
}

/** The placeholder a type is replaced with, e.g. `[EMAIL]`. */
export function placeholder(type: RedactionType): string {
  return `[${type.toUpperCase()}]`;
}

/** Replaces what the options select; see this module's header for what each type matches. */
export function redact(text: string, options: RedactOptions = {}): Redacted {
  if (options.enabled === false) return { text, redactions: [] };
  const selected = new Set(options.types ?? REDACTION_TYPES);
  const region = (options.phoneRegion ?? "US").toUpperCase() as CountryCode;
  const redactions: Redaction[] = [];
  let out = text;
  for (const type of REDACTION_TYPES) {
    if (!selected.has(type)) continue;
    const { text: next, count } = DETECTORS[type](out, region);
    if (count > 0) redactions.push({ type, count });
    out = next;
  }
  return { text: out, redactions };
}

type Detector = (text: string, region: CountryCode) => { text: string; count: number };

const DETECTORS: Record<RedactionType, Detector> = {
  private_key: (text) => replaceAll(text, PRIVATE_KEY, "private_key"),
  jwt: (text) => replaceAll(text, JWT, "jwt"),
  api_key: (text) =>
    replaceAll(text, API_KEY, "api_key", (m) => /\d/.test(m) && /[A-Za-z]/.test(m)),
  aws_key: (text) => {
    const ids = replaceAll(text, AWS_ACCESS_KEY_ID, "aws_key");
    let count = ids.count;
    const secrets = ids.text.replace(AWS_SECRET, (_m, prefix: string) => {
      count++;
      return prefix + placeholder("aws_key");
    });
    return { text: secrets, count };
  },
  github_token: (text) => replaceAll(text, GITHUB_TOKEN, "github_token"),
  slack_token: (text) => replaceAll(text, SLACK_TOKEN, "slack_token"),
  iban: redactIbans,
  card: (text) => replaceAll(text, CARD, "card", (m) => isCardNumber(m.replace(/[ -]/g, ""))),
  ssn: (text) => {
    const written = replaceAll(text, SSN, "ssn");
    let count = written.count;
    const labelled = written.text.replace(LABELLED_SSN, (_m, label: string) => {
      count++;
      return label + placeholder("ssn");
    });
    return { text: labelled, count };
  },
  email: (text) => replaceAll(text, EMAIL, "email", (m) => !NOT_A_TLD.has(tldOf(m))),
  phone: redactPhones,
};

const PRIVATE_KEY =
  /-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----(?:[\s\S]*?-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----|(?:\n[A-Za-z-]+:[^\n]*)*(?:\n[A-Za-z0-9+/=]{16,})*(?:\n[A-Za-z0-9+/]*={1,2})?)/g;
const JWT = /\beyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{10,}/g;
const API_KEY = /(?<![A-Za-z0-9_-])sk-(?:ant-|proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}/g;
const AWS_ACCESS_KEY_ID = /\b(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}\b/g;
const AWS_SECRET =
  /(aws_secret_access_key["']?\s*[:=]\s*["']?)[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+])/gi;
const GITHUB_TOKEN = /\b(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255})\b/g;
const SLACK_TOKEN = /\bxox[abpsre]-[A-Za-z0-9-]{10,}/g;
const CARD = /(?<![\d-])[2-6](?:[ -]?\d){12,18}(?![\d-])/g;
const SSN = /(?<![\d-])(?!000|666|9\d\d)\d{3}([- ])(?!00)\d{2}\1(?!0000)\d{4}(?![\d-])/g;
const LABELLED_SSN =
  /(\b(?:SSN|social\s+security(?:\s+(?:number|no\.?|#))?)\s*(?:#|:|is|=)?\s*)(?!000|666|9\d\d)\d{3}(?!00)\d{2}(?!0000)\d{4}(?!\d)/gi;
// Letters and digits of any script (internationalised addresses and domains), ASCII punctuation.
const EMAIL =
  /(?<![\p{L}\p{N}\p{M}_.%+-])[\p{L}\p{N}](?:[\p{L}\p{N}\p{M}._%+-]{0,62}[\p{L}\p{N}\p{M}_%+-])?@(?:[\p{L}\p{N}](?:[\p{L}\p{N}\p{M}-]{0,61}[\p{L}\p{N}\p{M}])?\.)+\p{L}[\p{L}\p{M}]{1,62}(?![\p{L}\p{N}\p{M}_-])/gu;
/** File extensions that follow `@` in asset names (`icon@2x.png`) and are no top-level domain. */
const NOT_A_TLD = new Set([
  "png",
  "jpg",
  "jpeg",
  "gif",
  "svg",
  "webp",
  "avif",
  "bmp",
  "ico",
  "tif",
  "tiff",
  "heic",
]);
const IBAN_CANDIDATE = /\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]){10,32}\b/g;
const PHONE_WORD = /\b(?:phone|tel|telephone|call|mobile|cell|fax|whatsapp|sms|text|ring|reach)\b/i;
const ID_WORD =
  /(?:#|\b(?:order|invoice|ref|reference|ticket|tracking|account|acct|id|no|nr|po|sku)\b\.?:?)\s*$/i;

function replaceAll(
  text: string,
  pattern: RegExp,
  type: RedactionType,
  accept: (match: string) => boolean = () => true,
): { text: string; count: number } {
  let count = 0;
  const out = text.replace(pattern, (match) => {
    if (!accept(match)) return match;
    count++;
    return placeholder(type);
  });
  return { text: out, count };
}

/** Luhn check plus the networks' lengths: 13-19 digits. */
export function isCardNumber(digits: string): boolean {
  if (!/^\d{13,19}$/.test(digits)) return false;
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}

function tldOf(email: string): string {
  return email.slice(email.lastIndexOf(".") + 1).toLowerCase();
}

/**
 * A candidate may run on into the next words (`DE89 3704 ... 00 AB12`): only the country's
 * registered length is taken from its start and checked with mod-97.
 */
function redactIbans(text: string): { text: string; count: number } {
  const specs = getCountrySpecifications();
  let count = 0;
  const out = text.replace(IBAN_CANDIDATE, (match) => {
    const length = specs[match.slice(0, 2)]?.chars;
    if (!length) return match;
    let taken = 0;
    let end = 0;
    while (end < match.length && taken < length) {
      if (match[end] !== " ") taken++;
      end++;
    }
    if (taken < length) return match;
    const iban = match.slice(0, end).replaceAll(" ", "");
    const rest = match.slice(end);
    // The IBAN must end at a group boundary, not in the middle of a longer token.
    if (rest !== "" && !rest.startsWith(" ")) return match;
    if (!isValidIBAN(iban)) return match;
    count++;
    return placeholder("iban") + rest;
  });
  return { text: out, count };
}

/**
 * libphonenumber-js finds valid numbers; a bare digit run (no `+`, no separators) counts only after
 * a phone word and never after `#` or an id word, so order and invoice numbers stay.
 */
function redactPhones(text: string, region: CountryCode): { text: string; count: number } {
  let found;
  try {
    found = findPhoneNumbersInText(text, { defaultCountry: region });
  } catch {
    found = findPhoneNumbersInText(text, { defaultCountry: "US" });
  }
  const spans = found.filter((m) => {
    const raw = text.slice(m.startsAt, m.endsAt);
    const before = text.slice(Math.max(0, m.startsAt - 40), m.startsAt);
    if (ID_WORD.test(before)) return false;
    if (raw.startsWith("+") || /[\s().-]/.test(raw)) return true;
    return PHONE_WORD.test(before);
  });
  let out = text;
  for (const m of spans.reverse()) {
    out = out.slice(0, m.startsAt) + placeholder("phone") + out.slice(m.endsAt);
  }
  return { text: out, count: spans.length };
}
