/**
 * The typed client's handling of what a function (or the gateway in front of it) can answer,
 * against a real HTTP server playing execute-agent and friends, through functions-js as client
 * apps use it: stream events, a stream that stops early on either side, Retry-After, the
 * gateway's own error bodies, relay errors and a server that is not there.
 * The end-to-end tests (tests/e2e/*) exercise the client against the real functions.
 */
import assert from "node:assert/strict";
import { FunctionsClient } from "@supabase/functions-js";
import { AgentBackendError, createAgentClient } from "../../shared/mod.ts";

const AGENT = "20000000-0000-4000-8000-000000000001";
const EXECUTION = "40000000-0000-4000-8000-000000000001";
const DONE = {
  type: "done",
  execution_id: EXECUTION,
  conversation_id: "50000000-0000-4000-8000-000000000001",
  message_id: "60000000-0000-4000-8000-000000000001",
  status: "completed",
  output: "Two years.",
  model: "local-test",
  usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 },
  latency_ms: 7,
  sources: [],
};

const encoder = new TextEncoder();
const sse = (event: unknown) => encoder.encode(`data: ${JSON.stringify(event)}\n\n`);

/** What the fake function answers, chosen by the request's `input` (or path). */
function serve(onStreamCancelled: () => void) {
  // An Idempotency-Key's run that is still going for the first answers and polls.
  let replays = 0;
  let polls = 0;
  return Deno.serve({ port: 0, hostname: "127.0.0.1", onListen: () => {} }, async (request) => {
    const url = new URL(request.url);
    const body = request.method === "POST" ? await request.json() : {};
    const events = { "content-type": "text/event-stream" };
    switch (body.input ?? url.pathname) {
      case "replay": {
        assert.equal(request.headers.get("idempotency-key"), "key-1");
        if (replays++ % 2 === 0) {
          polls = 0;
          return Response.json({
            execution_id: EXECUTION,
            conversation_id: DONE.conversation_id,
            status: "running",
          }, { status: 202 });
        }
        const { type: _, ...answer } = DONE;
        return body.mode === "stream"
          ? new Response(sse(DONE), { headers: events })
          : Response.json(answer);
      }
      case `/execute-agent/executions/${EXECUTION}`:
        return Response.json({
          ...DONE,
          agent_id: AGENT,
          status: ++polls < 2 ? "running" : "completed",
          error: null,
          created_at: new Date().toISOString(),
          started_at: null,
          completed_at: null,
        });
      case "answer":
        return new Response(
          new ReadableStream({
            start(controller) {
              controller.enqueue(sse({ type: "delta", text: "Two " }));
              // One event split across chunks, CRLF framing.
              const done = `data: ${JSON.stringify(DONE)}\r\n\r\n`;
              controller.enqueue(encoder.encode(done.slice(0, 20)));
              controller.enqueue(encoder.encode(done.slice(20)));
              controller.close();
            },
          }),
          { headers: events },
        );
      case "endless":
        // Deltas until the client goes away.
        return new Response(
          new ReadableStream({
            async pull(controller) {
              controller.enqueue(sse({ type: "delta", text: "more " }));
              await new Promise((r) => setTimeout(r, 20));
            },
            cancel: onStreamCancelled,
          }),
          { headers: events },
        );
      case "cut":
        return new Response(
          new ReadableStream({
            start(controller) {
              controller.enqueue(sse({ type: "delta", text: "Two" }));
              controller.close();
            },
          }),
          { headers: { ...events, "x-request-id": "req-cut" } },
        );
      case "fails":
        return new Response(
          new ReadableStream({
            start(controller) {
              controller.enqueue(sse({ type: "delta", text: "Two" }));
              controller.enqueue(sse({
                type: "error",
                error: { code: "upstream_timeout", message: "The model took too long" },
                request_id: "req-stream",
              }));
              controller.close();
            },
          }),
          { headers: events },
        );
      case "limited":
        return Response.json({
          error: {
            code: "rate_limited",
            message: 'Rate limit of bucket "execute-agent" reached',
            details: { retry_after_seconds: 42 },
          },
          request_id: "req-429",
        }, { status: 429, headers: { "retry-after": "42" } });
      case "relay":
        return new Response("relay failure", { status: 502, headers: { "x-relay-error": "true" } });
      case "/gateway/whoami":
        return Response.json({ code: 401, message: "Invalid JWT" }, {
          status: 401,
          headers: { "x-request-id": "req-gw" },
        });
      case "/html/whoami":
        return new Response("<h1>Bad gateway</h1>", { status: 502 });
      default:
        return Response.json({ error: { code: "not_found", message: "?" } }, { status: 404 });
    }
  });
}

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

