import assert from "node:assert/strict";
import { encode } from "gpt-tokenizer/encoding/o200k_base";
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
  const text = "\u{1F642}".repeat(50);
  for (const max of [1, 2, 3, 7]) {
    const cut = truncateToTokens(text, max);
    assert.ok(!cut.includes("\uFFFD"), `max ${max}: ${cut}`);
    assert.ok(countTokens(cut) <= max);
  }
});

Deno.test("long runs (hostile input) are counted and cut piecewise: prefixes, within the budget", () => {
  for (const text of ["x".repeat(50_000), " ".repeat(50_000) + "a", "\t ".repeat(30_000) + "b"]) {
    const count = countTokens(text);
    assert.ok(count > 0);
    const cut = truncateToTokens(text, 100);
    assert.ok(text.startsWith(cut), "a cut is a prefix");
    assert.ok(countTokens(cut) <= 100, "and fits the budget");
  }
  // Ordinary text is unaffected by the cutting: words and indentation are far below its length.
  const prose = "The quick brown fox jumps over the lazy dog.\n    Indented line.\n".repeat(200);
  assert.equal(countTokens(prose), encode(prose, { disallowedSpecial: new Set() }).length);
});
