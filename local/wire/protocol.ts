/**
 * Postgres wire-protocol (v3) framing, decoding and encoding for the local wire server: only what
 * the server itself needs to read or write. Everything else passes through as bytes to PGlite,
 * which speaks the backend half of the protocol.
 *
 * Reference: https://www.postgresql.org/docs/current/protocol-message-formats.html
 */

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Request codes that take the place of a protocol version in the first packet. */
export const SSL_REQUEST_CODE = 80877103;
export const GSSENC_REQUEST_CODE = 80877104;
export const CANCEL_REQUEST_CODE = 80877102;
export const PROTOCOL_3_0 = 196608;

/** Postgres refuses startup packets longer than this (MAX_STARTUP_PACKET_LENGTH). */
export const MAX_STARTUP_PACKET_LENGTH = 10_000;
/** Postgres's own ceiling for a single message (PQ_LARGE_MESSAGE_LIMIT). */
export const MAX_MESSAGE_LENGTH = 0x3fffffff;

/** A complete typed message: its type byte and the whole message (type + length + body). */
export interface Message {
  type: string;
  bytes: Uint8Array;
}

/** The first packet of a connection, which has a length but no type byte. */
export type StartupPacket =
  | { kind: "ssl" }
  | { kind: "gssenc" }
  | { kind: "cancel" }
  | {
    kind: "startup";
    major: number;
    minor: number;
    parameters: Map<string, string>;
  };

export class ProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ProtocolError";
  }
}

/**
 * A growable byte buffer that cuts a TCP byte stream into protocol messages: a message may arrive
 * split across chunks, and a chunk may hold several messages.
 */
export class MessageBuffer {
  #bytes = new Uint8Array(8192);
  #start = 0;
  #end = 0;

  /** Bytes received and not yet taken. */
  get length(): number {
    return this.#end - this.#start;
  }

  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    this.#reserve(chunk.length);
    this.#bytes.set(chunk, this.#end);
    this.#end += chunk.length;
  }

  /** Takes the next startup-phase packet (length-prefixed, no type byte), or null if incomplete. */
  takeStartupPacket(): Uint8Array | null {
    if (this.length < 4) return null;
    const length = this.#int32(this.#start);
    if (length < 8 || length > MAX_STARTUP_PACKET_LENGTH) {
      throw new ProtocolError(`Invalid startup packet length: ${length}`);
    }
    return this.#take(length);
  }

  /** Takes the next typed message, or null if it has not fully arrived. */
  takeMessage(): Message | null {
    if (this.length < 5) return null;
    const length = this.#int32(this.#start + 1);
    if (length < 4 || length > MAX_MESSAGE_LENGTH) {
      throw new ProtocolError(`Invalid message length: ${length}`);
    }
    const bytes = this.#take(1 + length);
    return bytes && { type: String.fromCharCode(bytes[0]!), bytes };
  }

  /** Returns a copy of the next `size` bytes and consumes them, or null if fewer are buffered. */
  #take(size: number): Uint8Array | null {
    if (this.length < size) return null;
    const out = this.#bytes.slice(this.#start, this.#start + size);
    this.#start += size;
    if (this.#start === this.#end) this.#start = this.#end = 0;
    return out;
  }

  #int32(at: number): number {
    const b = this.#bytes;
    return ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;
  }

  /** Makes room for `extra` bytes after the end: compacts first, grows when that is not enough. */
  #reserve(extra: number): void {
    if (this.#end + extra <= this.#bytes.length) return;
    const used = this.length;
    if (used + extra <= this.#bytes.length && this.#start > 0) {
      this.#bytes.copyWithin(0, this.#start, this.#end);
    } else {
      let size = this.#bytes.length;
      while (size < used + extra) size *= 2;
      const grown = new Uint8Array(size);
      grown.set(this.#bytes.subarray(this.#start, this.#end));
      this.#bytes = grown;
    }
    this.#start = 0;
    this.#end = used;
  }
}

/** Decodes the first packet of a connection (SSLRequest, GSSENCRequest, CancelRequest, Startup). */
export function parseStartupPacket(packet: Uint8Array): StartupPacket {
  const view = viewOf(packet);
  const code = view.getInt32(4);
  if (code === SSL_REQUEST_CODE) return { kind: "ssl" };
  if (code === GSSENC_REQUEST_CODE) return { kind: "gssenc" };
  if (code === CANCEL_REQUEST_CODE) return { kind: "cancel" };
  const parameters = new Map<string, string>();
  let at = 8;
  while (at < packet.length && packet[at] !== 0) {
    const name = readCString(packet, at);
    const value = readCString(packet, name.end);
    parameters.set(decoder.decode(name.bytes), decoder.decode(value.bytes));
    at = value.end;
  }
  return { kind: "startup", major: code >>> 16, minor: code & 0xffff, parameters };
}

