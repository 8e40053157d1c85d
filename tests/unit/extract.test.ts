import assert from "node:assert/strict";
import { AppError } from "../../supabase/functions/_shared/errors.ts";
import {
  detectType,
  extractFile,
  failureReason,
} from "../../supabase/functions/_shared/extract/mod.ts";
import { htmlToBlocks } from "../../supabase/functions/_shared/extract/html.ts";
import { flatten } from "../../supabase/functions/_shared/extract/json.ts";
import { markdownToBlocks } from "../../supabase/functions/_shared/extract/markdown.ts";
import { CSV, makeDocx, makeElf, makePdf, makePng, MARKDOWN } from "../fixtures/files/mod.ts";

const text = (s: string) => new TextEncoder().encode(s);

async function refusal(promise: Promise<unknown>) {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof AppError, `expected an AppError, got ${error}`);
    return { status: error.status, reason: failureReason(error), message: error.message };
  }
  assert.fail("expected the file to be refused");
}

Deno.test("extractFile() reads a markdown file into sections under their heading paths", async () => {
  const result = await extractFile(text(MARKDOWN), "quokkas.md");
  assert.equal(result.type.kind, "markdown");
  assert.deepEqual(result.blocks.map((b) => b.headingPath), [
    ["Field guide to quokkas"],
    ["Field guide to quokkas", "Diet"],
    ["Field guide to quokkas", "Conservation"],
  ]);
  assert.match(result.blocks[1]!.text, /browses on shrubs/);
});

