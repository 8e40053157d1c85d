/**
 * execute-agent end to end on the product's local stack (migrations and seed), as the seed users
 * call it through supabase-js and plain HTTP: sync, stream and async runs that end `completed`
 * with both messages and sources from the seed knowledge; 404 across organizations; idempotency
 * keys; bad input that writes nothing; cancel; the per-plan rate limit; and, on a second stack
 * whose OpenAI endpoint answers 500, a 502 with a `failed` execution. No run is left pending or
 * running.
 */
import assert from "node:assert/strict";
import { createClient, FunctionsHttpError, type SupabaseClient } from "@supabase/supabase-js";
import { type Stack, startStack } from "../../local/stack.ts";
import type { AiProvider } from "../../supabase/functions/_shared/ai/types.ts";
import { createApp } from "../../supabase/functions/execute-agent/app.ts";
import { startFakeOpenAI } from "../fixtures/fake-openai.ts";

const ACME_SUPPORT = "20000000-0000-4000-8000-000000000001";
const ACME_RELEASE_NOTES = "20000000-0000-4000-8000-000000000002";
const GLOBEX_SECURITY = "20000000-0000-4000-8000-000000000003";
const WARRANTY_DOC = "30000000-0000-4000-8000-000000000001";
const PASSWORD = "password123";

interface Session {
  id: string;
  token: string;
  client: SupabaseClient;
}

async function signIn(stack: Stack, email: string): Promise<Session> {
  const anon = createClient(stack.apiUrl, stack.anonKey, {
    auth: { persistSession: false, autoRefreshToken: false },
  });
  const { data, error } = await anon.auth.signInWithPassword({ email, password: PASSWORD });
  assert.equal(error, null, `sign in ${email}`);
  const token = data.session!.access_token;
  const client = createClient(stack.apiUrl, stack.anonKey, {
    auth: { persistSession: false, autoRefreshToken: false },
    global: { headers: { Authorization: `Bearer ${token}` } },
  });
  return { id: data.user!.id, token, client };
}

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

async function rows<T = Record<string, unknown>>(
  stack: Stack,
  sql: string,
  params: unknown[] = [],
): Promise<T[]> {
  return (await stack.session.query<T>(sql, params)).rows;
}

async function count(stack: Stack, sql: string, params: unknown[] = []): Promise<number> {
  const [row] = await rows<{ n: number }>(
    stack,
    `select count(*)::integer as n from (${sql}) q`,
    params,
  );
  return row!.n;
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

async function eventually<T>(what: string, probe: () => Promise<T | undefined>, ms = 30_000) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`Timed out waiting for ${what}`);
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

