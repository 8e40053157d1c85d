import assert from "node:assert/strict";
import { AppError } from "../../supabase/functions/_shared/errors.ts";
import {
  canonicalJson,
  idempotencyKey,
  requestHash,
} from "../../supabase/functions/_shared/idempotency.ts";
import { ExecuteAgentRequest } from "../../supabase/functions/execute-agent/schema.ts";
import { eventStream, sseEvent } from "../../supabase/functions/execute-agent/sse.ts";

const AGENT = "20000000-0000-4000-8000-000000000001";

Deno.test("requestHash() is the same for the same body in any key order, different otherwise", async () => {
  const a = await requestHash({
    agent_id: AGENT,
    input: "hi",
    options: { knowledge: true, max_sections: 5 },
  });
  const b = await requestHash({
    options: { max_sections: 5, knowledge: true },
    input: "hi",
    agent_id: AGENT,
  });
  const c = await requestHash({
    agent_id: AGENT,
    input: "hi!",
    options: { knowledge: true, max_sections: 5 },
  });
  assert.match(a, /^[0-9a-f]{64}$/);
  assert.equal(a, b);
  assert.notEqual(a, c);
  assert.equal(canonicalJson({ b: 1, a: [{ d: 1, c: undefined }] }), '{"a":[{"d":1}],"b":1}');
});

Deno.test("requestHash() of parsed requests treats an omitted default like its explicit value", async () => {
  const implicit = ExecuteAgentRequest.parse({ agent_id: AGENT, input: "hi" });
  const explicit = ExecuteAgentRequest.parse({
    agent_id: AGENT,
    input: "hi",
    mode: "sync",
    options: { knowledge: true, max_sections: 5 },
  });
  assert.equal(await requestHash(implicit), await requestHash(explicit));
  const other = ExecuteAgentRequest.parse({ agent_id: AGENT, input: "hi", mode: "async" });
  assert.notEqual(await requestHash(implicit), await requestHash(other));
});

Deno.test("idempotencyKey() accepts printable ASCII up to 200 characters and refuses the rest", () => {
  assert.equal(idempotencyKey(undefined), null);
  assert.equal(idempotencyKey(" order-42 "), "order-42");
  assert.equal(idempotencyKey("k".repeat(200)), "k".repeat(200));
  for (const bad of ["", "k".repeat(201), "two words", "cl\u00e9"]) {
    assert.throws(
      () => idempotencyKey(bad),
      (e) => e instanceof AppError && e.code === "invalid_request",
      JSON.stringify(bad),
    );
  }
});

Deno.test("ExecuteAgentRequest refuses wrong types, bad uuids, unknown fields and bad options", () => {
  const bad = [
    {},
    { agent_id: "nope", input: "hi" },
    { agent_id: AGENT, input: 42 },
    { agent_id: AGENT, input: "hi", mode: "later" },
    { agent_id: AGENT, input: "hi", conversation_id: "x" },
    { agent_id: AGENT, input: "hi", options: { max_sections: 0 } },
    { agent_id: AGENT, input: "hi", options: { max_sections: 2.5 } },
    { agent_id: AGENT, input: "hi", extra: true },
  ];
  for (const body of bad) {
    assert.equal(ExecuteAgentRequest.safeParse(body).success, false, JSON.stringify(body));
  }
  assert.deepEqual(ExecuteAgentRequest.parse({ agent_id: AGENT, input: "hi" }), {
    agent_id: AGENT,
    input: "hi",
    mode: "sync",
    options: { knowledge: true, max_sections: 5 },
  });
});

Deno.test("sseEvent() frames one JSON object as a single data line and a blank line", () => {
  const text = new TextDecoder().decode(sseEvent({ type: "delta", text: "two\nlines" }));
  assert.equal(text, 'data: {"type":"delta","text":"two\\nlines"}\n\n');
});

async function readAll(stream: ReadableStream<Uint8Array>): Promise<string> {
  return await new Response(stream).text();
}

Deno.test("eventStream() sends the producer's events in order and closes when it settles", async () => {
  const stream = eventStream(async (sink) => {
    sink.send({ type: "delta", text: "a" });
    await Promise.resolve();
    sink.send({ type: "done" });
  });
  assert.equal(
    await readAll(stream),
    'data: {"type":"delta","text":"a"}\n\ndata: {"type":"done"}\n\n',
  );
});

Deno.test("eventStream() aborts the producer's signal when the client cancels the stream", async () => {
  let aborted: Promise<void> = Promise.resolve();
  const stream = eventStream((sink) => {
    aborted = new Promise((resolve) => sink.signal.addEventListener("abort", () => resolve()));
    sink.send({ type: "delta", text: "first" });
    return aborted.then(() => sink.send({ type: "late" })); // dropped, not thrown
  });
  const reader = stream.getReader();
  const first = await reader.read();
  assert.match(new TextDecoder().decode(first.value), /first/);
  await reader.cancel();
  await aborted;
});

Deno.test("eventStream() aborts when the request's signal does", async () => {
  const request = new AbortController();
  let sawAbort = false;
  const stream = eventStream(async (sink) => {
    request.abort();
    await Promise.resolve();
    sawAbort = sink.signal.aborted;
  }, { signal: request.signal });
  await readAll(stream);
  assert.equal(sawAbort, true);
});