Deno.test("markdownToBlocks() keeps # lines inside code fences as text and reads setext headings", () => {
  const blocks = markdownToBlocks(
    "Intro\n=====\n\n```sh\n# not a heading\necho hi\n```\n\nPart two\n--------\nBody text\n",
  );
  assert.deepEqual(blocks.map((b) => b.headingPath), [["Intro"], ["Intro", "Part two"]]);
  assert.match(blocks[0]!.text, /# not a heading/);
  assert.equal(blocks[1]!.text, "Body text");
});

Deno.test("markdownToBlocks() strips closing #s, keeps # inside titles", () => {
  const blocks = markdownToBlocks("# Title ##\nA\n## C# tips\nB\n### ###\nC\n#### Ends with#\nD\n");
  assert.deepEqual(blocks.map((b) => b.headingPath.at(-1)), [
    "Title",
    "C# tips",
    "C# tips",
    "Ends with#",
  ]);
});

Deno.test("extractFile() reads text with very long blank runs (linear cleaning)", async () => {
  const text = "# Heading" + " ".repeat(200_000) + "x\n" + " \u200B\t".repeat(100_000) +
    "body text";
  const result = await extractFile(new TextEncoder().encode(text), "runs.md");
  assert.equal(result.blocks.length, 1);
  assert.ok(result.blocks[0]!.headingPath[0]!.startsWith("Heading"));
  assert.ok(result.blocks[0]!.text.endsWith("body text"));
  assert.ok(result.characters < 100);
});

Deno.test("extractFile() reads a PDF page by page and keeps page numbers", async () => {
  const pdf = makePdf([["Quarterly revenue grew", "in every region"], [
    "Zebras appear on page two",
  ]], {
    title: "Report",
  });
  const result = await extractFile(pdf, "report.pdf");
  assert.equal(result.type.mime, "application/pdf");
  assert.equal(result.pages, 2);
  assert.deepEqual(result.blocks.map((b) => b.page), [1, 2]);
  assert.match(result.blocks[0]!.text, /Quarterly revenue grew\s+in every region/);
  assert.match(result.blocks[1]!.text, /Zebras appear on page two/);
  assert.equal(result.metadata.title, "Report");
});

Deno.test("extractFile() refuses a truncated PDF and a corrupt one with reasons", async () => {
  const pdf = makePdf([["Some text on a page"]]);
  const truncated = await refusal(
    extractFile(pdf.subarray(0, Math.floor(pdf.length / 2)), "a.pdf"),
  );
  assert.equal(truncated.status, 422);
  assert.equal(truncated.reason, "truncated");
  assert.match(truncated.message, /truncated/);

  const corrupt = await refusal(extractFile(text("%PDF-1.4\nnot really\n%%EOF\n"), "b.pdf"));
  assert.equal(corrupt.reason, "corrupt");
});

Deno.test("extractFile() refuses a password-protected PDF and says so", async () => {
  const refused = await refusal(extractFile(makePdf([["secret"]], { encrypted: true }), "s.pdf"));
  assert.equal(refused.status, 422);
  assert.equal(refused.reason, "encrypted");
  assert.match(refused.message, /password-protected; upload a copy without a password/);
});

Deno.test("extractFile() refuses a PDF without text (a scan) and says OCR is not supported", async () => {
  const refused = await refusal(extractFile(makePdf([[], []]), "scan.pdf"));
  assert.equal(refused.reason, "empty");
  assert.match(refused.message, /no extractable text/);
});

Deno.test("extractFile() refuses a PDF with more pages than the limit", async () => {
  const pdf = makePdf([["one page"], ["two pages"], ["three pages"]]);
  const refused = await refusal(extractFile(pdf, "long.pdf", { limits: { maxPages: 2 } }));
  assert.equal(refused.reason, "too_many_pages");
  assert.match(refused.message, /3 pages; the limit is 2/);
});

Deno.test("extractFile() gives a PNG's dimensions and no text", async () => {
  const result = await extractFile(await makePng(7, 3), "photo.png");
  assert.equal(result.type.kind, "image");
  assert.deepEqual(result.metadata.image, { width: 7, height: 3, format: "png" });
  assert.deepEqual(result.blocks, []);
});

Deno.test("extractFile() trusts the bytes over the name: a PNG named .txt is an image", async () => {
  const result = await extractFile(await makePng(2, 2), "notes.txt");
  assert.equal(result.type.mime, "image/png");
});

Deno.test("extractFile() refuses an ELF executable renamed .pdf, a PE renamed .txt and a script", async () => {
  const elf = await refusal(extractFile(makeElf(), "invoice.pdf"));
  assert.equal(elf.reason, "executable");
  assert.match(elf.message, /executable \(ELF\)/);

  const pe = new Uint8Array(128);
  pe.set([0x4d, 0x5a, 0x90, 0x00]);
  assert.equal((await refusal(extractFile(pe, "readme.txt"))).reason, "executable");

  const script = await refusal(extractFile(text("#!/bin/sh\nrm -rf /\n"), "notes.txt"));
  assert.equal(script.reason, "executable");
  assert.equal((await refusal(extractFile(text("echo hi"), "setup.sh"))).reason, "executable");
});

Deno.test("extractFile() refuses a name that promises a PDF when the bytes are text", async () => {
  const refused = await refusal(extractFile(text("just words"), "paper.pdf"));
  assert.equal(refused.reason, "mismatch");
});

Deno.test("extractFile() refuses unknown binary data and unsupported formats", async () => {
  const noise = new Uint8Array(512).map((_, i) => (i * 7919) % 251);
  noise[3] = 0;
  assert.equal((await refusal(extractFile(noise, "blob"))).reason, "unsupported");
  const zip = await refusal(extractFile(makeZipOnly(), "archive.zip"));
  assert.equal(zip.reason, "unsupported");
  assert.match(zip.message, /application\/zip/);
  assert.equal((await refusal(extractFile(text("a: 1"), "config.yaml"))).reason, "unsupported");
});

Deno.test("extractFile() refuses files over the byte limit with 413, and empty files", async () => {
  const big = await refusal(
    extractFile(text("x".repeat(2048)), "a.txt", { limits: { maxBytes: 1024 } }),
  );
  assert.equal(big.status, 413);
  assert.match(big.message, /2 KB; the limit is 1 KB/);
  assert.equal((await refusal(extractFile(new Uint8Array(), "a.txt"))).reason, "empty");
  assert.equal((await refusal(extractFile(text("  \n\n "), "a.txt"))).reason, "empty");
});

Deno.test("extractFile() refuses text over the character limit", async () => {
  const refused = await refusal(
    extractFile(text("word ".repeat(500)), "a.txt", { limits: { maxCharacters: 100 } }),
  );
  assert.equal(refused.reason, "too_long");
});

Deno.test("extractFile() reads CSV rows with their header, and TSV", async () => {
  const csv = await extractFile(text(CSV), "people.csv");
  assert.equal(csv.blocks.length, 1);
  assert.deepEqual(csv.blocks[0]!.text.split("\n"), [
    "name: Ada Lovelace | city: London | role: analyst",
    "name: Grace Hopper | city: Arlington | role: admiral",
  ]);
  assert.deepEqual(csv.metadata, { rows: 2, columns: ["name", "city", "role"] });

  const tsv = await extractFile(text("a\tb\n1\t\n3\t4\n"), "t.tsv");
  assert.deepEqual(tsv.blocks[0]!.text.split("\n"), ["a: 1", "a: 3 | b: 4"]);
});

Deno.test("extractFile() refuses a CSV with broken quoting", async () => {
  const refused = await refusal(extractFile(text('a,b\n"open,2\n'), "bad.csv"));
  assert.equal(refused.reason, "corrupt");
});

Deno.test("extractFile() flattens JSON into path: value lines under top-level keys", async () => {
  const json = await extractFile(
    text(JSON.stringify({ orders: [{ customer: { name: "Ada" }, total: 12 }], "odd key": true })),
    "data.json",
  );
  assert.deepEqual(json.blocks.map((b) => [b.headingPath, b.text]), [
    [["orders"], "orders[0].customer.name: Ada\norders[0].total: 12"],
    [["odd key"], '"odd key": true'],
  ]);
  assert.equal((await refusal(extractFile(text("{ nope"), "x.json"))).reason, "corrupt");
});

Deno.test("flatten() refuses JSON nested deeper than the limit without exhausting the stack", () => {
  const deep = JSON.parse("[".repeat(5000) + "]".repeat(5000));
  assert.throws(() => flatten(deep, ""), /nests deeper than 64 levels/);
});

Deno.test("htmlToBlocks() drops scripts, styles and comments and keeps headings", () => {
  const { blocks, title } = htmlToBlocks(`<!doctype html><html><head><title>T &amp; C</title>
    <style>body { color: red }</style><script>alert("x > y")</script></head>
    <body><!-- hidden --><h1 class="a">Terms</h1><p>First &lt;clause&gt;&nbsp;here.</p>
    <script type="text/javascript">document.write("<h2>fake</h2>")</script>
    <h2>Refunds</h2><ul><li>Within <b>30</b> days</li><li title="a>b">By card</li></ul>
    <img alt="diagram of refunds" src="x.png"></body></html>`);
  assert.equal(title, "T & C");
  assert.deepEqual(blocks.map((b) => b.headingPath), [["Terms"], ["Terms", "Refunds"]]);
  assert.equal(blocks[0]!.text, "First <clause> here.");
  assert.equal(blocks[1]!.text, "Within 30 days\nBy card\ndiagram of refunds");
  assert.ok(!blocks.some((b) => /alert|color|fake|hidden/.test(b.text)));
});

Deno.test("htmlToBlocks() drops an unterminated script to the end", () => {
  const { blocks } = htmlToBlocks("<p>Kept</p><script>steal()");
  assert.deepEqual(blocks.map((b) => b.text), ["Kept"]);
});

Deno.test("htmlToBlocks() keeps the body when </head> is omitted", () => {
  const { blocks } = htmlToBlocks("<html><head><title>T</title><h1>Notes</h1><p>Body text</p>");
  assert.deepEqual(blocks.map((b) => [b.headingPath, b.text]), [[["Notes"], "Body text"]]);
});

Deno.test("htmlToBlocks() reads hostile markup (thousands of unclosed tags) in one pass", () => {
  const hostile = "<p>Kept</p>" + '<head><title><!x<a "q'.repeat(20_000) + "<p>Tail end</p>";
  const { blocks } = htmlToBlocks(hostile);
  assert.ok(blocks[0]!.text.startsWith("Kept"));
  assert.ok(blocks.at(-1)!.text.endsWith("Tail end"));
});

Deno.test("extractFile() reads a .docx with its headings", async () => {
  const docx = makeDocx([
    { style: "Heading1", text: "Handbook" },
    { text: "Welcome to the team." },
    { style: "Heading2", text: "Leave" },
    { text: "Annual leave is 25 days & public holidays." },
  ]);
  const result = await extractFile(docx, "handbook.docx");
  assert.equal(result.type.kind, "docx");
  assert.deepEqual(result.blocks.map((b) => [b.headingPath, b.text]), [
    [["Handbook"], "Welcome to the team."],
    [["Handbook", "Leave"], "Annual leave is 25 days & public holidays."],
  ]);
});

Deno.test("detectType() sniffs text without an extension: JSON, HTML, plain", async () => {
  assert.equal((await detectType(text('{"a":1}'), "data")).kind, "json");
  assert.equal((await detectType(text("<!DOCTYPE html><p>x</p>"), "page")).kind, "html");
  assert.equal((await detectType(text("hello"), "README")).kind, "text");
});

Deno.test("extractFile() cleans invisible and control characters out of text", async () => {
  const result = await extractFile(text("Pay\u200Bment due\u0007 \u202Eby Friday"), "a.txt");
  assert.equal(result.blocks[0]!.text, "Payment due by Friday");
});

function makeZipOnly(): Uint8Array {
  // A ZIP whose only entry is not a Word part: file-type calls it application/zip.
  const entry = new TextEncoder().encode("hello");
  const name = new TextEncoder().encode("a.txt");
  const bytes = new Uint8Array(30 + name.length + entry.length + 22);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, 0x04034b50, true);
  view.setUint16(26, name.length, true);
  view.setUint32(18, entry.length, true);
  view.setUint32(22, entry.length, true);
  bytes.set(name, 30);
  bytes.set(entry, 30 + name.length);
  view.setUint32(30 + name.length + entry.length, 0x06054b50, true);
  return bytes;
}

Deno.test("extractFile() stops a PDF when its signal aborts, and does not blame the file", async () => {
  const pdf = makePdf(Array.from({ length: 50 }, (_, i) => [`Page ${i + 1} of a long report`]));
  const controller = new AbortController();
  controller.abort(new Error("Time is up"));
  await assert.rejects(
    extractFile(pdf, "long.pdf", { signal: controller.signal }),
    (error: unknown) => error instanceof Error && error.message === "Time is up",
  );
});
