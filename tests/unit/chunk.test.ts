import assert from "node:assert/strict";
import {
  chunkBlocks,
  DEFAULT_CHUNK_OPTIONS,
  embeddingInput,
} from "../../supabase/functions/_shared/extract/chunk.ts";
import { countTokens } from "../../supabase/functions/_shared/text/tokens.ts";

const sentence = (i: number) => `Sentence number ${i} explains one more detail of the process.`;
const paragraph = (from: number, count: number) =>
  Array.from({ length: count }, (_, i) => sentence(from + i)).join(" ");

Deno.test("chunkBlocks() keeps a small block whole with its heading path and page", () => {
  const chunks = chunkBlocks([
    { headingPath: ["Guide", "Setup"], text: "Install the tool and run it once.", page: 3 },
  ]);
  assert.equal(chunks.length, 1);
  assert.deepEqual(chunks[0], {
    ordinal: 0,
    headingPath: ["Guide", "Setup"],
    heading: "Guide > Setup",
    page: 3,
    content: "Install the tool and run it once.",
    tokenCount: countTokens("Install the tool and run it once."),
  });
});

Deno.test("chunkBlocks() never merges blocks: a heading or page always starts a section", () => {
  const chunks = chunkBlocks([
    { headingPath: ["A"], text: "First part has enough words to count." },
    { headingPath: ["B"], text: "Second part has enough words to count." },
  ]);
  assert.deepEqual(chunks.map((c) => [c.ordinal, c.heading]), [[0, "A"], [1, "B"]]);
});

Deno.test("chunkBlocks() splits a long block at paragraphs within the target, with overlap", () => {
  const text = Array.from({ length: 12 }, (_, p) => paragraph(p * 10, 10)).join("\n\n");
  const targetTokens = 300;
  const chunks = chunkBlocks([{ headingPath: ["Long"], text }], { targetTokens });
  assert.ok(chunks.length > 3, `expected several sections, got ${chunks.length}`);
  for (const chunk of chunks) {
    assert.ok(chunk.tokenCount <= targetTokens, `${chunk.tokenCount} tokens`);
    assert.equal(chunk.heading, "Long");
  }
  // Every sentence is somewhere, in order.
  for (let i = 0; i < 120; i++) {
    assert.ok(chunks.some((c) => c.content.includes(sentence(i))), `sentence ${i} lost`);
  }
  // Sections after the first start with the end of the one before (overlap).
  const overlapped = chunks.slice(1).filter((chunk, i) => {
    const firstSentence = chunk.content.split(/(?<=\.)\s/)[0]!;
    return chunks[i]!.content.includes(firstSentence);
  });
  assert.ok(overlapped.length > 0, "no section carries overlap from the one before");
});

Deno.test("chunkBlocks() splits one huge paragraph at sentences, then a huge word by size", () => {
  const chunks = chunkBlocks([{ headingPath: [], text: paragraph(0, 200) }], {
    targetTokens: 200,
    overlapTokens: 0,
  });
  assert.ok(chunks.length >= 5);
  assert.ok(chunks.every((c) => c.tokenCount <= 200 && c.heading === null));
  assert.ok(chunks.every((c) => /^Sentence number \d+/.test(c.content)), "cut inside a sentence");

  const blob = chunkBlocks([{ headingPath: [], text: "x".repeat(50_000) }]);
  assert.ok(blob.every((c) => c.content.length <= 20_000));
  // A cut through an emoji leaves no lone surrogate (Postgres refuses them in JSON).
  const emoji = chunkBlocks([{ headingPath: [], text: "x" + "\u{1F600}".repeat(10_001) }]);
  assert.ok(emoji.every((c) => c.content.isWellFormed()));
});

Deno.test("chunkBlocks() cuts long unbroken runs (base64, repeated characters) within the target", () => {
  // BPE is quadratic in an unbroken run's length: such runs are cut before they are counted.
  const bytes = new Uint8Array(30_000).map((_, i) => (i * 7919 + 13) % 256);
  const base64 = btoa(String.fromCharCode(...bytes));
  for (const text of ["x".repeat(300_000), base64]) {
    const chunks = chunkBlocks([{ headingPath: [], text }], {
      targetTokens: 200,
      overlapTokens: 0,
    });
    assert.ok(chunks.length > 1);
    assert.ok(chunks.every((c) => c.tokenCount <= 200), "a section over the target");
    assert.equal(chunks.map((c) => c.content).join(""), text, "nothing lost or repeated");
  }
});

Deno.test("chunkBlocks() drops fragments too short to mean anything", () => {
  const chunks = chunkBlocks([
    { headingPath: ["Empty"], text: "---" },
    { headingPath: ["Tiny"], text: "ok" },
    { headingPath: ["Real"], text: "This section has real content in it." },
  ]);
  assert.deepEqual(chunks.map((c) => [c.ordinal, c.heading]), [[0, "Real"]]);
  assert.ok(DEFAULT_CHUNK_OPTIONS.minTokens > countTokens("ok"));
});

Deno.test("embeddingInput() puts the heading path before the content", () => {
  assert.equal(
    embeddingInput({ heading: "Guide > Setup", content: "Run it." }),
    "Guide > Setup\n\nRun it.",
  );
  assert.equal(embeddingInput({ heading: null, content: "Run it." }), "Run it.");
});
