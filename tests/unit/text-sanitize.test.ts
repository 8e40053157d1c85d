import assert from "node:assert/strict";
import { AppError } from "../../supabase/functions/_shared/errors.ts";
import { checkText, cleanText } from "../../supabase/functions/_shared/text/sanitize.ts";

Deno.test("cleanText() composes to NFC", () => {
  const decomposed = "Cafe\u0301 nai\u0308ve";
  assert.equal(cleanText(decomposed), "Caf\u00E9 na\u00EFve");
  assert.equal(cleanText(decomposed).length, "Caf\u00E9 na\u00EFve".normalize("NFC").length);
});

Deno.test("cleanText() removes control characters but keeps newlines and tabs", () => {
  assert.equal(cleanText("a\u0000b\u0007c\u001Bd\u007Fe\u0085f"), "abcdef");
  assert.equal(cleanText("col1\tcol2\nrow2"), "col1\tcol2\nrow2");
});

Deno.test("cleanText() removes zero-width characters and bidi overrides", () => {
  assert.equal(cleanText("pa\u200Bss\u200Cwo\u2060rd\uFEFF"), "password");
  assert.equal(cleanText("so\u00ADft"), "soft");
  // Trojan Source: an override that makes "admin" display reversed.
  assert.equal(cleanText("user \u202Enimda\u202C and \u2066iso\u2069"), "user nimda and iso");
  // Right-to-left marks are kept: they are how RTL text is written.
  assert.equal(cleanText("\u200F\u05E9\u05DC\u05D5\u05DD"), "\u200F\u05E9\u05DC\u05D5\u05DD");
});

Deno.test("cleanText() keeps a zero-width joiner inside an emoji sequence only", () => {
  const family = "\u{1F468}\u200D\u{1F469}\u200D\u{1F467}";
  assert.equal(cleanText(`family ${family}`), `family ${family}`);
  assert.equal(cleanText("ad\u200Dmin"), "admin");
  assert.equal(cleanText("\u{1F44D}\u200Dx"), "\u{1F44D}x");
});

Deno.test("cleanText() normalises newlines and collapses blank lines", () => {
  assert.equal(cleanText("one\r\ntwo\rthree\u2028four"), "one\ntwo\nthree\nfour");
  assert.equal(cleanText("a\n\n\n\n\nb"), "a\n\nb");
  assert.equal(cleanText("a\n  \n\t\n\nb"), "a\n\nb");
});

Deno.test("cleanText() collapses runs of spaces inside a line but keeps indentation", () => {
  assert.equal(cleanText("too    many   spaces"), "too many spaces");
  assert.equal(cleanText("no\u00A0break\u3000ideographic"), "no break ideographic");
  assert.equal(cleanText("def f():\n    return   1   "), "def f():\n    return 1");
});

Deno.test("cleanText() trims and turns lone surrogates into U+FFFD", () => {
  assert.equal(cleanText("  \n\t hello \n\n "), "hello");
  assert.equal(cleanText("bad \uD800 half"), "bad \uFFFD half");
});

Deno.test("cleanText() is idempotent", () => {
  const messy = " \u202Ex\u200B  y\r\n\r\n\r\nz\u0000 ";
  assert.equal(cleanText(cleanText(messy)), cleanText(messy));
});

Deno.test("checkText() returns the cleaned text", () => {
  assert.equal(checkText("  hi\u200B there "), "hi there");
});

Deno.test("checkText() refuses text that is empty after cleaning with invalid_request", () => {
  for (const input of ["", "   ", "\u200B\u200B", "\u0000\n\t"]) {
    assert.throws(() => checkText(input, { field: "messages[0].content" }), (error) => {
      assert.ok(error instanceof AppError);
      assert.equal(error.code, "invalid_request");
      assert.equal(error.status, 400);
      assert.equal(error.message, 'Field "messages[0].content" is empty after cleaning');
      return true;
    });
  }
});

Deno.test("checkText() refuses text over the limit with payload_too_large, counting code points", () => {
  assert.equal(checkText("x".repeat(32_000)).length, 32_000);
  assert.throws(() => checkText("x".repeat(32_001)), (error) => {
    assert.ok(error instanceof AppError);
    assert.equal(error.code, "payload_too_large");
    assert.equal(error.status, 413);
    assert.equal(error.message, 'Field "content" is longer than 32000 characters');
    assert.deepEqual(error.details, { field: "content", max_chars: 32_000, length: 32_001 });
    return true;
  });
  // Ten emoji are twenty UTF-16 units but ten characters.
  assert.equal(checkText("\u{1F600}".repeat(10), { maxChars: 10 }), "\u{1F600}".repeat(10));
  assert.throws(
    () => checkText("\u{1F600}".repeat(11), { maxChars: 10 }),
    /longer than 10 characters/,
  );
  // The limit applies to the cleaned text: invisible padding does not count.
  assert.equal(checkText("ok" + "\u200B".repeat(50), { maxChars: 2 }), "ok");
});

Deno.test("cleanText() handles long runs of blanks anywhere in a line", () => {
  assert.equal(cleanText(" ".repeat(50_000) + "a"), "a");
  assert.equal(cleanText("a" + " ".repeat(50_000) + "b"), "a b");
  assert.equal(cleanText("a" + " ".repeat(50_000) + "\nb"), "a\nb");
});
