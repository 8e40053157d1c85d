/**
 * execute-agent end to end on the product's local stack (migrations and seed), as the seed users
 * call it through the typed client (shared/mod.ts) and, where the wire format or a malformed
 * request is the point, plain HTTP: sync, stream and async runs that end `completed`
 * with both messages and sources from the seed knowledge; 404 across organizations; idempotency
 * keys; bad input that writes nothing; cancel; the per-plan rate limit; and, on a second stack
 * whose OpenAI endpoint answers 500, a 502 with a `failed` execution. No run is left pending or
 * running.
 */
import assert from "node:assert/strict";
import { type Stack, startStack } from "../../local/stack.ts";
import { createAgentClient } from "../../shared/mod.ts";
import type { AiProvider } from "../../supabase/functions/_shared/ai/types.ts";
import { createApp } from "../../supabase/functions/execute-agent/app.ts";
import { startFakeOpenAI } from "../fixtures/fake-openai.ts";
import { refusal, type Session, signIn } from "./client-support.ts";
import { count, eventually, rows } from "./support.ts";

const ACME_SUPPORT = "20000000-0000-4000-8000-000000000001";
const ACME_RELEASE_NOTES = "20000000-0000-4000-8000-000000000002";
const GLOBEX_SECURITY = "20000000-0000-4000-8000-000000000003";
const WARRANTY_DOC = "30000000-0000-4000-8000-000000000001";

/** A plain HTTP call to the function, as curl would make it. */
function call(
  stack: Stack,
  user: Session | null,
  init: { path?: string; method?: string; body?: unknown; raw?: string; headers?: HeadersInit },
): Promise<Response> {
  const headers = new Headers(init.headers);
  headers.set("apikey", stack.anonKey);
  if (user) headers.set("authorization", `Bearer ${user.token}`);
  if (init.body !== undefined || init.raw !== undefined) {
    if (!headers.has("content-type")) headers.set("content-type", "application/json");
  }
  return fetch(`${stack.apiUrl}/functions/v1/execute-agent${init.path ?? ""}`, {
    method: init.method ?? "POST",
    headers,
    ...(init.raw !== undefined
      ? { body: init.raw }
      : init.body !== undefined
      ? { body: JSON.stringify(init.body) }
      : {}),
  });
}

/** Rows every write of execute-agent touches, to prove a refused request wrote nothing. */
async function footprint(stack: Stack): Promise<Record<string, number>> {
  const [row] = await rows<Record<string, number>>(
    stack,
    `select
       (select count(*)::integer from public.agent_executions) as executions,
       (select count(*)::integer from public.messages) as messages,
       (select count(*)::integer from public.conversations) as conversations,
       (select count(*)::integer from private.jobs where queue = 'agent_executions') as jobs,
       (select coalesce(sum(cost), 0)::integer from private.rate_limit_counters) as rate_units`,
  );
  return row!;
}

interface SseEvent {
  type: string;
  [key: string]: unknown;
}

function parseSse(text: string): SseEvent[] {
  return text.split("\n\n").filter((block) => block.trim() !== "").map((block) => {
    const lines = block.split("\n");
    assert.equal(lines.length, 1, `one data line per event: ${block}`);
    assert.ok(lines[0]!.startsWith("data: "), block);
    return JSON.parse(lines[0]!.slice("data: ".length));
  });
}

/** A completed answer: the sync body, the stream's done event or a completed execution. */
function assertCompletedBody(answer: object) {
  const body = answer as Record<string, unknown>;
  assert.equal(body.status, "completed");
  for (const field of ["execution_id", "conversation_id", "message_id"]) {
    assert.match(String(body[field]), /^[0-9a-f-]{36}$/, field);
  }
  assert.equal(typeof body.output, "string");
  assert.ok((body.output as string).length > 0);
  assert.match(String(body.model), /^local-/);
  const usage = body.usage as {
    prompt_tokens: number;
    completion_tokens: number;
    total_tokens: number;
  };
  assert.equal(usage.total_tokens, usage.prompt_tokens + usage.completion_tokens);
  assert.ok(usage.prompt_tokens > 0);
  assert.equal(typeof body.latency_ms, "number");
  const sources = body.sources as Array<Record<string, unknown>>;
  assert.ok(sources.length > 0, "sources from the seed knowledge");
  assert.deepEqual(Object.keys(sources[0]!).sort(), [
    "document_id",
    "heading",
    "section_id",
    "similarity",
    "title",
  ]);
}