/** A NUL-terminated string inside a message: its bytes and the offset just after the NUL. */
export function readCString(bytes: Uint8Array, at: number): { bytes: Uint8Array; end: number } {
  const nul = bytes.indexOf(0, at);
  if (nul < 0) throw new ProtocolError("Unterminated string in message");
  return { bytes: bytes.subarray(at, nul), end: nul + 1 };
}

/** The text of a Query ('Q') message or the statement text of a Parse ('P') message. */
export function sqlTextOf(message: Message): string {
  const body = message.bytes.subarray(5);
  if (message.type === "Q") return decoder.decode(readCString(body, 0).bytes);
  if (message.type === "P") {
    const name = readCString(body, 0);
    return decoder.decode(readCString(body, name.end).bytes);
  }
  throw new ProtocolError(`Message '${message.type}' carries no SQL text`);
}

/** The password of a PasswordMessage ('p'). */
export function passwordOf(message: Message): string {
  return decoder.decode(readCString(message.bytes.subarray(5), 0).bytes);
}

/** A statement or portal name found in an extended-protocol message, after renaming. */
export interface NamedObject {
  kind: "statement" | "portal";
  name: string;
}

/**
 * Prefixes every non-empty statement and portal name in a Parse, Bind, Describe, Close or Execute
 * message, so that clients sharing one backend session never see each other's objects. The empty
 * (unnamed) statement and portal are left alone: their use never spans two frames of different
 * clients, because a client holds the session until its exchange reaches Sync.
 * Returns the message (the same bytes if nothing was renamed) and the names it mentions.
 */
export function prefixNames(
  message: Message,
  prefix: string,
): { message: Message; names: NamedObject[] } {
  const body = message.bytes.subarray(5);
  const slots = nameSlots(message.type, body);
  if (slots.length === 0) return { message, names: [] };
  const parts: Uint8Array[] = [];
  const names: NamedObject[] = [];
  let copied = 0;
  const prefixBytes = encoder.encode(prefix);
  for (const slot of slots) {
    if (slot.start === slot.end) continue; // unnamed: keep as is
    parts.push(body.subarray(copied, slot.start), prefixBytes);
    copied = slot.start;
    names.push({
      kind: slot.kind,
      name: prefix + decoder.decode(body.subarray(slot.start, slot.end)),
    });
  }
  if (names.length === 0) return { message, names };
  parts.push(body.subarray(copied));
  return { message: { type: message.type, bytes: frontendMessage(message.type, ...parts) }, names };
}

interface NameSlot {
  kind: "statement" | "portal";
  start: number;
  end: number;
}

/** Where the statement and portal names of an extended-protocol message lie in its body. */
function nameSlots(type: string, body: Uint8Array): NameSlot[] {
  const slot = (kind: NameSlot["kind"], at: number): NameSlot => {
    const text = readCString(body, at);
    return { kind, start: at, end: text.end - 1 };
  };
  switch (type) {
    case "P":
      return [slot("statement", 0)];
    case "B": {
      const portal = slot("portal", 0);
      return [portal, slot("statement", portal.end + 1)];
    }
    case "D":
    case "C":
      return [slot(body[0] === 0x50 ? "portal" : "statement", 1)];
    case "E":
      return [slot("portal", 0)];
    default:
      return [];
  }
}

/** A Parse message with its statement text replaced; name and parameter types are kept. */
export function replaceParseText(parse: Message, sql: string): Message {
  const body = parse.bytes.subarray(5);
  const name = readCString(body, 0);
  const text = readCString(body, name.end);
  const bytes = frontendMessage(
    "P",
    body.subarray(0, name.end),
    cstring(sql),
    body.subarray(text.end),
  );
  return { type: "P", bytes };
}

/** A simple Query message (the in-process stack builds the same one). */
export { simpleQuery as queryMessage } from "../postgres/messages.ts";

/** Builds a frontend-style message (type byte, length, body parts); used for tests and Close. */
export function frontendMessage(type: string, ...parts: Uint8Array[]): Uint8Array {
  return message(type, parts);
}

/** The Close message for a named prepared statement, followed by nothing (add a Sync). */
export function closeStatement(name: string): Uint8Array {
  return message("C", [Uint8Array.of(0x53), cstring(name)]);
}

export function syncMessage(): Uint8Array {
  return message("S", []);
}

// ---- Backend messages the server writes itself ----------------------------------------------

