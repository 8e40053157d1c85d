/**
 * Server-sent events for stream mode: every event is one `data:` line of JSON (JSON.stringify
 * escapes newlines, so an event never spans lines) followed by a blank line.
 */

const encoder = new TextEncoder();

/** One event's bytes: `data: <json>\n\n`. */
export function sseEvent(data: Record<string, unknown>): Uint8Array {
  return encoder.encode(`data: ${JSON.stringify(data)}\n\n`);
}

export interface EventSink {
  /** Sends one event; a no-op once the client has gone. */
  send(data: Record<string, unknown>): void;
  /** Aborted when the client disconnects (the stream is cancelled) or the request is aborted. */
  signal: AbortSignal;
}

/**
 * A byte stream that runs `produce` once read, sending its events and closing when it settles.
 * A client that disconnects cancels the stream: `signal` aborts so the producer can stop.
 */
export function eventStream(
  produce: (sink: EventSink) => Promise<void>,
  options: { signal?: AbortSignal } = {},
): ReadableStream<Uint8Array> {
  const controller = new AbortController();
  const onAbort = () => controller.abort(new DOMException("Client disconnected", "AbortError"));
  options.signal?.addEventListener("abort", onAbort, { once: true });
  let open = true;
  return new ReadableStream<Uint8Array>({
    start(stream) {
      const sink: EventSink = {
        send(data) {
          if (!open) return;
          try {
            stream.enqueue(sseEvent(data));
          } catch {
            open = false;
          }
        },
        signal: controller.signal,
      };
      // Not awaited: start() must return for the response to begin flowing.
      produce(sink).finally(() => {
        options.signal?.removeEventListener("abort", onAbort);
        if (!open) return;
        open = false;
        try {
          stream.close();
        } catch {
          // Already cancelled by the client.
        }
      });
    },
    cancel() {
      open = false;
      onAbort();
    },
  });
}
