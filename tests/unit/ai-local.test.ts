import assert from "node:assert/strict";
import {
  createLocalProvider,
  LOCAL_CHAT_MODEL,
  LOCAL_EMBEDDING_MODEL,
  LOCAL_SUMMARY_MODEL,
} from "../../supabase/functions/_shared/ai/local.ts";
import { EMBEDDING_DIMENSIONS } from "../../supabase/functions/_shared/ai/types.ts";
import { countTokens } from "../../supabase/functions/_shared/text/tokens.ts";

const ai = createLocalProvider();

function cosine(a: number[], b: number[]): number {
  return a.reduce((sum, x, i) => sum + x * b[i]!, 0);
}

const SOURCES = [
  {
    title: "Refund policy",
    heading: "Timing",
    content: "Our office is in Berlin. Refunds are processed within 14 days of the request. " +
      "Contact support for anything else.",
  },
  {
    title: "FAQ",
    content: "Shipping takes three days. A refund goes back to the original payment method.",
  },
];

Deno.test("local embeddings: 1536 unit-length dimensions, the same text the same vector", async () => {
  const result = await ai.embed(["Refund policy for customers", "", "Refund policy for customers"]);
  assert.equal(result.model, LOCAL_EMBEDDING_MODEL);
  assert.equal(result.embeddings.length, 3);
  for (const vector of result.embeddings) {
    assert.equal(vector.length, EMBEDDING_DIMENSIONS);
    assert.ok(Math.abs(cosine(vector, vector) - 1) < 1e-9);
  }
  assert.deepEqual(result.embeddings[0], result.embeddings[2]);
  assert.equal(result.usage.prompt_tokens, 2 * countTokens("Refund policy for customers"));
});

Deno.test("local embeddings: texts that share words score higher than unrelated ones", async () => {
  const [query, related, inflected, unrelated] = (await ai.embed([
    "How long do refunds take for customers?",
    "Customers receive refunds within fourteen days",
    "A refunded customer",
    "The weather in Paris is sunny and warm today",
  ])).embeddings as [number[], number[], number[], number[]];
  assert.ok(cosine(query, related) > 0.3, `related ${cosine(query, related)}`);
  assert.ok(cosine(query, related) > cosine(query, unrelated) + 0.2);
  // Other forms of the same words still meet (stems and character n-grams).
  assert.ok(cosine(query, inflected) > cosine(query, unrelated) + 0.1);
  assert.ok(Math.abs(cosine(query, unrelated)) < 0.1);
});

Deno.test("local chat cites the retrieved passages as [1], [2] with their relevant sentences", async () => {
  const result = await ai.chat(
    [{ role: "system", content: "Answer from the sources." }, {
      role: "user",
      content: "How long do refunds take?",
    }],
    { sources: SOURCES },
  );
  assert.equal(result.model, LOCAL_CHAT_MODEL);
  assert.equal(result.finishReason, "stop");
  assert.match(
    result.text,
    /Refund policy, Timing: Refunds are processed within 14 days[^\n]*\[1\]/,
  );
  assert.match(result.text, /FAQ: A refund goes back to the original payment method\. \[2\]/);
  assert.doesNotMatch(result.text, /office is in Berlin/);
  assert.equal(result.usage.completion_tokens, countTokens(result.text));
  assert.ok(result.usage.prompt_tokens > countTokens("How long do refunds take?"));
  assert.equal(
    result.usage.total_tokens,
    result.usage.prompt_tokens + result.usage.completion_tokens,
  );
});

Deno.test("local chat says plainly when it has no passages", async () => {
  const result = await ai.chat([{ role: "user", content: "What is the meaning of life?" }]);
  assert.match(result.text, /found nothing in the knowledge base/);
  assert.doesNotMatch(result.text, /\[1\]/);
});

Deno.test("local chat keeps to maxTokens and says so in finishReason", async () => {
  const result = await ai.chat([{ role: "user", content: "refunds" }], {
    sources: SOURCES,
    maxTokens: 5,
  });
  assert.equal(result.finishReason, "length");
  assert.ok(countTokens(result.text) <= 5);
});

Deno.test("local chatStream yields word-group deltas that make up the answer, then done", async () => {
  const messages = [{ role: "user" as const, content: "How long do refunds take?" }];
  const whole = await ai.chat(messages, { sources: SOURCES });
  const chunks = [];
  for await (const chunk of ai.chatStream(messages, { sources: SOURCES })) chunks.push(chunk);
  const last = chunks.pop()!;
  assert.ok(chunks.length > 2);
  assert.ok(chunks.every((c) => c.type === "delta"));
  assert.equal(chunks.map((c) => c.type === "delta" ? c.text : "").join(""), whole.text);
  assert.equal(last.type, "done");
  assert.deepEqual(last.type === "done" ? last.result : null, whole);
});

Deno.test("local chatStream stops when its signal aborts", async () => {
  const controller = new AbortController();
  const seen: string[] = [];
  await assert.rejects(async () => {
    for await (
      const chunk of ai.chatStream([{ role: "user", content: "refunds" }], {
        sources: SOURCES,
        signal: controller.signal,
      })
    ) {
      if (chunk.type === "delta") seen.push(chunk.text);
      controller.abort();
    }
  });
  assert.equal(seen.length, 1);
});

Deno.test("local summary: previous summary first, then the salient sentences, within maxTokens", async () => {
  const result = await ai.summarize({
    previousSummary: "Alice asked about her invoice.",
    messages: [
      {
        role: "user",
        content: "Hello! I need to change the billing address on invoice 1042. " +
          "The new billing address is Hauptstrasse 5, Berlin.",
      },
      {
        role: "assistant",
        content: "Sure. I updated the billing address on invoice 1042 to Hauptstrasse 5, Berlin. " +
          "Anything else?",
      },
      { role: "user", content: "Thanks, that is all." },
    ],
    maxTokens: 80,
  });
  assert.equal(result.model, LOCAL_SUMMARY_MODEL);
  assert.ok(result.text.startsWith("Alice asked about her invoice."));
  assert.ok(countTokens(result.text) <= 80);
  assert.match(result.text, /billing address on invoice 1042/);
  assert.match(result.text, /Key terms: .*billing/);
  assert.doesNotMatch(result.text, /Anything else|Thanks/);
});

Deno.test("local summary of nothing new keeps the previous one, cut to maxTokens", async () => {
  const long = "The customer discussed many topics at length. ".repeat(20);
  const result = await ai.summarize({ previousSummary: long, messages: [], maxTokens: 10 });
  assert.ok(countTokens(result.text) <= 10);
  assert.ok(long.startsWith(result.text));
});
