/**
 * The few Postgres protocol messages the local stack builds or reads in-process: a simple Query,
 * and a summary of a backend byte stream (command tags, errors, the last ReadyForQuery status).
 */

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A frontend Query ('Q') message. */
export function simpleQuery(sql: string): Uint8Array {
  const text = encoder.encode(sql + "\0");
  const message = new Uint8Array(5 + text.length);
  message[0] = 0x51;
  new DataView(message.buffer).setInt32(1, 4 + text.length);
  message.set(text, 5);
  return message;
}

export interface BackendError {
  severity: string;
  code: string;
  message: string;
  detail?: string;
  hint?: string;
}

export interface BackendSummary {
  /** CommandComplete tags, in order ("SELECT 1", "INSERT 0 2", "COMMIT", ...). */
  tags: string[];
  errors: BackendError[];
  /** The last ReadyForQuery status: 'I' idle, 'T' in a transaction, 'E' failed transaction. */
  status: "I" | "T" | "E" | null;
}

/** Reads the command tags, errors and transaction status out of backend bytes. */
export function summarize(out: Uint8Array): BackendSummary {
  const summary: BackendSummary = { tags: [], errors: [], status: null };
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  for (let at = 0; at + 5 <= out.length;) {
    const type = out[at];
    const length = view.getInt32(at + 1);
    const body = out.subarray(at + 5, at + 1 + length);
    if (type === 0x43) summary.tags.push(cstring(body));
    else if (type === 0x45) summary.errors.push(errorFields(body));
    else if (type === 0x5a) summary.status = String.fromCharCode(body[0]!) as "I" | "T" | "E";
    at += 1 + length;
  }
  return summary;
}

/** The CommandComplete tags in backend bytes. */
export function commandTags(out: Uint8Array): string[] {
  return summarize(out).tags;
}

function cstring(bytes: Uint8Array): string {
  const end = bytes.indexOf(0);
  return decoder.decode(end < 0 ? bytes : bytes.subarray(0, end));
}

function errorFields(body: Uint8Array): BackendError {
  const fields = new Map<string, string>();
  for (let at = 0; at < body.length && body[at] !== 0;) {
    const code = String.fromCharCode(body[at]!);
    const end = body.indexOf(0, at + 1);
    fields.set(code, decoder.decode(body.subarray(at + 1, end)));
    at = end + 1;
  }
  return {
    severity: fields.get("V") ?? fields.get("S") ?? "ERROR",
    code: fields.get("C") ?? "XX000",
    message: fields.get("M") ?? "unknown error",
    ...(fields.has("D") ? { detail: fields.get("D")! } : {}),
    ...(fields.has("H") ? { hint: fields.get("H")! } : {}),
  };
}