/** The execution row and the conversation's messages, as the database holds them. */
async function recorded(stack: Stack, executionId: string) {
  const [execution] = await rows<Record<string, unknown>>(
    stack,
    `select status, model, prompt_tokens, completion_tokens, total_tokens, latency_ms, error,
            conversation_id, user_id, started_at, completed_at
     from public.agent_executions where id = $1`,
    [executionId],
  );
  const messages = await rows<{ role: string; content: string; metadata: Record<string, unknown> }>(
    stack,
    `select role, content, metadata from public.messages where conversation_id = $1 order by seq`,
    [execution!.conversation_id],
  );
  return { execution: execution!, messages };
}

Deno.test({
  name: "execute-agent on the local stack",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const stack = await startStack({
      apiPort: 0,
      dbPort: 0,
      dataDir: null,
      functionLogLevel: "error",
    });
    try {
      const alice = await signIn(stack, "alice@acme.test");
      const bob = await signIn(stack, "bob@acme.test");
      const carol = await signIn(stack, "carol@globex.test");
      let aliceConversation = "";

      await t.step(
        "sync: 200 with the answer, recorded with both messages and sources",
        async () => {
          const usageBefore = await rows<{ usage_count: number }>(
            stack,
            `select usage_count from public.documents where id = $1`,
            [WARRANTY_DOC],
          );
          const data = await alice.agents.executeAgent({
            agent_id: ACME_SUPPORT,
            input: "How do I file a warranty claim for my anvil?",
          });
          assertCompletedBody(data);
          assert.ok(
            data.sources.some((s) => s.document_id === WARRANTY_DOC),
            "the warranty policy is a source",
          );
          aliceConversation = data.conversation_id;

          const { execution, messages } = await recorded(stack, data.execution_id);
          assert.equal(execution.status, "completed");
          assert.equal(execution.user_id, alice.id);
          assert.equal(execution.model, data.model);
          assert.equal(execution.total_tokens, data.usage.total_tokens);
          assert.ok(execution.started_at && execution.completed_at);
          assert.deepEqual(messages.map((m) => m.role), ["user", "assistant"]);
          assert.equal(messages[0]!.content, "How do I file a warranty claim for my anvil?");
          assert.equal(messages[1]!.content, data.output);

          const [usageAfter] = await rows<{ usage_count: number }>(
            stack,
            `select usage_count from public.documents where id = $1`,
            [WARRANTY_DOC],
          );
          assert.equal(usageAfter!.usage_count, usageBefore[0]!.usage_count + 1);

          // What the user reads back through the Data API matches.
          const own = await alice.client.from("messages").select("role, content")
            .eq("conversation_id", data.conversation_id).order("seq");
          assert.equal(own.error, null);
          assert.deepEqual(own.data!.map((m) => m.role), ["user", "assistant"]);
        },
      );

      await t.step("sync in the same conversation: history continues", async () => {
        const data = await alice.agents.executeAgent({
          agent_id: ACME_SUPPORT,
          conversation_id: aliceConversation,
          input: "And what does the warranty exclude?",
        });
        assertCompletedBody(data);
        assert.equal(data.conversation_id, aliceConversation);
        const { messages } = await recorded(stack, data.execution_id);
        assert.deepEqual(messages.map((m) => m.role), ["user", "assistant", "user", "assistant"]);
      });

      await t.step(
        "the longest input (32,000 characters) runs: search and prompt stay bounded",
        async () => {
          const input = ("warranty " + "z".repeat(990) + " ").repeat(32).slice(0, 32_000);
          const body = await alice.agents.executeAgent({ agent_id: ACME_SUPPORT, input });
          assertCompletedBody(body);
          const [stored] = await rows<{ n: number }>(
            stack,
            `select char_length(content) as n from public.messages m
           join public.agent_executions e on e.input ->> 'message_id' = m.id::text
           where e.id = $1`,
            [body.execution_id],
          );
          assert.equal(stored!.n, 32_000 - 1, "stored whole (cleaned: the trailing space trimmed)");
        },
      );

      await t.step("stream: delta events, then done with the sync body; recorded", async () => {
        const response = await call(stack, alice, {
          body: { agent_id: ACME_SUPPORT, input: "Is there a warranty on anvils?", mode: "stream" },
        });
        assert.equal(response.status, 200);
        assert.match(response.headers.get("content-type") ?? "", /^text\/event-stream/);
        const events = parseSse(await response.text());
        const deltas = events.filter((e) => e.type === "delta");
        assert.ok(deltas.length > 0);
        const done = events.at(-1)!;
        assert.equal(done.type, "done");
        assert.equal(events.filter((e) => e.type === "done").length, 1);
        const { type: _type, ...body } = done;
        assertCompletedBody(body);
        assert.equal(deltas.map((d) => d.text).join(""), body.output);

        const { execution, messages } = await recorded(stack, body.execution_id as string);
        assert.equal(execution.status, "completed");
        assert.deepEqual(messages.map((m) => m.role), ["user", "assistant"]);
        assert.equal(messages[1]!.content, body.output);
      });

      await t.step("stream through the typed client: typed deltas, then done", async () => {
        let text = "";
        const done = [];
        for await (
          const event of alice.agents.streamAgent({
            agent_id: ACME_SUPPORT,
            input: "Is the anvil warranty transferable?",
          })
        ) {
          if (event.type === "delta") text += event.text;
          else done.push(event);
        }
        assert.equal(done.length, 1);
        assertCompletedBody(done[0]!);
        assert.equal(text, done[0]!.output);
      });

      await t.step("stream: a client that disconnects leaves no running execution", async () => {
        // Leaving the typed client's stream early closes the connection.
        for await (
          const event of alice.agents.streamAgent({
            agent_id: ACME_SUPPORT,
            input: "Tell me about anvil warranties",
          })
        ) {
          assert.equal(event.type, "delta");
          break;
        }
        const [latest] = await rows<{ id: string }>(
          stack,
          `select id from public.agent_executions where user_id = $1 order by created_at desc limit 1`,
          [alice.id],
        );
        const status = await eventually("the disconnected run to end", async () => {
          const [row] = await rows<{ status: string }>(
            stack,
            `select status from public.agent_executions where id = $1`,
            [latest!.id],
          );
          return ["completed", "cancelled"].includes(row!.status) ? row!.status : undefined;
        });
        assert.ok(status === "completed" || status === "cancelled");
      });

      await t.step(
        "async: 202, then the job completes it; GET returns it to its owner",
        async () => {
          const data = await alice.agents.startAgent({
            agent_id: ACME_SUPPORT,
            input: "How fast does a replacement anvil ship?",
          });
          assert.equal(data.status, "pending");
          const id = data.execution_id;

          const done = await alice.agents.waitForExecution(id, {
            intervalMs: 200,
            timeoutMs: 30_000,
          });
          assertCompletedBody(done);
          assert.equal(done.execution_id, id);
          assert.equal(done.conversation_id, data.conversation_id);
          assert.equal(done.error, null);
          const { messages } = await recorded(stack, id);
          assert.deepEqual(messages.map((m) => m.role), ["user", "assistant"]);

          await refusal(bob.agents.getExecution(id), 404, "not_found", "bob reads alice's run");
        },
      );

      await t.step(
        "another organization's agent, or another user's conversation: 404",
        async () => {
          const before = await footprint(stack);
          const error = await refusal(
            carol.agents.executeAgent({ agent_id: ACME_SUPPORT, input: "What is the warranty?" }),
            404,
            "not_found",
          );
          assert.equal(error.message, `Unknown agent: "${ACME_SUPPORT}"`);

          await refusal(
            bob.agents.executeAgent({
              agent_id: ACME_SUPPORT,
              conversation_id: aliceConversation,
              input: "hi",
            }),
            404,
            "not_found",
            "bob continues alice's conversation",
          );
          await refusal(
            alice.agents.executeAgent({
              agent_id: ACME_RELEASE_NOTES,
              conversation_id: aliceConversation,
              input: "hi",
            }),
            404,
            "not_found",
            "the conversation with another agent",
          );
          assert.deepEqual(await footprint(stack), before);

          const answer = await carol.agents.executeAgent({
            agent_id: GLOBEX_SECURITY,
            input: "How often are phishing drills run?",
          });
          assert.ok(answer.sources.every((s) => s.document_id.startsWith("30000000")));
          assert.ok(!answer.sources.some((s) => s.document_id === WARRANTY_DOC));
        },
      );

      await t.step(
        "Idempotency-Key: one execution per key; another body with it is 409",
        async () => {
          const body = { agent_id: ACME_SUPPORT, input: "Warranty length?" };
          const key = { idempotencyKey: "e2e-order-1" };
          const firstBody = await alice.agents.executeAgent(body, key);
          const second = await alice.agents.executeAgent({ ...body }, key);
          assert.deepEqual(second, firstBody);
          assert.equal(
            await count(
              stack,
              `select 1 from public.agent_executions where idempotency_key = 'e2e-order-1'`,
            ),
            1,
          );
          assert.equal(
            await count(stack, `select 1 from public.messages where conversation_id = $1`, [
              firstBody.conversation_id,
            ]),
            2,
            "no second model call, no second pair of messages",
          );

          const before = await footprint(stack);
          await refusal(
            alice.agents.executeAgent({ ...body, input: "Warranty length??" }, key),
            409,
            "conflict",
          );
          assert.deepEqual(await footprint(stack), before);

          // Two first requests with one key at once: one execution; the other gets it back
          // (the function answers 202 while it runs; the client waits for it and asks again).
          const racedBodies = await Promise.all(
            [0, 1].map(() =>
              alice.agents.executeAgent({ ...body, input: "Race?" }, {
                idempotencyKey: "e2e-race",
              })
            ),
          );
          assert.deepEqual(racedBodies.map((r) => r.status), ["completed", "completed"]);
          assert.deepEqual(racedBodies[1], racedBodies[0]);
          assert.equal(
            await count(
              stack,
              `select 1 from public.agent_executions where idempotency_key = 'e2e-race'`,
            ),
            1,
          );

          // Keys are per user: bob's same key is his own first request.
          const bobs = await bob.agents.executeAgent(body, key);
          assert.notEqual(bobs.execution_id, firstBody.execution_id);
        },
      );

      await t.step("bad input: 4xx with the error body, nothing written", async () => {
        const before = await footprint(stack);
        const cases: Array<
          { name: string; status: number; init: Parameters<typeof call>[2]; user?: Session | null }
        > = [
          { name: "malformed JSON", status: 400, init: { raw: '{"agent_id": ' } },
          { name: "not an object", status: 400, init: { raw: "[1, 2]" } },
          { name: "missing input", status: 400, init: { body: { agent_id: ACME_SUPPORT } } },
          {
            name: "input of the wrong type",
            status: 400,
            init: { body: { agent_id: ACME_SUPPORT, input: 42 } },
          },
          {
            name: "invalid agent uuid",
            status: 400,
            init: { body: { agent_id: "agent-1", input: "hi" } },
          },
          {
            name: "invalid conversation uuid",
            status: 400,
            init: { body: { agent_id: ACME_SUPPORT, input: "hi", conversation_id: "nope" } },
          },
          {
            name: "unknown mode",
            status: 400,
            init: { body: { agent_id: ACME_SUPPORT, input: "hi", mode: "later" } },
          },
          {
            name: "unknown field",
            status: 400,
            init: { body: { agent_id: ACME_SUPPORT, input: "hi", x: 1 } },
          },
          {
            name: "no token",
            status: 401,
            init: { body: { agent_id: ACME_SUPPORT, input: "hi" } },
            user: null,
          },
        ];
        for (const c of cases) {
          const response = await call(stack, c.user === undefined ? alice : c.user, c.init);
          assert.equal(response.status, c.status, c.name);
          const body = await response.json();
          assert.equal(typeof body.error?.code, "string", c.name);
          assert.equal(typeof body.error?.message, "string", c.name);
          assert.equal(typeof body.request_id, "string", c.name);
        }
        // What the typed client can send, refused all the same.
        const refused: Array<[string, () => Promise<unknown>, number, string]> = [
          [
            "blank input",
            () => alice.agents.executeAgent({ agent_id: ACME_SUPPORT, input: " \u200b\n\t " }),
            400,
            "invalid_request",
          ],
          [
            "input over 32,000 characters",
            () => alice.agents.executeAgent({ agent_id: ACME_SUPPORT, input: "a".repeat(32_001) }),
            413,
            "payload_too_large",
          ],
          [
            "unknown agent",
            () =>
              alice.agents.executeAgent({
                agent_id: "20000000-0000-4000-8000-0000000000ff",
                input: "hi",
              }),
            404,
            "not_found",
          ],
          [
            "bad Idempotency-Key",
            () =>
              alice.agents.executeAgent({ agent_id: ACME_SUPPORT, input: "hi" }, {
                idempotencyKey: "has spaces",
              }),
            400,
            "invalid_request",
          ],
          [
            "GET on a bad execution id",
            () => alice.agents.getExecution("123"),
            400,
            "invalid_request",
          ],
          [
            "GET on an unknown execution",
            () => alice.agents.getExecution("00000000-0000-4000-8000-000000000000"),
            404,
            "not_found",
          ],
        ];
        for (const [name, send, status, code] of refused) {
          await refusal(send(), status, code, name);
        }
        assert.deepEqual(await footprint(stack), before);
      });

      await t.step("cancel: the owner cancels a pending run; it then never runs", async () => {
        await rows(
          stack,
          `update private.job_queues set enabled = false where name = 'agent_executions'`,
        );
        try {
          const started = await bob.agents.startAgent({
            agent_id: ACME_SUPPORT,
            input: "Cancel me",
          });
          assert.equal(started.status, "pending");
          const id = started.execution_id;

          await refusal(alice.agents.cancelExecution(id), 404, "not_found", "not alice's run");

          const body = await bob.agents.cancelExecution(id);
          assert.equal(body.status, "cancelled");
          assert.ok(body.completed_at);

          await refusal(bob.agents.cancelExecution(id), 409, "conflict", "cancelled twice");

          await rows(
            stack,
            `update private.job_queues set enabled = true where name = 'agent_executions'`,
          );
          await eventually("the cancelled run's job to be completed", async () => {
            const [job] = await rows<{ status: string }>(
              stack,
              `select status from private.jobs where payload ->> 'execution_id' = $1`,
              [id],
            );
            return job?.status === "completed" ? true : undefined;
          });
          const { execution, messages } = await recorded(stack, id);
          assert.equal(execution.status, "cancelled");
          assert.deepEqual(messages.map((m) => m.role), ["user"], "no answer for a cancelled run");
        } finally {
          await rows(
            stack,
            `update private.job_queues set enabled = true where name = 'agent_executions'`,
          );
        }
      });

      await t.step(
        "rate limit: 429 with Retry-After past the plan's limit, nothing written",
        async () => {
          // Acme is on the pro plan: an hour-long window allowing what bob has used in it plus one.
          const [{ used }] = await rows<{ used: number }>(
            stack,
            `select coalesce(sum(cost), 0)::integer as used from private.rate_limit_counters
             where user_id = $1 and bucket = 'execute-agent'
               and window_start = to_timestamp(floor(extract(epoch from now()) / 3600) * 3600)`,
            [bob.id],
          ) as [{ used: number }];
          await rows(
            stack,
            `update private.rate_limit_policies set max_cost = $1, window_seconds = 3600
             where plan = 'pro' and bucket = 'execute-agent'`,
            [used + 1],
          );
          try {
            const body = {
              agent_id: ACME_SUPPORT,
              input: "Warranty?",
              options: { knowledge: false },
            };
            assert.equal((await bob.agents.executeAgent(body)).status, "completed");
            const before = await footprint(stack);
            const limited = await refusal(bob.agents.executeAgent(body), 429, "rate_limited");
            // Retry-After: whole seconds, at least one.
            assert.ok(Number.isInteger(limited.retryAfter), String(limited.retryAfter));
            assert.ok(limited.retryAfter! >= 1, String(limited.retryAfter));
            assert.deepEqual(await footprint(stack), before);
            // Another user of the same organization has a window of their own.
            assert.equal((await alice.agents.executeAgent(body)).status, "completed");
          } finally {
            await rows(
              stack,
              `update private.rate_limit_policies set max_cost = 60, window_seconds = 60
             where plan = 'pro' and bucket = 'execute-agent'`,
            );
          }
        },
      );

      await t.step("no execution is left pending or running", async () => {
        await eventually("every execution to end", async () => {
          const open = await count(
            stack,
            `select 1 from public.agent_executions where status in ('pending', 'running')`,
          );
          return open === 0 ? true : undefined;
        });
      });
    } finally {
      await stack.stop();
    }
  },
});

