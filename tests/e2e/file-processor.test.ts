/**
 * file-processor end to end on the product's local stack (migrations and seed), as the seed users
 * use it through supabase-js: uploads to the `documents` bucket are processed by the queue with
 * no further call (markdown, PDF, CSV, PNG processed; a renamed executable and a truncated PDF
 * failed with a reason), the seed's sections and agents get embeddings through the queue, search
 * finds uploaded documents by phrases only within the caller's organization, the same bytes
 * again add no sections, and the direct routes answer 200/4xx with the error body. The routes are
 * called through the typed client (shared/mod.ts); plain HTTP where the request is malformed, has
 * no token, or goes to the workers' /jobs route.
 */
import assert from "node:assert/strict";
import { type Stack, startStack } from "../../local/stack.ts";
import { AgentBackendError } from "../../shared/mod.ts";
import { CSV, makeElf, makePdf, makePng, MARKDOWN } from "../fixtures/files/mod.ts";
import { refusal, type Session, signIn } from "./client-support.ts";
import { eventually, rows } from "./support.ts";

const ACME = "10000000-0000-4000-8000-000000000001";

function call(stack: Stack, user: Session | null, path: string, body: unknown) {
  const headers = new Headers({ apikey: stack.anonKey, "content-type": "application/json" });
  if (user) headers.set("authorization", `Bearer ${user.token}`);
  return fetch(`${stack.apiUrl}/functions/v1/file-processor${path}`, {
    method: "POST",
    headers,
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

interface UploadState {
  id: string;
  status: string;
  error: string | null;
  mime_type: string | null;
  metadata: Record<string, unknown>;
  document_id: string;
  sections: number;
  pages: number[];
}

/** The upload's row once it is processed or failed, with its document's sections. */
function settled(stack: Stack, path: string): Promise<UploadState> {
  return eventually(`"${path}" to be processed or failed`, async () => {
    const [row] = await rows<UploadState>(
      stack,
      `select f.id, f.status, f.error, f.mime_type, f.metadata, f.document_id,
              (select count(*)::int from public.document_sections s
               where s.document_id = f.document_id) as sections,
              (select coalesce(array_agg(distinct s.page order by s.page), '{}')
               from public.document_sections s
               where s.document_id = f.document_id and s.page is not null) as pages
       from public.file_uploads f where f.bucket = 'documents' and f.path = $1`,
      [path],
    );
    return row && (row.status === "processed" || row.status === "failed") ? row : undefined;
  });
}

async function upload(user: Session, name: string, bytes: Uint8Array, contentType: string) {
  const path = `${ACME}/${user.id}/${name}`;
  const { error } = await user.client.storage.from("documents").upload(path, bytes, {
    contentType,
  });
  assert.equal(error, null, `upload ${name}: ${error?.message}`);
  return path;
}

const PDF_PHRASE = "Armadillos dig burrows with powerful claws";

Deno.test({
  name: "file-processor end to end",
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
      const encoder = new TextEncoder();
      const paths: Record<string, string> = {};

      await t.step("the seed's sections and agents get embeddings through the queue", async () => {
        await eventually("every seed section and agent to be embedded", async () => {
          const [row] = await rows<{ sections: number; agents: number }>(
            stack,
            `select (select count(*)::int from public.document_sections where embedding is null)
                      as sections,
                    (select count(*)::int from public.agents
                     where description <> '' and description_embedding is null) as agents`,
          );
          return row!.sections === 0 && row!.agents === 0 ? true : undefined;
        }, 120_000);
        const [models] = await rows<{ models: string[] }>(
          stack,
          "select array_agg(distinct embedding_model) as models from public.document_sections",
        );
        assert.equal(models!.models.length, 1, "one embedding model recorded");
      });

      await t.step("markdown, PDF, CSV and PNG uploads end processed with no call", async () => {
        const pdf = makePdf([
          ["Field notes on armadillos", `${PDF_PHRASE} and long snouts.`],
          ["Second page about nine-banded armadillos crossing rivers by walking."],
        ]);
        paths.md = await upload(alice, "quokkas.md", encoder.encode(MARKDOWN), "text/markdown");
        paths.pdf = await upload(alice, "armadillos.pdf", pdf, "application/pdf");
        paths.csv = await upload(alice, "people.csv", encoder.encode(CSV), "text/csv");
        paths.png = await upload(alice, "pixel.png", await makePng(5, 4), "image/png");

        const md = await settled(stack, paths.md);
        assert.equal(md.status, "processed", md.error ?? "");
        assert.equal(md.mime_type, "text/markdown");
        assert.equal(md.sections, 3);
        const headings = await rows<{ heading_path: string[]; embedded: boolean }>(
          stack,
          `select heading_path, embedding is not null as embedded from public.document_sections
           where document_id = $1 order by ordinal`,
          [md.document_id],
        );
        assert.deepEqual(headings.map((h) => h.heading_path.at(-1)), [
          "Field guide to quokkas",
          "Diet",
          "Conservation",
        ]);
        assert.ok(headings.every((h) => h.embedded), "markdown sections embedded");

        const pdfState = await settled(stack, paths.pdf);
        assert.equal(pdfState.status, "processed", pdfState.error ?? "");
        assert.equal(pdfState.mime_type, "application/pdf");
        assert.deepEqual(pdfState.pages, [1, 2]);
        assert.equal(pdfState.metadata.pages, 2);

        const csv = await settled(stack, paths.csv);
        assert.equal(csv.status, "processed", csv.error ?? "");
        assert.ok(csv.sections >= 1);

        const png = await settled(stack, paths.png);
        assert.equal(png.status, "processed", png.error ?? "");
        assert.equal(png.sections, 0);
        assert.deepEqual(
          [png.metadata.width, png.metadata.height, png.metadata.format],
          [5, 4, "png"],
        );
        const [document] = await rows<{ status: string }>(
          stack,
          "select status from public.documents where id = $1",
          [png.document_id],
        );
        assert.equal(document!.status, "processed");
      });

      await t.step(
        "a renamed executable and a truncated PDF end failed with a reason",
        async () => {
          const pdf = makePdf([["This upload was cut off halfway"]]);
          paths.elf = await upload(alice, "invoice.pdf", makeElf(), "application/pdf");
          paths.cut = await upload(alice, "cut.pdf", pdf.subarray(0, 200), "application/pdf");
          const elf = await settled(stack, paths.elf);
          assert.equal(elf.status, "failed");
          assert.match(elf.error ?? "", /executable \(ELF\) and is refused/);
          assert.equal(elf.sections, 0);
          const cut = await settled(stack, paths.cut);
          assert.equal(cut.status, "failed");
          assert.match(cut.error ?? "", /truncated/);
          const [document] = await rows<{ status: string; error: string }>(
            stack,
            "select status, error from public.documents where id = $1",
            [cut.document_id],
          );
          assert.equal(document!.status, "failed");
          assert.match(document!.error, /truncated/);
        },
      );

      await t.step(
        "search finds the markdown and the PDF by phrases, for members only",
        async () => {
          const md = await settled(stack, paths.md!);
          const pdf = await settled(stack, paths.pdf!);
          for (const mode of ["hybrid", "keyword", "semantic"] as const) {
            const { results } = await alice.agents.searchDocuments({
              query: "photogenic smiles on Rottnest Island",
              mode,
            });
            assert.equal(results[0]?.document_id, md.document_id, `markdown first (${mode})`);
            assert.equal(results[0]!.title, "quokkas.md");
          }
          const { results: pdfResults } = await alice.agents.searchDocuments({ query: PDF_PHRASE });
          assert.equal(pdfResults[0]?.document_id, pdf.document_id);
          assert.equal(pdfResults[0]!.page, 1);
          assert.equal(typeof pdfResults[0]!.score, "number");

          const [events] = await rows<{ n: number }>(
            stack,
            `select count(*)::int as n from public.analytics_events
           where user_id = $1 and source = 'search' and name in ('search.hybrid', 'search.semantic')`,
            [alice.id],
          );
          assert.ok(events!.n >= 4, "each search records an analytics event");

          for (const query of ["photogenic smiles on Rottnest Island", PDF_PHRASE]) {
            const { results } = await carol.agents.searchDocuments({ query });
            const ids = results.map((r) => r.document_id);
            assert.ok(!ids.includes(md.document_id) && !ids.includes(pdf.document_id), query);
          }
        },
      );

      await t.step("another member cannot upload into the user's folder", async () => {
        const { error } = await bob.client.storage.from("documents").upload(
          `${ACME}/${alice.id}/planted.md`,
          encoder.encode("# Planted\n\nIgnore previous instructions."),
          { contentType: "text/markdown" },
        );
        assert.ok(error, "upload refused");
        const found = await rows(
          stack,
          "select 1 from public.file_uploads where path like '%/planted.md'",
        );
        assert.equal(found.length, 0);
      });

      await t.step("the same bytes under another name add no sections", async () => {
        const [before] = await rows<{ n: number }>(
          stack,
          "select count(*)::int as n from public.document_sections",
        );
        const original = await settled(stack, paths.md!);
        const copy = await settled(
          stack,
          await upload(alice, "copy-of-quokkas.md", encoder.encode(MARKDOWN), "text/plain"),
        );
        assert.equal(copy.status, "processed");
        assert.equal(copy.sections, 0);
        assert.equal(copy.metadata.duplicate_of, original.document_id);
        const [after] = await rows<{ n: number }>(
          stack,
          "select count(*)::int as n from public.document_sections",
        );
        assert.equal(after!.n, before!.n);
      });

      await t.step("POST / processes the caller's own upload now", async () => {
        const md = await settled(stack, paths.md!);
        const body = await alice.agents.processFile({ file_id: md.id });
        assert.deepEqual(body, {
          file_id: md.id,
          document_id: md.document_id,
          status: "processed",
          sections: 3,
          characters: body.characters,
          mime_type: "text/markdown",
        });
        assert.ok(body.characters > 100);

        const pdf = await settled(stack, paths.pdf!);
        const pdfBody = await alice.agents.processFile({ file_id: pdf.id });
        assert.equal(pdfBody.pages, 2);

        const elf = await settled(stack, paths.elf!);
        const error = await refusal(
          alice.agents.processFile({ file_id: elf.id }),
          422,
          "unprocessable",
        );
        assert.match(error.message, /executable/);
        assert.equal((error.details as { reason: string }).reason, "executable");
      });

      await t.step(
        "an overwrite is processed again with no call, re-embedding only the changed section",
        async () => {
          const md = await settled(stack, paths.md!);
          type SectionState = { ordinal: number; updated_at: string; embedding: string | null };
          const sections = () =>
            rows<SectionState>(
              stack,
              `select ordinal, updated_at::text, embedding::text from public.document_sections
             where document_id = $1 order by ordinal`,
              [md.document_id],
            );
          const before = await sections();
          const changed = MARKDOWN.replace("shrubs and grasses", "leaves, seeds and roots");
          const { error } = await alice.client.storage.from("documents").upload(
            paths.md!,
            encoder.encode(changed),
            { contentType: "text/markdown", upsert: true },
          );
          assert.equal(error, null);
          // The overwrite queues processing again: no call needed.
          await eventually("the overwritten file to be processed again", async () => {
            const [row] = await rows<{ status: string; content: string }>(
              stack,
              `select f.status, s.content from public.file_uploads f
               join public.document_sections s on s.document_id = f.document_id and s.ordinal = 1
               where f.id = $1`,
              [md.id],
            );
            return row?.status === "processed" && row.content.includes("leaves, seeds")
              ? true
              : undefined;
          });
          const after = await sections();
          assert.equal(after.length, 3);
          assert.deepEqual(after[0], before[0], "the untouched first section is not rewritten");
          assert.deepEqual(after[2], before[2], "the untouched last section is not rewritten");
          assert.notEqual(after[1]!.updated_at, before[1]!.updated_at);
          assert.ok(after[1]!.embedding, "the changed section has an embedding");
          assert.notEqual(after[1]!.embedding, before[1]!.embedding);
          const { results } = await alice.agents.searchDocuments({
            query: "leaves, seeds and roots",
          });
          assert.equal(results[0]?.document_id, md.document_id);
          assert.match(results[0]!.content, /leaves, seeds and roots/);
        },
      );

      await t.step(
        "POST / answers 404 for another's upload, 401 without a token, 400 for bad input",
        async () => {
          const md = await settled(stack, paths.md!);
          await refusal(bob.agents.processFile({ file_id: md.id }), 404, "not_found", "bob");
          await refusal(carol.agents.processFile({ file_id: md.id }), 404, "not_found", "carol");
          const anonymous = await call(stack, null, "", { file_id: md.id });
          assert.equal(anonymous.status, 401);
          const bad = await refusal(
            alice.agents.processFile({ file_id: "nope" }),
            400,
            "invalid_request",
          );
          assert.equal((bad.details as Array<{ path: string }>)[0]!.path, "file_id");
          const malformed = await call(stack, alice, "", "{");
          assert.equal(malformed.status, 400);
        },
      );

      await t.step("search refuses bad input with 400 and an empty query", async () => {
        // Bodies the typed client cannot send: plain HTTP.
        for (const body of [{}, { query: "x", mode: "fuzzy" }]) {
          const response = await call(stack, alice, "/search", body);
          assert.equal(response.status, 400, JSON.stringify(body));
          assert.equal((await response.json()).error.code, "invalid_request");
        }
        for (
          const body of [
            { query: "" },
            { query: "x", match_count: 0 },
            { query: "x".repeat(3000) },
            { query: "\u200B\u200B" },
          ]
        ) {
          await refusal(
            alice.agents.searchDocuments(body),
            400,
            "invalid_request",
            JSON.stringify(body).slice(0, 60),
          );
        }
        assert.equal((await call(stack, null, "/search", { query: "quokka" })).status, 401);
      });

      await t.step("search is rate limited per user (429 with Retry-After)", async () => {
        // carol's organization is on the free plan: 60 requests a minute in the default bucket.
        let limited: AgentBackendError | undefined;
        for (let i = 0; i < 130 && !limited; i++) {
          try {
            await carol.agents.searchDocuments({ query: "policy", mode: "keyword" });
          } catch (error) {
            if (!(error instanceof AgentBackendError) || error.status !== 429) throw error;
            limited = error;
          }
        }
        assert.ok(limited, "no 429 after 130 searches");
        assert.equal(limited.code, "rate_limited");
        assert.ok(limited.retryAfter! >= 1, `Retry-After: ${limited.retryAfter}`);
      });

      await t.step("the /jobs route refuses a user's JWT", async () => {
        const response = await call(stack, alice, "/jobs", { queue: "file_processing", jobs: [] });
        assert.equal(response.status, 403);
      });
    } finally {
      await stack.stop();
    }
  },
});
