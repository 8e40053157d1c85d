/**
 * Phoenix frames as realtime-js 2.x writes and reads them.
 *
 * - vsn 1.0.0: JSON objects `{ join_ref, ref, topic, event, payload }`.
 * - vsn 2.0.0: JSON arrays `[join_ref, ref, topic, event, payload]`, and binary frames for
 *   user broadcasts the client pushes (kind 3: lengths of join_ref, ref, topic, user event and
 *   metadata, a payload encoding byte, those strings, then the payload as JSON or raw bytes).
 *   The server answers in JSON arrays, which the client decodes as well.
 */

export interface Message {
  join_ref: string | null;
  ref: string | null;
  topic: string;
  event: string;
  payload: unknown;
}

const USER_BROADCAST_PUSH = 3;
const JSON_ENCODING = 1;

export function encodeFrame(message: Message, vsn: "1.0.0" | "2.0.0"): string {
  if (vsn === "1.0.0") return JSON.stringify(message);
  return JSON.stringify([
    message.join_ref,
    message.ref,
    message.topic,
    message.event,
    message.payload,
  ]);
}

/** Decodes a client frame; null for frames this server does not understand. */
export function decodeFrame(data: unknown, vsn: "1.0.0" | "2.0.0"): Message | null {
  if (typeof data === "string") {
    const parsed = JSON.parse(data);
    if (Array.isArray(parsed)) {
      const [join_ref, ref, topic, event, payload] = parsed;
      if (typeof topic !== "string" || typeof event !== "string") return null;
      return { join_ref: join_ref ?? null, ref: ref ?? null, topic, event, payload };
    }
    if (vsn === "1.0.0" && parsed && typeof parsed === "object") {
      const m = parsed as Record<string, unknown>;
      if (typeof m.topic !== "string" || typeof m.event !== "string") return null;
      return {
        join_ref: (m.join_ref as string | null) ?? null,
        ref: (m.ref as string | null) ?? null,
        topic: m.topic,
        event: m.event,
        payload: m.payload,
      };
    }
    return null;
  }
  if (data instanceof ArrayBuffer) return decodeUserBroadcastPush(data);
  return null;
}

function decodeUserBroadcastPush(buffer: ArrayBuffer): Message | null {
  const view = new DataView(buffer);
  if (buffer.byteLength < 7 || view.getUint8(0) !== USER_BROADCAST_PUSH) return null;
  const lengths = [1, 2, 3, 4, 5].map((i) => view.getUint8(i));
  const encoding = view.getUint8(6);
  const decoder = new TextDecoder();
  let offset = 7;
  const [joinRef, ref, topic, userEvent, metadata] = lengths.map((length) => {
    const text = decoder.decode(buffer.slice(offset, offset + length!));
    offset += length!;
    return text;
  });
  const body = buffer.slice(offset);
  const payload = encoding === JSON_ENCODING ? JSON.parse(decoder.decode(body) || "null") : body;
  return {
    join_ref: joinRef || null,
    ref: ref || null,
    topic: topic!,
    event: "broadcast",
    payload: {
      type: "broadcast",
      event: userEvent,
      payload,
      ...(metadata ? JSON.parse(metadata) : {}),
    },
  };
}