Deno.test({
  name: "execute-agent with OPENAI_API_KEY: the openai provider, and its failures as 502/504",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const fake = await startFakeOpenAI({
      mode: "ok",
      reply: "Anvils carry a ten-year warranty [1].",
    });
    const stack = await startStack({
      apiPort: 0,
      dbPort: 0,
      dataDir: null,
      functionLogLevel: "error",
      functionEnv: {
        OPENAI_API_KEY: "sk-test-not-a-real-key",
        OPENAI_BASE_URL: fake.url,
        AI_MAX_RETRIES: "0",
        AI_TIMEOUT_MS: "1500",
      },
    });
    const chatCalls = () =>
      fake.requests.filter((r) => r.path.endsWith("/chat/completions")).length;
    try {
      const alice = await signIn(stack, "alice@acme.test");

      await t.step(
        "sync through the openai SDK: the agent's model, the server's usage",
        async () => {
          const request = { agent_id: ACME_SUPPORT, input: "What is the anvil warranty?" };
          const body = await alice.agents.executeAgent(request, { idempotencyKey: "openai-1" });
          assert.equal(body.status, "completed");
          assert.equal(body.output, "Anvils carry a ten-year warranty [1].");
          assert.equal(body.model, "gpt-4o-mini");
          assert.ok(body.usage.prompt_tokens > 0 && body.usage.completion_tokens > 0);
          assert.ok(body.sources.some((s) => s.document_id === WARRANTY_DOC));
          const chat = fake.requests.filter((r) => r.path.endsWith("/chat/completions")).at(-1)!;
          assert.equal(chat.body?.model, "gpt-4o-mini");
          const system = (chat.body?.messages as Array<{ role: string; content: string }>)[0]!;
          assert.match(
            system.content,
            /ten-year limited warranty/,
            "the seed section is in the prompt",
          );

          // The same key and body again: the first answer, no second model call.
          const calls = chatCalls();
          const again = await alice.agents.executeAgent(request, { idempotencyKey: "openai-1" });
          assert.deepEqual(again, body);
          assert.equal(chatCalls(), calls);
        },
      );

      await t.step(
        "the provider answers 500: 502, and the execution is failed with the reason",
        async () => {
          fake.setMode("server_error");
          await refusal(
            alice.agents.executeAgent({
              agent_id: ACME_SUPPORT,
              input: "Does the warranty cover rockets?",
            }),
            502,
            "upstream_error",
          );

          const [execution] = await rows<{ status: string; error: string; latency_ms: number }>(
            stack,
            `select status, error, latency_ms from public.agent_executions
           where user_id = $1 order by created_at desc limit 1`,
            [alice.id],
          );
          assert.equal(execution!.status, "failed");
          assert.ok(execution!.error.length > 0);
          assert.equal(typeof execution!.latency_ms, "number");
        },
      );

      await t.step(
        "stream with the provider down: one error event, the execution failed",
        async () => {
          const response = await call(stack, alice, {
            body: { agent_id: ACME_SUPPORT, input: "Warranty?", mode: "stream" },
          });
          assert.equal(response.status, 200);
          const events = parseSse(await response.text());
          assert.equal(events.length, 1);
          assert.equal(events[0]!.type, "error");
          assert.equal((events[0]!.error as { code: string }).code, "upstream_error");
          const [execution] = await rows<{ status: string }>(
            stack,
            `select status from public.agent_executions where user_id = $1
           order by created_at desc limit 1`,
            [alice.id],
          );
          assert.equal(execution!.status, "failed");

          // Through the typed client: nothing yielded, the error event thrown with its code.
          const yielded: string[] = [];
          const error = await refusal(
            (async function* () {
              for await (
                const event of alice.agents.streamAgent({ agent_id: ACME_SUPPORT, input: "W?" })
              ) {
                yielded.push(event.type);
                yield event;
              }
            })(),
            200, // the stream had started: the HTTP status was 200
            "upstream_error",
          );
          assert.deepEqual(yielded, []);
          assert.match(error.message, /\S/);
        },
      );

      await t.step(
        "the provider is slower than AI_TIMEOUT_MS: 504, the execution failed",
        async () => {
          fake.setMode("slow", { delayMs: 5_000 });
          await refusal(
            alice.agents.executeAgent({
              agent_id: ACME_SUPPORT,
              input: "Warranty?",
              options: { knowledge: false },
            }),
            504,
            "upstream_timeout",
          );
          fake.setMode("ok");
        },
      );

      await t.step("no execution is left pending or running", async () => {
        assert.equal(
          await count(
            stack,
            `select 1 from public.agent_executions where status in ('pending', 'running')`,
          ),
          0,
        );
        assert.ok(
          await count(stack, `select 1 from public.agent_executions where status = 'failed'`) >= 3,
        );
      });
    } finally {
      await stack.stop();
      await fake.close();
    }
  },
});

