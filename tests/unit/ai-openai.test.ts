/**
 * The openai provider against a fake OpenAI-compatible server (tests/fixtures/fake-openai.ts):
 * the real SDK, over HTTP, with its own retries and timeout.
 */
import assert from "node:assert/strict";
import {
  createOpenAiProvider,
  embeddingBatches,
} from "../../supabase/functions/_shared/ai/openai.ts";
import { type AiConfig, loadConfig } from "../../supabase/functions/_shared/config.ts";
import { AppError } from "../../supabase/functions/_shared/errors.ts";
import { createAiProvider } from "../../supabase/functions/_shared/ai/mod.ts";
import { type FakeOpenAI, startFakeOpenAI } from "../fixtures/fake-openai.ts";

const API_KEY = "sk-test-0123456789-secret";

function config(fake: FakeOpenAI, overrides: Partial<AiConfig> = {}): AiConfig {
  return {
    provider: "openai",
    openaiApiKey: API_KEY,
    openaiBaseUrl: fake.url,
    chatModel: "gpt-4o-mini",
    embeddingModel: "text-embedding-3-small",
    timeoutMs: 10_000,
    maxRetries: 2,
    ...overrides,
  };
}

async function withFake(fn: (fake: FakeOpenAI) => Promise<void>): Promise<void> {
  const fake = await startFakeOpenAI();
  try {
    await fn(fake);
  } finally {
    await fake.close();
  }
}

/** Asserts an AppError with this code and status, whose body never shows the API key. */
function assertAppError(error: unknown, code: string, status: number | null): true {
  assert.ok(error instanceof AppError, `not an AppError: ${error}`);
  assert.equal(error.code, code);
  if (code === "upstream_error") {
    assert.deepEqual(error.details, { provider: "openai", status });
  }
  assert.ok(!JSON.stringify({ m: error.message, d: error.details }).includes(API_KEY));
  return true;
}

Deno.test("createAiProvider() picks openai when the config has an API key", () => {
  const base = { SUPABASE_URL: "http://x", SUPABASE_ANON_KEY: "a", SUPABASE_SERVICE_ROLE_KEY: "s" };
  assert.equal(createAiProvider(loadConfig({ ...base, OPENAI_API_KEY: "sk" })).name, "openai");
  assert.equal(createAiProvider(loadConfig(base)).name, "local");
});

Deno.test("openai chat() sends the model, messages and options and returns text and usage", () =>
  withFake(async (fake) => {
    const ai = createOpenAiProvider(config(fake));
    const result = await ai.chat(
      [{ role: "system", content: "Be brief." }, { role: "user", content: "Hi there" }],
      { model: "gpt-4.1-mini", temperature: 0.3, maxTokens: 50 },
    );
    assert.equal(result.text, "Hello from the fake model.");
    assert.equal(result.model, "gpt-4.1-mini");
    assert.equal(result.finishReason, "stop");
    assert.ok(result.usage.prompt_tokens > 0 && result.usage.completion_tokens > 0);
    assert.equal(
      result.usage.total_tokens,
      result.usage.prompt_tokens + result.usage.completion_tokens,
    );

    const [request] = fake.requests;
    assert.equal(request!.path, "/v1/chat/completions");
    assert.equal(request!.headers.authorization, `Bearer ${API_KEY}`);
    assert.deepEqual(request!.body, {
      model: "gpt-4.1-mini",
      messages: [{ role: "system", content: "Be brief." }, { role: "user", content: "Hi there" }],
      temperature: 0.3,
      max_tokens: 50,
    });
  }));

Deno.test("openai chatStream() yields the deltas, then one done with the whole text and usage", () =>
  withFake(async (fake) => {
    fake.setMode("ok", { reply: "One two three four five." });
    const ai = createOpenAiProvider(config(fake));
    const deltas: string[] = [];
    const done = [];
    for await (const chunk of ai.chatStream([{ role: "user", content: "Count" }])) {
      if (chunk.type === "delta") deltas.push(chunk.text);
      else done.push(chunk.result);
    }
    assert.ok(deltas.length > 1);
    assert.equal(deltas.join(""), "One two three four five.");
    assert.equal(done.length, 1);
    assert.equal(done[0]!.text, "One two three four five.");
    assert.equal(done[0]!.model, "gpt-4o-mini");
    assert.ok(done[0]!.usage.completion_tokens > 0);
    assert.equal(fake.requests[0]!.body!.stream, true);
    assert.deepEqual(fake.requests[0]!.body!.stream_options, { include_usage: true });
  }));

