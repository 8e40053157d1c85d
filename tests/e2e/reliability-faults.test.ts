/**
 * Reliability under faults, on the product's local stack with the seed and the openai provider
 * pointed at a fake OpenAI server (tests/fixtures/fake-openai.ts). Workers are off: the test
 * plays the dispatcher itself, so it decides when a worker "dies".
 *
 * - The AI provider failing (500), slow (past AI_TIMEOUT_MS) and rate limiting (429): every
 *   function that calls it answers a clean 502/504 with the standard body, nothing is
 *   half-written (no message without its embedding, no summary, no run left pending or running),
 *   a summary lease is not left held, and the same call works once the provider is back.
 * - A worker dying mid-batch: of a claimed batch of document_embeddings jobs, two are reported,
 *   one took effect but was never reported and one never ran; after the (shortened) visibility
 *   timeout exactly the two unreported jobs come back, and every section is embedded exactly
 *   once (each section's text reached the provider once).
 * - A statement timeout in the database: PGlite has no timers, so statement_timeout never fires
 *   there; a trigger raises the error a timeout raises (SQLSTATE 57014) in the middle of a
 *   write instead. Clean 504, nothing written, no run left running.
 * The functions are called through the typed client (shared/mod.ts); the workers' /jobs route
 * with plain HTTP, as the dispatcher calls it.
 */
import assert from "node:assert/strict";
import { startStack } from "../../local/stack.ts";
import { type FakeOpenAI, startFakeOpenAI } from "../fixtures/fake-openai.ts";
import type { AgentBackendError } from "../../shared/mod.ts";
import {
  ACME_SUPPORT,
  call,
  notStandardClientError,
  outcome,
  read,
  signIn,
} from "./reliability-support.ts";
import { eventually } from "./support.ts";

const JOB_SECRET = "e2e-reliability-faults-job-secret-0123456789";

/** The error a typed client call fails with; a success fails the test. */
async function failure(call: Promise<unknown>): Promise<AgentBackendError> {
  const result = await outcome(call);
  if ("error" in result) return result.error;
  assert.fail(`Expected a failure, got ${JSON.stringify(result.body).slice(0, 200)}`);
}