function assertCompletedBody(body: Record<string, unknown>) {
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
          const { data, error } = await alice.client.functions.invoke("execute-agent", {
            body: { agent_id: ACME_SUPPORT, input: "How do I file a warranty claim for my anvil?" },
          });
          assert.equal(error, null);
          assertCompletedBody(data);
          assert.ok(
            data.sources.some((s: { document_id: string }) => s.document_id === WARRANTY_DOC),
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
        const { data, error } = await alice.client.functions.invoke("execute-agent", {
          body: {
            agent_id: ACME_SUPPORT,
            conversation_id: aliceConversation,
            input: "And what does the warranty exclude?",
          },
        });
        assert.equal(error, null);
        assertCompletedBody(data);
        assert.equal(data.conversation_id, aliceConversation);
        const { messages } = await recorded(stack, data.execution_id);
        assert.deepEqual(messages.map((m) => m.role), ["user", "assistant", "user", "assistant"]);
      });

      await t.step(
        "the longest input (32,000 characters) runs: search and prompt stay bounded",
        async () => {
          const input = ("warranty " + "z".repeat(990) + " ").repeat(32).slice(0, 32_000);
          const response = await call(stack, alice, { body: { agent_id: ACME_SUPPORT, input } });
          assert.equal(response.status, 200);
          const body = await response.json();
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

      await t.step("stream: a client that disconnects leaves no running execution", async () => {
        const response = await call(stack, alice, {
          body: { agent_id: ACME_SUPPORT, input: "Tell me about anvil warranties", mode: "stream" },
        });
        const reader = response.body!.getReader();
        await reader.read();
        await reader.cancel();
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
          const { data, error } = await alice.client.functions.invoke("execute-agent", {
            body: {
              agent_id: ACME_SUPPORT,
              input: "How fast does a replacement anvil ship?",
              mode: "async",
            },
          });
          assert.equal(error, null);
          assert.equal(data.status, "pending");
          const id = data.execution_id as string;

          const done = await eventually("the async execution to complete", async () => {
            const got = await alice.client.functions.invoke(`execute-agent/executions/${id}`, {
              method: "GET",
            });
            assert.equal(got.error, null);
            return got.data.status === "completed" ? got.data : undefined;
          });
          assertCompletedBody(done);
          assert.equal(done.execution_id, id);
          assert.equal(done.conversation_id, data.conversation_id);
          assert.equal(done.error, null);
          const { messages } = await recorded(stack, id);
          assert.deepEqual(messages.map((m) => m.role), ["user", "assistant"]);

          const other = await bob.client.functions.invoke(`execute-agent/executions/${id}`, {
            method: "GET",
          });
          assert.ok(other.error instanceof FunctionsHttpError);
          assert.equal(other.error.context.status, 404);
        },
      );

      await t.step(
        "another organization's agent, or another user's conversation: 404",
        async () => {
          const before = await footprint(stack);
          const { error } = await carol.client.functions.invoke("execute-agent", {
            body: { agent_id: ACME_SUPPORT, input: "What is the warranty?" },
          });
          assert.ok(error instanceof FunctionsHttpError);
          assert.equal(error.context.status, 404);
          const body = await error.context.json();
          assert.equal(body.error.code, "not_found");
          assert.equal(body.error.message, `Unknown agent: "${ACME_SUPPORT}"`);
          assert.equal(typeof body.request_id, "string");

          const stolen = await call(stack, bob, {
            body: { agent_id: ACME_SUPPORT, conversation_id: aliceConversation, input: "hi" },
          });
          assert.equal(stolen.status, 404);
          assert.equal((await stolen.json()).error.code, "not_found");

          const otherAgent = await call(stack, alice, {
            body: { agent_id: ACME_RELEASE_NOTES, conversation_id: aliceConversation, input: "hi" },
          });
          assert.equal(otherAgent.status, 404);
          assert.deepEqual(await footprint(stack), before);

          const own = await call(stack, carol, {
            body: { agent_id: GLOBEX_SECURITY, input: "How often are phishing drills run?" },
          });
          assert.equal(own.status, 200);
          const answer = await own.json();
          assert.ok(
            answer.sources.every((s: { document_id: string }) =>
              s.document_id.startsWith("30000000")
            ),
          );
          assert.ok(
            !answer.sources.some((s: { document_id: string }) => s.document_id === WARRANTY_DOC),
          );
        },
      );

      await t.step(
        "Idempotency-Key: one execution per key; another body with it is 409",
        async () => {
          const body = { agent_id: ACME_SUPPORT, input: "Warranty length?" };
          const headers = { "Idempotency-Key": "e2e-order-1" };
          const first = await call(stack, alice, { body, headers });
          assert.equal(first.status, 200);
          const firstBody = await first.json();
          const second = await call(stack, alice, { body: { ...body }, headers });
          assert.equal(second.status, 200);
          assert.deepEqual(await second.json(), firstBody);
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
          const changed = await call(stack, alice, {
            body: { ...body, input: "Warranty length??" },
            headers,
          });
          assert.equal(changed.status, 409);
          assert.equal((await changed.json()).error.code, "conflict");
          assert.deepEqual(await footprint(stack), before);

          // Two first requests with one key at once: one execution; the other gets it back.
          const raced = await Promise.all(
            [0, 1].map(() =>
              call(stack, alice, {
                body: { ...body, input: "Race?" },
                headers: { "Idempotency-Key": "e2e-race" },
              })
            ),
          );
          const racedBodies = await Promise.all(raced.map((r) => r.json()));
          for (const r of raced) assert.ok([200, 202].includes(r.status), String(r.status));
          assert.equal(racedBodies[0].execution_id, racedBodies[1].execution_id);
          assert.equal(
            await count(
              stack,
              `select 1 from public.agent_executions where idempotency_key = 'e2e-race'`,
            ),
            1,
          );

          // Keys are per user: bob's same key is his own first request.
          const bobs = await call(stack, bob, { body, headers });
          assert.equal(bobs.status, 200);
          assert.notEqual((await bobs.json()).execution_id, firstBody.execution_id);
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
            name: "blank input",
            status: 400,
            init: { body: { agent_id: ACME_SUPPORT, input: " \u200b\n\t " } },
          },
          {
            name: "input over 32,000 characters",
            status: 413,
            init: { body: { agent_id: ACME_SUPPORT, input: "a".repeat(32_001) } },
          },
          {
            name: "unknown agent",
            status: 404,
            init: { body: { agent_id: "20000000-0000-4000-8000-0000000000ff", input: "hi" } },
          },
          {
            name: "bad Idempotency-Key",
            status: 400,
            init: {
              body: { agent_id: ACME_SUPPORT, input: "hi" },
              headers: { "Idempotency-Key": "has spaces" },
            },
          },
          {
            name: "no token",
            status: 401,
            init: { body: { agent_id: ACME_SUPPORT, input: "hi" } },
            user: null,
          },
          {
            name: "GET on a bad execution id",
            status: 400,
            init: { path: "/executions/123", method: "GET" },
          },
          {
            name: "GET on an unknown execution",
            status: 404,
            init: { path: "/executions/00000000-0000-4000-8000-000000000000", method: "GET" },
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
        assert.deepEqual(await footprint(stack), before);
      });

      await t.step("cancel: the owner cancels a pending run; it then never runs", async () => {
        await rows(
          stack,
          `update private.job_queues set enabled = false where name = 'agent_executions'`,
        );
        try {
          const started = await call(stack, bob, {
            body: { agent_id: ACME_SUPPORT, input: "Cancel me", mode: "async" },
          });
          assert.equal(started.status, 202);
          const { execution_id: id } = await started.json();

          const notYours = await call(stack, alice, { path: `/executions/${id}/cancel` });
          assert.equal(notYours.status, 404);

          const cancelled = await call(stack, bob, { path: `/executions/${id}/cancel` });
          assert.equal(cancelled.status, 200);
          const body = await cancelled.json();
          assert.equal(body.status, "cancelled");
          assert.ok(body.completed_at);

          const again = await call(stack, bob, { path: `/executions/${id}/cancel` });
          assert.equal(again.status, 409);
          assert.equal((await again.json()).error.code, "conflict");

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
            const allowed = await call(stack, bob, { body });
            assert.equal(allowed.status, 200);
            await allowed.body?.cancel();
            const before = await footprint(stack);
            const limited = await call(stack, bob, { body });
            assert.equal(limited.status, 429);
            assert.match(limited.headers.get("retry-after") ?? "", /^[1-9][0-9]*$/);
            const error = await limited.json();
            assert.equal(error.error.code, "rate_limited");
            assert.deepEqual(await footprint(stack), before);
            // Another user of the same organization has a window of their own.
            const other = await call(stack, alice, { body });
            assert.equal(other.status, 200);
            await other.body?.cancel();
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
          const response = await call(stack, alice, {
            body: { agent_id: ACME_SUPPORT, input: "What is the anvil warranty?" },
            headers: { "Idempotency-Key": "openai-1" },
          });
          assert.equal(response.status, 200);
          const body = await response.json();
          assert.equal(body.status, "completed");
          assert.equal(body.output, "Anvils carry a ten-year warranty [1].");
          assert.equal(body.model, "gpt-4o-mini");
          assert.ok(body.usage.prompt_tokens > 0 && body.usage.completion_tokens > 0);
          assert.ok(
            body.sources.some((s: { document_id: string }) => s.document_id === WARRANTY_DOC),
          );
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
          const again = await call(stack, alice, {
            body: { agent_id: ACME_SUPPORT, input: "What is the anvil warranty?" },
            headers: { "Idempotency-Key": "openai-1" },
          });
          assert.deepEqual(await again.json(), body);
          assert.equal(chatCalls(), calls);
        },
      );

      await t.step(
        "the provider answers 500: 502, and the execution is failed with the reason",
        async () => {
          fake.setMode("server_error");
          const response = await call(stack, alice, {
            body: { agent_id: ACME_SUPPORT, input: "Does the warranty cover rockets?" },
          });
          assert.equal(response.status, 502);
          const body = await response.json();
          assert.equal(body.error.code, "upstream_error");
          assert.equal(typeof body.request_id, "string");

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
        },
      );

      await t.step(
        "the provider is slower than AI_TIMEOUT_MS: 504, the execution failed",
        async () => {
          fake.setMode("slow", { delayMs: 5_000 });
          const response = await call(stack, alice, {
            body: { agent_id: ACME_SUPPORT, input: "Warranty?", options: { knowledge: false } },
          });
          assert.equal(response.status, 504);
          assert.equal((await response.json()).error.code, "upstream_timeout");
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
    const hanging = (user: Session, path: string, body?: unknown) =>
      fetch(`${stack.apiUrl}/functions/v1/execute-agent-hanging${path}`, {
        method: "POST",
        headers: {
          apikey: stack.anonKey,
          authorization: `Bearer ${user.token}`,
          "content-type": "application/json",
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
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
        const response = await hanging(alice, "", {
          agent_id: ACME_SUPPORT,
          input: "Warranty?",
          mode: "stream",
        });
        assert.equal(response.status, 200);
        const reader = response.body!.getReader();
        const first = await reader.read();
        assert.match(new TextDecoder().decode(first.value), /"type":"delta"/);
        await inFlight.promise;
        await reader.cancel();

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
          const pending = hanging(alice, "", { agent_id: ACME_SUPPORT, input: "Warranty again?" });
          await inFlight.promise;
          const running = await latest(alice.id);
          assert.equal(running.status, "running");

          const cancelled = await hanging(alice, `/executions/${running.id}/cancel`);
          assert.equal(cancelled.status, 200);
          assert.equal((await cancelled.json()).status, "cancelled");

          const response = await pending;
          assert.equal(response.status, 409);
          assert.equal((await response.json()).error.code, "conflict");
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
