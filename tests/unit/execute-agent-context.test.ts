import assert from "node:assert/strict";
import {
  buildPrompt,
  contextBudget,
  contextWindow,
  keywordQuery,
  MAX_CONTEXT_TOKENS,
  type Section,
  takeWithin,
} from "../../supabase/functions/execute-agent/context.ts";
import { AppError } from "../../supabase/functions/_shared/errors.ts";
import { countTokens } from "../../supabase/functions/_shared/text/tokens.ts";

function section(n: number, content: string): Section {
  return {
    section_id: `00000000-0000-4000-8000-00000000000${n}`,
    document_id: "30000000-0000-4000-8000-000000000001",
    title: `Doc ${n}`,
    heading: `Heading ${n}`,
    content,
    similarity: null,
    score: 1 / n,
  };
}

Deno.test("contextWindow() knows the OpenAI families and falls back to the smallest window", () => {
  assert.equal(contextWindow("gpt-4o-mini"), 128_000);
  assert.equal(contextWindow("GPT-4o"), 128_000);
  assert.equal(contextWindow("gpt-3.5-turbo"), 16_385);
  assert.equal(contextWindow("gpt-4"), 8_192);
  assert.equal(contextWindow("llama3:8b"), 8_192);
});

Deno.test("contextBudget() leaves room for the answer and the input, and is capped", () => {
  assert.equal(contextBudget("gpt-4o-mini", 1_000, 20_000), MAX_CONTEXT_TOKENS);
  assert.equal(contextBudget("gpt-4", 1_000, 100), 8_192 - 1_000 - 256 - 100);
  assert.ok(contextBudget("gpt-4", 1_000, 8_000) < 0);
});

Deno.test("buildPrompt() sends a long input whole with context beside it, and refuses one the window cannot hold", () => {
  const input = "warranty ".repeat(8_000); // ~8,000 tokens: fits gpt-4o-mini, not gpt-4
  const parts = {
    model: "gpt-4o-mini",
    maxTokens: 800,
    systemPrompt: "",
    summary: null,
    sections: [section(1, "Ten-year warranty.")],
    history: [],
    input,
  };
  const prompt = buildPrompt(parts);
  assert.equal(prompt.messages.at(-1)!.content, input);
  assert.equal(prompt.sections.length, 1);
  assert.throws(
    () => buildPrompt({ ...parts, model: "gpt-4" }),
    (e) => e instanceof AppError && e.code === "payload_too_large",
  );
});

Deno.test("takeWithin() takes leading items while their costs fit and stops at the first misfit", () => {
  const { taken, used } = takeWithin([3, 4, 2, 1], 8, (n) => n);
  assert.deepEqual(taken, [3, 4]);
  assert.equal(used, 7);
  assert.deepEqual(takeWithin([9], 8, (n) => n).taken, []);
  assert.deepEqual(takeWithin([3, 9, 4, 2], 8, (n) => n, { skip: true }).taken, [3, 4]);
});

Deno.test("keywordQuery() ORs the distinct words, drops operators and caps the length", () => {
  assert.equal(
    keywordQuery("How do I file a warranty claim? Warranty, please!"),
    "how or do or file or warranty or claim or please",
  );
  assert.equal(keywordQuery("cats OR dogs and -mice"), "cats or dogs or mice");
  assert.equal(keywordQuery("?!"), "");
  const long = Array.from({ length: 100 }, (_, i) => `word${i}`).join(" ");
  assert.equal(keywordQuery(long).split(" or ").length, 32);
  // A 32,000-character input of one "word" gives no keyword query at all, not a huge one.
  assert.equal(keywordQuery("x".repeat(32_000)), "");
  assert.equal(keywordQuery(`anvil ${"y".repeat(41)} warranty`), "anvil or warranty");
  assert.ok(keywordQuery("word ".repeat(10_000) + long).length < 4_000);
});

Deno.test("buildPrompt() places instructions, sources, summary, history and the input in order", () => {
  const prompt = buildPrompt({
    model: "gpt-4o-mini",
    maxTokens: 800,
    systemPrompt: "You are Acme's support assistant.",
    summary: "The user asked about anvils.",
    sections: [section(1, "Ten-year warranty."), section(2, "Claims by e-mail.")],
    history: [
      { role: "assistant", content: "Second (newest)" },
      { role: "user", content: "First (oldest)" },
    ],
    input: "How do I claim?",
  });
  assert.equal(prompt.messages[0]!.role, "system");
  const system = prompt.messages[0]!.content;
  assert.match(system, /^You are Acme's support assistant\./);
  assert.match(system, /Summary of the conversation so far:\nThe user asked about anvils\./);
  assert.match(system, /\[1\] Doc 1: Heading 1\nTen-year warranty\./);
  assert.match(system, /\[2\] Doc 2: Heading 2\nClaims by e-mail\./);
  assert.deepEqual(prompt.messages.slice(1), [
    { role: "user", content: "First (oldest)" },
    { role: "assistant", content: "Second (newest)" },
    { role: "user", content: "How do I claim?" },
  ]);
  assert.equal(prompt.historyCount, 2);
  assert.deepEqual(prompt.passages.map((p) => p.title), ["Doc 1", "Doc 2"]);
});

Deno.test("buildPrompt() keeps the newest messages that fit the model's budget and drops older ones", () => {
  const filler = "lorem ipsum dolor sit amet ".repeat(200); // ~1,000 tokens
  const history = Array.from({ length: 20 }, (_, i) => ({
    role: (i % 2 === 0 ? "user" : "assistant") as "user" | "assistant",
    content: `message ${i} ${filler}`,
  })); // newest first: message 0 is the newest
  const prompt = buildPrompt({
    model: "gpt-4", // 8,192-token window
    maxTokens: 1_000,
    systemPrompt: "Be brief.",
    summary: null,
    sections: [],
    history,
    input: "And now?",
  });
  assert.ok(prompt.historyCount > 0 && prompt.historyCount < 20);
  assert.ok(prompt.promptTokens <= 8_192 - 1_000);
  const kept = prompt.messages.slice(1, -1).map((m) => m.content.split(" ").slice(0, 2).join(" "));
  // The newest ones, oldest of them first.
  const expected = Array.from({ length: prompt.historyCount }, (_, i) => `message ${i}`).reverse();
  assert.deepEqual(kept, expected);
});

Deno.test("buildPrompt() gives knowledge at most half of the budget, best sections first", () => {
  const big = "anvil ".repeat(1_500);
  assert.ok(countTokens(big) > 2_000 && countTokens(big) < 3_400); // one fits in half of ~6,900
  const prompt = buildPrompt({
    model: "gpt-4",
    maxTokens: 1_000,
    systemPrompt: "",
    summary: null,
    sections: [section(1, big), section(2, big), section(3, "small")],
    history: [],
    input: "anvils?",
  });
  // Doc 2 does not fit beside Doc 1; the small Doc 3 still does.
  assert.deepEqual(prompt.sections.map((s) => s.title), ["Doc 1", "Doc 3"]);
  const knowledgeTokens = countTokens(prompt.messages[0]!.content);
  assert.ok(knowledgeTokens <= (8_192 - 1_000 - 256) / 2 + 50);
});