export function authenticationCleartextPassword(): Uint8Array {
  return message("R", [int32(3)]);
}

export function authenticationOk(): Uint8Array {
  return message("R", [int32(0)]);
}

export function parameterStatus(name: string, value: string): Uint8Array {
  return message("S", [cstring(name), cstring(value)]);
}

export function backendKeyData(processId: number, secretKey: number): Uint8Array {
  return message("K", [int32(processId), int32(secretKey)]);
}

export function readyForQuery(status: TransactionStatus): Uint8Array {
  return message("Z", [encoder.encode(status)]);
}

/** Tells a client asking for a newer 3.x minor version or `_pq_.` options what 3.0 supports. */
export function negotiateProtocolVersion(unsupportedOptions: readonly string[]): Uint8Array {
  return message("v", [
    int32(0),
    int32(unsupportedOptions.length),
    ...unsupportedOptions.map(cstring),
  ]);
}

/** CopyInResponse: `format` 0 is text, 1 is binary. Column formats are not known in advance. */
export function copyInResponse(format: 0 | 1): Uint8Array {
  return message("G", [Uint8Array.of(format), int16(0)]);
}

export interface ErrorFields {
  severity: "ERROR" | "FATAL";
  code: string;
  message: string;
}

export function errorResponse(fields: ErrorFields): Uint8Array {
  return message("E", [
    encoder.encode("S"),
    cstring(fields.severity),
    encoder.encode("V"),
    cstring(fields.severity),
    encoder.encode("C"),
    cstring(fields.code),
    encoder.encode("M"),
    cstring(fields.message),
    Uint8Array.of(0),
  ]);
}

/** The single-byte SSL/GSSAPI refusal (not a typed message). */
export function refuseEncryption(): Uint8Array {
  return encoder.encode("N");
}

// ---- Reading backend output -----------------------------------------------------------------

/** ReadyForQuery's transaction status: idle, in a transaction, in a failed transaction. */
export type TransactionStatus = "I" | "T" | "E";

export interface BackendScan {
  /** The output without the message types asked to be dropped. */
  bytes: Uint8Array;
  /**
   * The status of the ReadyForQuery that ends the output, or null when the output does not end
   * with one (a Flush, or an exchange the backend is still in the middle of).
   */
  ready: TransactionStatus | null;
  /** The CommandComplete tags seen, in order. */
  tags: string[];
}

/** Messages the backend may send at any time; they do not end or continue an exchange. */
const ASYNC_TYPES: ReadonlySet<string> = new Set(["A", "N", "S"]);

/**
 * Walks a backend byte stream: drops messages of the given types, collects command tags and reads
 * the status of a trailing ReadyForQuery.
 */
export function scanBackend(out: Uint8Array, drop: ReadonlySet<string> = new Set()): BackendScan {
  const view = viewOf(out);
  const kept: Uint8Array[] = [];
  const tags: string[] = [];
  let ready: TransactionStatus | null = null;
  let keepFrom = 0;
  let at = 0;
  while (at + 5 <= out.length) {
    const type = String.fromCharCode(out[at]!);
    const end = at + 1 + view.getInt32(at + 1);
    if (end > out.length) throw new ProtocolError("Truncated backend message");
    if (type === "Z") ready = String.fromCharCode(out[at + 5]!) as TransactionStatus;
    else if (!ASYNC_TYPES.has(type)) ready = null;
    if (type === "C") tags.push(decoder.decode(out.subarray(at + 5, end - 1)));
    if (drop.has(type)) {
      kept.push(out.subarray(keepFrom, at));
      keepFrom = end;
    }
    at = end;
  }
  if (keepFrom === 0) return { bytes: out, ready, tags };
  kept.push(out.subarray(keepFrom));
  return { bytes: concatBytes(kept), ready, tags };
}

export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  let size = 0;
  for (const part of parts) size += part.length;
  const out = new Uint8Array(size);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

// ---- Encoding helpers -----------------------------------------------------------------------

function message(type: string, parts: readonly Uint8Array[]): Uint8Array {
  let size = 0;
  for (const part of parts) size += part.length;
  const out = new Uint8Array(5 + size);
  out[0] = type.charCodeAt(0);
  new DataView(out.buffer).setInt32(1, 4 + size);
  let at = 5;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

function cstring(text: string): Uint8Array {
  return encoder.encode(text + "\0");
}

function int32(value: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setInt32(0, value);
  return out;
}

function int16(value: number): Uint8Array {
  const out = new Uint8Array(2);
  new DataView(out.buffer).setInt16(0, value);
  return out;
}

function viewOf(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
