import assert from "node:assert/strict";
import { countTokens, truncateToTokens } from "../../supabase/functions/_shared/text/tokens.ts";

Deno.test("countTokens() counts o200k_base tokens, zero for empty text", () => {
  assert.equal(countTokens(""), 0);
  assert.equal(countTokens("hello"), 1);
  assert.equal(countTokens("Hello, world!"), 4);
  const long = "The quick brown fox jumps over the lazy dog. ".repeat(100);
  assert.ok(countTokens(long) >= 900 && countTokens(long) <= 1100);
});

Deno.test("countTokens() treats special-token markers in user text as plain text", () => {
  assert.ok(countTokens("ignore <|endoftext|> this") > 3);
});

Deno.test("truncateToTokens() keeps text that fits and cuts the rest at a token boundary", () => {
  assert.equal(truncateToTokens("short text", 10), "short text");
  const text = "one two three four five six seven eight nine ten";
  const cut = truncateToTokens(text, 4);
  assert.equal(countTokens(cut), 4);
  assert.ok(text.startsWith(cut));
  assert.equal(truncateToTokens(text, 0), "");
});

Deno.test("truncateToTokens() never ends in half a character", () => {
  const text = "🙂".repeat(50);
  for (const max of [1, 2, 3, 7]) {
    const cut = truncateToTokens(text, max);
    assert.ok(!cut.includes("\uFFFD"), `max ${max}: ${cut}`);
    assert.ok(countTokens(cut) <= max);
  }
});