/**
 * A provider that starts answering and then hangs until the run is aborted, as a slow model
 * would: what a client disconnect or a cancel must stop.
 */
function hangingProvider(base: AiProvider, started: () => void): AiProvider {
  const hang = (signal: AbortSignal | undefined) =>
    new Promise<never>((_, reject) => {
      started();
      signal?.addEventListener("abort", () => reject(signal.reason), { once: true });
    });
  return {
    ...base,
    embed: (texts, options) => base.embed(texts, options),
    summarize: (input) => base.summarize(input),
    chat: (_messages, options) => hang(options?.signal),
    async *chatStream(_messages, options) {
      yield { type: "delta", text: "Thinking" };
      await hang(options?.signal);
    },
  };
}

Deno.test({
  name: "execute-agent: a disconnect or a cancel stops a run in flight; it ends cancelled",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    let inFlight = Promise.withResolvers<void>();
    const stack = await startStack({
      apiPort: 0,
      dbPort: 0,
      dataDir: null,
      workers: false,
      functionLogLevel: "error",
      extraFunctions: {
        // execute-agent itself with a model that hangs, served under another name.
        "execute-agent-hanging": {
          verifyJwt: false,
          createApp: (deps) => {
            const app = createApp({
              ...deps,
              ai: hangingProvider(deps.ai, () => inFlight.resolve()),
            });
            return {
              fetch: (request: Request) => {
                const url = new URL(request.url);
                url.pathname = url.pathname.replace(/^\/execute-agent-hanging/, "/execute-agent");
                return app.fetch(new Request(url, request));
              },
            };
          },
        },
      },
    });
    /** The typed client of the user, its execute-agent calls sent to execute-agent-hanging. */
    const hanging = (user: Session) =>
      createAgentClient({
        functions: {
          invoke: (name, options) =>
            user.client.functions.invoke(
              name.replace(/^execute-agent/, "execute-agent-hanging"),
              options,
            ),
        },
      });
    const latest = async (userId: string) =>
      (await rows<{ id: string; status: string; error: string | null }>(
        stack,
        `select id, status, error from public.agent_executions
         where user_id = $1 order by created_at desc limit 1`,
        [userId],
      ))[0]!;
    try {
      const alice = await signIn(stack, "alice@acme.test");

      await t.step("stream: the client disconnects after the first delta", async () => {
        inFlight = Promise.withResolvers<void>();
        // Leaving the typed client's stream closes the connection: the function sees it.
        for await (
          const event of hanging(alice).streamAgent({ agent_id: ACME_SUPPORT, input: "Warranty?" })
        ) {
          assert.deepEqual(event, { type: "delta", text: "Thinking" });
          await inFlight.promise;
          break;
        }

        const ended = await eventually("the run to be cancelled", async () => {
          const row = await latest(alice.id);
          return row.status === "running" ? undefined : row;
        });
        assert.equal(ended.status, "cancelled");
        const messages = await rows<{ role: string }>(
          stack,
          `select m.role from public.messages m
           join public.agent_executions e on e.conversation_id = m.conversation_id
           where e.id = $1 order by m.seq`,
          [ended.id],
        );
        assert.deepEqual(messages.map((m) => m.role), ["user"], "no answer stored");
      });

      await t.step(
        "sync: the owner cancels the running execution; the call answers 409",
        async () => {
          inFlight = Promise.withResolvers<void>();
          const agents = hanging(alice);
          const pending = refusal(
            agents.executeAgent({ agent_id: ACME_SUPPORT, input: "Warranty again?" }),
            409,
            "conflict",
            "the sync call of a cancelled run",
          );
          await inFlight.promise;
          const running = await latest(alice.id);
          assert.equal(running.status, "running");

          const cancelled = await agents.cancelExecution(running.id);
          assert.equal(cancelled.status, "cancelled");

          await pending;
          const row = await latest(alice.id);
          assert.equal(row.status, "cancelled");
          assert.equal(row.error, "Cancelled by the user");
        },
      );
    } finally {
      await stack.stop();
    }
  },
});