Deno.test("the typed client on what functions and gateways answer", async (t) => {
  let cancelled!: () => void;
  const streamCancelled = new Promise<void>((resolve) => cancelled = resolve);
  const server = serve(() => cancelled());
  const base = `http://127.0.0.1:${server.addr.port}`;
  const agents = createAgentClient({ functions: new FunctionsClient(base) });
  try {
    await t.step("a stream yields deltas and done, whatever the chunking", async () => {
      const events = await collect(agents.streamAgent({ agent_id: AGENT, input: "answer" }));
      assert.deepEqual(events, [{ type: "delta", text: "Two " }, DONE]);
    });

    await t.step("leaving a stream early closes the connection", async () => {
      let deltas = 0;
      for await (const event of agents.streamAgent({ agent_id: AGENT, input: "endless" })) {
        if (event.type === "delta" && ++deltas === 3) break;
      }
      assert.equal(deltas, 3);
      // The server's stream is cancelled: the function sees a disconnect.
      let timer: ReturnType<typeof setTimeout> | undefined;
      const seen = await Promise.race([
        streamCancelled.then(() => true),
        new Promise<false>((r) => timer = setTimeout(() => r(false), 10_000)),
      ]);
      clearTimeout(timer);
      assert.ok(seen, "the server's stream was cancelled");
    });

    await t.step("a stream that ends without done is an error, not an answer", async () => {
      const seen: string[] = [];
      const error = await collect(
        (async function* () {
          for await (const e of agents.streamAgent({ agent_id: AGENT, input: "cut" })) {
            seen.push(e.type);
            yield e;
          }
        })(),
      ).catch((e) => e);
      assert.deepEqual(seen, ["delta"]);
      assert.ok(error instanceof AgentBackendError);
      assert.equal(error.code, "invalid_response");
      assert.equal(error.requestId, "req-cut");
    });

    await t.step("an error event is thrown with its code, details and request id", async () => {
      const error = await collect(agents.streamAgent({ agent_id: AGENT, input: "fails" }))
        .catch((e) => e);
      assert.ok(error instanceof AgentBackendError);
      assert.deepEqual(
        [error.code, error.message, error.requestId],
        ["upstream_timeout", "The model took too long", "req-stream"],
      );
    });

    await t.step(
      "the replay of an Idempotency-Key whose run is going waits for it (sync and stream)",
      async () => {
        // Methods work detached from the client object, as callbacks get them.
        const { executeAgent, streamAgent, waitForExecution } = agents;
        const request = { agent_id: AGENT, input: "replay" };
        const answer = await executeAgent(request, { idempotencyKey: "key-1" });
        const { type: _, ...expected } = DONE;
        assert.deepEqual(answer, expected);
        const events = await collect(streamAgent(request, { idempotencyKey: "key-1" }));
        assert.deepEqual(events, [DONE]);
        const ended = await waitForExecution(EXECUTION, { intervalMs: 10 });
        assert.equal(ended.status, "completed");
      },
    );

    await t.step("429: code, details and Retry-After in seconds", async () => {
      const error = await agents.executeAgent({ agent_id: AGENT, input: "limited" })
        .catch((e) => e);
      assert.ok(error instanceof AgentBackendError);
      assert.deepEqual(
        [error.status, error.code, error.requestId, error.retryAfter, error.details],
        [429, "rate_limited", "req-429", 42, { retry_after_seconds: 42 }],
      );
    });

    await t.step("the gateway's own bodies and non-JSON pages get a code by status", async () => {
      const gateway = createAgentClient({ functions: new FunctionsClient(`${base}/gateway`) });
      const refused = await gateway.whoami().catch((e) => e);
      assert.ok(refused instanceof AgentBackendError);
      assert.deepEqual(
        [refused.status, refused.code, refused.message, refused.requestId],
        [401, "unauthenticated", "Invalid JWT", "req-gw"],
      );
      const html = createAgentClient({ functions: new FunctionsClient(`${base}/html`) });
      const page = await html.whoami().catch((e) => e);
      assert.ok(page instanceof AgentBackendError);
      assert.deepEqual([page.status, page.code], [502, "upstream_error"]);
    });

    await t.step("relay and network failures are AgentBackendErrors too", async () => {
      const relay = await agents.executeAgent({ agent_id: AGENT, input: "relay" })
        .catch((e) => e);
      assert.ok(relay instanceof AgentBackendError);
      assert.deepEqual([relay.code, relay.status], ["relay_error", 502]);

      const nowhere = createAgentClient({
        functions: new FunctionsClient("http://127.0.0.1:1/functions/v1"),
      });
      const network = await nowhere.whoami().catch((e) => e);
      assert.ok(network instanceof AgentBackendError);
      assert.deepEqual([network.code, network.status, network.requestId], [
        "network_error",
        0,
        null,
      ]);
    });
  } finally {
    await server.shutdown();
  }
});