Deno.test({
  name: "reliability: provider failures, a worker dying mid-batch, a statement timeout",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const fake: FakeOpenAI = await startFakeOpenAI({ mode: "ok" });
    const stack = await startStack({
      apiPort: 0,
      // A wire port, so the suite also runs with FUNCTIONS_MODE=isolated (CI's second pass).
      dbPort: 0,
      dataDir: null,
      workers: false,
      functionLogLevel: "error",
      functionEnv: {
        JOB_SECRET,
        OPENAI_API_KEY: "sk-test-reliability",
        OPENAI_BASE_URL: fake.url,
        // Well above an answer of the fake under a loaded CI machine, well below "slow".
        AI_TIMEOUT_MS: "2500",
        AI_MAX_RETRIES: "1",
      },
    });
    const count = async (sql: string, params: unknown[] = []) =>
      (await stack.session.query<{ n: number }>(
        `select count(*)::int as n from (${sql}) q`,
        params,
      )).rows[0]!.n;
    try {
      const alice = await signIn(stack, "alice@acme.test");
      const { data, error } = await alice.client.from("conversations")
        .insert({ agent_id: ACME_SUPPORT, title: "faults" }).select("id").single();
      assert.equal(error, null);
      const conversation = data!.id as string;
      // A message to summarise.
      await alice.agents.preprocessMessages({
        conversation_id: conversation,
        content: "The anvil arrived dented.",
      });

      const unfinishedRuns = async () =>
        JSON.stringify(
          (await stack.session.query(
            `select status, error, started_at, updated_at from public.agent_executions
             where status in ('pending', 'running')`,
          )).rows,
        );
      /** Every provider-calling route once; returns failures (status or body). */
      const exercise = async (wanted: number[]) => {
        const problems: string[] = [];
        const { agents } = alice;
        const requests: Array<[string, () => Promise<unknown>]> = [
          [
            "execute-agent",
            () => agents.executeAgent({ agent_id: ACME_SUPPORT, input: "Where is my anvil?" }),
          ],
          [
            "message-preprocess",
            () =>
              agents.preprocessMessages({
                conversation_id: conversation,
                content: "A new message",
              }),
          ],
          [
            "conversation-summarize",
            () => agents.summarizeConversation({ conversation_id: conversation, force: true }),
          ],
          [
            "file-processor/search",
            () => agents.searchDocuments({ query: "warranty claim", mode: "semantic" }),
          ],
        ];
        for (const [fn, send] of requests) {
          const result = await outcome(send());
          const { status } = result;
          const problem = !wanted.includes(status)
            ? `status ${status} (want ${wanted.join("/")})`
            : "error" in result
            ? notStandardClientError(result.error)
            : null;
          if (problem) {
            const said = "error" in result
              ? `${result.error.code}: ${result.error.message}`
              : JSON.stringify(result.body);
            problems.push(`${fn}: ${problem} ${said.slice(0, 160)}`);
          }
        }
        return problems;
      };
      const footprint = async () => ({
        messages: await count("select 1 from public.messages"),
        // message-preprocess's messages carry their embedding (execute-agent's do not).
        unembedded: await count(
          "select 1 from public.messages where embedding is null and conversation_id = $1",
          [conversation],
        ),
        summaries: await count(
          "select 1 from public.conversations where summary is not null and id = $1",
          [conversation],
        ),
        unfinished: await count(
          "select 1 from public.agent_executions where status in ('pending', 'running')",
        ),
        assistant: await count("select 1 from public.messages where role = 'assistant'"),
      });

      for (
        const [mode, status] of [["server_error", 502], ["slow", 504], [
          "rate_limited",
          502,
        ]] as const
      ) {
        await t.step(
          `the provider ${mode}: ${status} everywhere, nothing half-written`,
          async () => {
            // A message the summary does not cover yet, so the summarizer must call the model.
            await alice.agents.preprocessMessages({
              conversation_id: conversation,
              content: `Before the ${mode} fault.`,
            });
            fake.setMode(mode, { delayMs: 8000, retryAfterSeconds: 0 });
            const before = await footprint();
            const asked = fake.requests.length;
            assert.deepEqual(await exercise([status]), []);
            const after = await footprint();
            // execute-agent keeps the user's message of a failed run (the run failed, with its
            // reason); nothing else is written and no run is left going.
            assert.equal(
              after.unembedded,
              before.unembedded,
              "no message stored without embedding",
            );
            assert.equal(after.assistant, before.assistant, "no assistant answer");
            assert.equal(after.summaries, before.summaries, "no summary");
            assert.equal(after.unfinished, 0, await unfinishedRuns());
            assert.ok(fake.requests.length > asked, "the provider was called");
            if (mode === "rate_limited") {
              // The SDK retried (AI_MAX_RETRIES = 1) before giving up.
              assert.ok(fake.requests.length - asked >= 8, `${fake.requests.length - asked} calls`);
            }
            fake.setMode("ok");
            assert.deepEqual(await exercise([200]), [], "works again once the provider is back");
          },
        );
      }

      await t.step(
        "a worker dying mid-batch: its jobs come back, each takes effect once",
        async () => {
          await stack.session.exec(
            `update private.job_queues set visibility_timeout = interval '1 second'
           where name = 'document_embeddings'`,
          );
          const { rows: claimed } = await stack.session.query<
            { id: string; payload: Record<string, unknown>; attempt: number }
          >("select * from private.claim_jobs('document_embeddings', 4)");
          assert.ok(claimed.length >= 3, `${claimed.length} seed embedding jobs`);
          const documents = claimed.map((j) => j.payload.document_id as string);
          const pending = (doc: string) =>
            count(
              "select 1 from public.document_sections where document_id = $1 and embedding is null",
              [doc],
            );
          const post = async (jobs: typeof claimed) => {
            const { status, body } = await read(
              await call(stack, "file-processor", JOB_SECRET, {
                path: "/jobs",
                body: { queue: "document_embeddings", jobs },
              }),
            );
            assert.ok(status === 200 || status === 202, `${status} ${JSON.stringify(body)}`);
          };
          const embedCallsBefore = fake.requests.filter((r) =>
            r.path.endsWith("/embeddings")
          ).length;
          const [first, second, third, ...rest] = claimed;
          // Reported: the first two.
          await post([first!, second!]);
          // Took effect, never reported: the worker died after the work, before complete_job.
          await post([{ ...third!, id: crypto.randomUUID() }]);
          const state = async () =>
            JSON.stringify({
              jobs: (await stack.session.query(
                "select id, status, attempts, last_error from private.jobs where id = any($1)",
                [claimed.map((j) => j.id)],
              )).rows,
              pending: await Promise.all(documents.map(pending)),
            });
          await eventually(`the reported jobs completed and the third's work done`, async () =>
            (await count(
                  "select 1 from private.jobs where id = any($1) and status = 'completed'",
                  [[first!.id, second!.id]],
                )) === 2 && (await pending(third!.payload.document_id as string)) === 0
              ? true
              : undefined).catch(async (error) => {
              throw new Error(`${error.message}: ${await state()}`);
            });
          // The rest never ran. After the visibility timeout the unreported jobs come back.
          await new Promise((r) =>
            setTimeout(r, 1500)
          );
          const { rows: again } = await stack.session.query<
            { id: string; payload: Record<string, unknown>; attempt: number }
          >("select * from private.claim_jobs('document_embeddings', 10)");
          assert.deepEqual(
            again.map((j) => j.id).sort(),
            [third!.id, ...rest.map((j) => j.id)].sort(),
            "exactly the unreported jobs are claimed again",
          );
          assert.ok(again.every((j) => j.attempt === 2));
          await post(again);
          await eventually("every claimed job completed", async () =>
            (await count(
                "select 1 from private.jobs where id = any($1) and status = 'completed'",
                [claimed.map((j) => j.id)],
              )) === claimed.length
              ? true
              : undefined);
          for (const doc of documents) assert.equal(await pending(doc), 0, `document ${doc}`);
          // Exactly once: every section's text went to the provider once across both attempts.
          const { rows: sections } = await stack.session.query<{ content: string }>(
            "select content from public.document_sections where document_id = any($1)",
            [documents],
          );
          const inputs = fake.requests.filter((r) => r.path.endsWith("/embeddings"))
            .slice(embedCallsBefore)
            .flatMap((r) => {
              const input = r.body?.input;
              return Array.isArray(input) ? input as string[] : [String(input)];
            });
          for (const section of sections) {
            const times = inputs.filter((text) => text.includes(section.content)).length;
            assert.equal(times, 1, `embedded ${times} times: ${section.content.slice(0, 60)}`);
          }
          assert.equal(
            await count("select 1 from private.dead_jobs where queue = 'document_embeddings'"),
            0,
          );
          assert.equal(
            await count(
              "select 1 from private.jobs where queue = 'document_embeddings' and status = 'running'",
            ),
            0,
          );
        },
      );

      await t.step(
        "a statement timeout mid-write: 504, nothing written, nothing running",
        async () => {
          await stack.session.exec(
            `create function public.reliability_statement_timeout() returns trigger
           language plpgsql as $$
           begin
             raise exception 'canceling statement due to statement timeout' using errcode = '57014';
           end $$;
           create trigger reliability_statement_timeout before insert on public.analytics_events
             for each row execute function public.reliability_statement_timeout();
`,
          );
          try {
            const events = await count("select 1 from public.analytics_events");
            const tracked = await failure(
              alice.agents.trackEvents({
                events: [{ name: "reliability.timeout" }, { name: "reliability.other" }],
              }),
            );
            assert.equal(tracked.status, 504, `${tracked.code}: ${tracked.message}`);
            assert.equal(notStandardClientError(tracked), null);
            assert.equal(await count("select 1 from public.analytics_events"), events);

            // One statement times out, the next ones run (a timeout is per statement): the run's
            // answer fails to be written, its failure is recorded.
            await stack.session.exec(
              `drop trigger reliability_statement_timeout on public.analytics_events;
             create trigger reliability_statement_timeout before insert on public.messages
               for each row when (new.role = 'assistant')
               execute function public.reliability_statement_timeout();`,
            );
            const assistant = await count("select 1 from public.messages where role = 'assistant'");
            const run = await failure(
              alice.agents.executeAgent({ agent_id: ACME_SUPPORT, input: "Is the anvil covered?" }),
            );
            assert.equal(run.status, 504, `${run.code}: ${run.message}`);
            assert.equal(notStandardClientError(run), null);
            assert.equal(
              await count("select 1 from public.messages where role = 'assistant'"),
              assistant,
            );
            assert.equal(
              await count(
                "select 1 from public.agent_executions where status in ('pending', 'running')",
              ),
              0,
              await unfinishedRuns(),
            );
          } finally {
            await stack.session.exec(
              `drop trigger if exists reliability_statement_timeout on public.analytics_events;
             drop trigger if exists reliability_statement_timeout on public.messages;
             drop function public.reliability_statement_timeout();`,
            );
          }
        },
      );
    } finally {
      await stack.stop();
      await fake.close();
    }
  },
});
