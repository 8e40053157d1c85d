/**
 * file-processor's queue worker driven directly (the stack's own dispatcher is off): a file that
 * outlives its time limit ends `failed` while the other file of the batch is processed, a job
 * whose upload is gone completes, a malformed payload fails, and every job is reported in
 * private.jobs. The app is built in-process on the stack's database and Storage API, with a short
 * per-file time limit and a 4 MB size limit; nothing is faked.
 */
import assert from "node:assert/strict";
import { createClient } from "@supabase/supabase-js";
import { startStack } from "../../local/stack.ts";
import { createLocalProvider } from "../../supabase/functions/_shared/ai/local.ts";
import { loadConfig } from "../../supabase/functions/_shared/config.ts";
import { createDb } from "../../supabase/functions/_shared/db/mod.ts";
import { createSessionDriver } from "../../supabase/functions/_shared/db/session.ts";
import type { Deps } from "../../supabase/functions/_shared/deps.ts";
import { createLogger } from "../../supabase/functions/_shared/logger.ts";
import { createApp } from "../../supabase/functions/file-processor/app.ts";
import { makePdf, MARKDOWN } from "../fixtures/files/mod.ts";
import { eventually } from "./support.ts";

const ACME = "10000000-0000-4000-8000-000000000001";

Deno.test({
  name: "file-processor's worker bounds each file and reports every job",
  // This test builds file-processor in-process whatever FUNCTIONS_MODE says, so CI's isolated
  // pass would only repeat it.
  ignore: Deno.env.get("FUNCTIONS_MODE") === "isolated",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const stack = await startStack({
      apiPort: 0,
      dbPort: 0,
      dataDir: null,
      functionLogLevel: "error",
      workers: false,
    });
    try {
      const config = loadConfig({
        ...stack.functionEnv,
        SUPABASE_URL: stack.apiUrl,
        FILE_MAX_BYTES: String(4 * 1024 * 1024),
      });
      const deps: Deps = {
        config,
        db: createDb(createSessionDriver(stack.session)),
        verifyJwt: stack.keys.verify,
        logger: createLogger({}, { level: "error" }),
        ai: createLocalProvider(),
        now: () => new Date(),
      };
      const app = createApp(deps, { fileTimeLimitMs: 200 });

      const anon = createClient(stack.apiUrl, stack.anonKey, { auth: { persistSession: false } });
      const { data } = await anon.auth.signInWithPassword({
        email: "alice@acme.test",
        password: "password123",
      });
      const alice = createClient(stack.apiUrl, stack.anonKey, {
        auth: { persistSession: false },
        global: { headers: { Authorization: `Bearer ${data.session!.access_token}` } },
      });
      const folder = `${ACME}/${data.user!.id}`;
      // 400 pages of text: seconds of extraction, far past a 200 ms limit on any machine.
      const line = "Every page of this long report repeats the same careful sentence about rivers.";
      const big = makePdf(Array.from({ length: 400 }, () => Array(30).fill(line)));
      for (
        const [name, bytes] of [["long.pdf", big], [
          "short.md",
          new TextEncoder().encode(MARKDOWN),
        ]] as const
      ) {
        const { error } = await alice.storage.from("documents").upload(`${folder}/${name}`, bytes);
        assert.equal(error, null);
      }
      const jobs = (await stack.session.query<{ id: string; payload: Record<string, unknown> }>(
        `select id, payload from private.jobs where queue = 'file_processing' order by created_at`,
      )).rows;
      assert.equal(jobs.length, 2);
      const goneJob = crypto.randomUUID();
      const malformedJob = crypto.randomUUID();
      await stack.session.query(
        `insert into private.jobs (id, queue, payload) values
           ($1, 'file_processing', jsonb_build_object('file_upload_id', gen_random_uuid())),
           ($2, 'file_processing', '{"file_upload_id": "not-a-uuid"}')`,
        [goneJob, malformedJob],
      );
      const claimed = (await stack.session.query<
        { id: string; payload: Record<string, unknown>; attempt: number }
      >(
        `select id, payload, attempt from private.claim_jobs('file_processing', 10)`,
      )).rows;
      assert.equal(claimed.length, 4);

      const response = await app.request("/file-processor/jobs", {
        method: "POST",
        headers: { authorization: `Bearer ${stack.jobSecret}`, "content-type": "application/json" },
        body: JSON.stringify({
          queue: "file_processing",
          jobs: claimed.map((j) => ({ id: j.id, payload: j.payload, attempt: j.attempt })),
        }),
      });
      assert.equal(response.status, 202, "answered at once, worked in the background");

      const states = await eventually("every job to be reported", async () => {
        const rows =
          (await stack.session.query<{ id: string; status: string; last_error: string | null }>(
            `select id, status, last_error from private.jobs where queue = 'file_processing'`,
          )).rows;
        return rows.every((r) => r.status !== "running") ? rows : undefined;
      });
      const byId = new Map(states.map((s) => [s.id, s]));
      for (const job of jobs) assert.equal(byId.get(job.id)!.status, "completed");
      assert.equal(byId.get(goneJob)!.status, "completed", "a job whose upload is gone completes");
      assert.equal(byId.get(malformedJob)!.status, "queued", "a malformed payload fails (retried)");
      assert.match(byId.get(malformedJob)!.last_error ?? "", /file_upload_id/);

      const uploads =
        (await stack.session.query<{ path: string; status: string; error: string | null }>(
          "select path, status, error from public.file_uploads order by path",
        )).rows;
      const long = uploads.find((u) => u.path.endsWith("long.pdf"))!;
      const short = uploads.find((u) => u.path.endsWith("short.md"))!;
      assert.equal(long.status, "failed");
      assert.match(long.error ?? "", /took longer than 200 ms to process; split it/);
      assert.equal(short.status, "processed", short.error ?? "");

      // Over FILE_MAX_BYTES: refused from the upload's recorded size, before any download; the
      // direct route answers 413 with the same reason.
      const huge = new TextEncoder().encode("a ".repeat(2.5 * 1024 * 1024));
      const { error } = await alice.storage.from("documents").upload(`${folder}/huge.txt`, huge);
      assert.equal(error, null);
      const [hugeUpload] = (await stack.session.query<{ id: string }>(
        "select id from public.file_uploads where path like '%/huge.txt'",
      )).rows;
      const direct = await app.request("/file-processor", {
        method: "POST",
        headers: {
          authorization: `Bearer ${data.session!.access_token}`,
          "content-type": "application/json",
        },
        body: JSON.stringify({ file_id: hugeUpload!.id }),
      });
      assert.equal(direct.status, 413);
      const body = await direct.json();
      assert.equal(body.error.code, "payload_too_large");
      assert.equal(body.error.message, "The file is 5 MB; the limit is 4 MB");
      const [recorded] = (await stack.session.query<{ status: string; error: string }>(
        "select status, error from public.file_uploads where id = $1",
        [hugeUpload!.id],
      )).rows;
      assert.deepEqual(recorded, {
        status: "failed",
        error: "The file is 5 MB; the limit is 4 MB",
      });
    } finally {
      await stack.stop();
    }
  },
});