Deno.test("openai embed() asks for 1536 dimensions and returns vectors in input order", () =>
  withFake(async (fake) => {
    const ai = createOpenAiProvider(config(fake));
    const result = await ai.embed(["alpha", "", "gamma"]);
    assert.equal(result.embeddings.length, 3);
    for (const vector of result.embeddings) assert.equal(vector.length, 1536);
    assert.equal(result.model, "text-embedding-3-small");
    assert.ok(result.usage.prompt_tokens > 0);
    const again = await ai.embed(["gamma"]);
    assert.deepEqual(again.embeddings[0], result.embeddings[2]);

    const body = fake.requests[0]!.body!;
    assert.equal(body.dimensions, 1536);
    assert.equal(body.model, "text-embedding-3-small");
    // OpenAI refuses an empty input: it is sent as a space.
    assert.deepEqual(body.input, ["alpha", " ", "gamma"]);
  }));

Deno.test("embeddingBatches() keeps to 2048 inputs and a token budget per request", () => {
  const many = Array.from({ length: 5000 }, (_, i) => `text ${i}`);
  const batches = embeddingBatches(many);
  assert.deepEqual(batches.map((b) => b.length), [2048, 2048, 904]);
  assert.deepEqual(batches.flat(), many);

  const long = "word ".repeat(7000); // about 7000 tokens each
  const heavy = embeddingBatches(Array.from({ length: 80 }, () => long));
  assert.ok(heavy.length >= 3, `only ${heavy.length} batches`);
  assert.equal(heavy.flat().length, 80);
});

Deno.test("openai: a 429 is retried by the SDK, then becomes a 502 upstream_error", () =>
  withFake(async (fake) => {
    fake.setMode("rate_limited", { retryAfterSeconds: 0 });
    const ai = createOpenAiProvider(config(fake, { maxRetries: 2 }));
    await assert.rejects(
      ai.chat([{ role: "user", content: "Hi" }]),
      (error) => assertAppError(error, "upstream_error", 429),
    );
    assert.equal(fake.requests.length, 3);
  }));

Deno.test("openai: the SDK waits as long as Retry-After says before retrying", () =>
  withFake(async (fake) => {
    fake.setMode("ok", { retryAfterSeconds: 1 });
    fake.queue("rate_limited");
    const ai = createOpenAiProvider(config(fake, { maxRetries: 1 }));
    const result = await ai.chat([{ role: "user", content: "Hi" }]);
    assert.equal(result.text, "Hello from the fake model.");
    assert.equal(fake.requests.length, 2);
    // A lower bound only: the retry cannot come before the second Retry-After asked for.
    const gap = fake.requests[1]!.at - fake.requests[0]!.at;
    assert.ok(gap >= 950, `retried after ${gap} ms`);
  }));

Deno.test("openai: a 500 becomes a 502 upstream_error, for chat, stream and embeddings", () =>
  withFake(async (fake) => {
    fake.setMode("server_error");
    const ai = createOpenAiProvider(config(fake, { maxRetries: 0 }));
    await assert.rejects(
      ai.chat([{ role: "user", content: "Hi" }]),
      (error) => assertAppError(error, "upstream_error", 500),
    );
    await assert.rejects(
      async () => {
        for await (const _ of ai.chatStream([{ role: "user", content: "Hi" }])) { /* drain */ }
      },
      (error) => assertAppError(error, "upstream_error", 500),
    );
    await assert.rejects(
      ai.embed(["x"]),
      (error) => assertAppError(error, "upstream_error", 500),
    );
    assert.equal(fake.requests.length, 3);
  }));

Deno.test("openai: an answer slower than the timeout becomes a 504 upstream_timeout", () =>
  withFake(async (fake) => {
    fake.setMode("slow", { delayMs: 30_000 });
    const ai = createOpenAiProvider(config(fake, { timeoutMs: 200, maxRetries: 0 }));
    await assert.rejects(
      ai.chat([{ role: "user", content: "Hi" }]),
      (error) => assertAppError(error, "upstream_timeout", null),
    );
  }));

Deno.test("openai: an unreachable server is a 502 upstream_error", async () => {
  const fake = await startFakeOpenAI();
  const url = fake.url;
  await fake.close();
  const ai = createOpenAiProvider(config({ ...fake, url }, { maxRetries: 0 }));
  await assert.rejects(
    ai.chat([{ role: "user", content: "Hi" }]),
    (error) => assertAppError(error, "upstream_error", null),
  );
});

Deno.test("openai summarize() asks the model with the previous summary and the messages", () =>
  withFake(async (fake) => {
    fake.setMode("ok", { reply: "The user asked about refunds; the assistant explained." });
    const ai = createOpenAiProvider(config(fake));
    const result = await ai.summarize({
      previousSummary: "The user is Alice.",
      messages: [
        { role: "user", content: "How do refunds work?" },
        { role: "assistant", content: "Within 30 days." },
      ],
      maxTokens: 100,
    });
    assert.equal(result.text, "The user asked about refunds; the assistant explained.");
    const body = fake.requests[0]!.body as {
      messages: Array<{ content: string }>;
      max_tokens: number;
    };
    assert.equal(body.max_tokens, 100);
    const prompt = body.messages.map((m) => m.content).join("\n");
    assert.match(prompt, /The user is Alice\./);
    assert.match(prompt, /How do refunds work\?/);
    assert.match(prompt, /Within 30 days\./);
  }));
