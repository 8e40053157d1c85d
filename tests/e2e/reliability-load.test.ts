/**
 * Reliability under a bounded burst: 300 requests, 16 at a time, mixed across the functions
 * (analytics events, message previews, sync agent runs, knowledge search, summaries, whoami) by
 * two Acme users through the typed client (shared/mod.ts), on the product's local stack with the
 * local AI provider.
 *
 * - no 5xx (429 from the per-plan rate limits is an answer, not a failure);
 * - every analytics event a 200 accepted is stored exactly once, and none of a refused request;
 * - every agent run the burst started has finished (completed or failed; none pending/running),
 *   one per accepted run.
 */
import assert from "node:assert/strict";
import { startStack } from "../../local/stack.ts";
import {
  ACME,
  ACME_SUPPORT,
  notStandardClientError,
  outcome,
  signIn,
} from "./reliability-support.ts";

const REQUESTS = 300;
const CONCURRENCY = 16;

Deno.test({
  name: "reliability: a burst of 300 mixed requests at concurrency 16",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const stack = await startStack({
      apiPort: 0,
      // A wire port, so the suite also runs with FUNCTIONS_MODE=isolated (CI's second pass).
      dbPort: 0,
      dataDir: null,
      workers: false,
      functionLogLevel: "error",
    });
    try {
      const users = [
        await signIn(stack, "alice@acme.test"),
        await signIn(stack, "bob@acme.test"),
      ];
      const conversations: string[] = [];
      for (const user of users) {
        const { data, error } = await user.client.from("conversations")
          .insert({ agent_id: ACME_SUPPORT, title: "load" }).select("id").single();
        assert.equal(error, null);
        conversations.push(data!.id as string);
      }
      const executionsBefore = (await stack.session.query<{ n: number }>(
        "select count(*)::int as n from public.agent_executions",
      )).rows[0]!.n;

      const statuses: Record<string, number> = {};
      const problems: string[] = [];
      let acceptedEvents = 0;
      let acceptedRuns = 0;
      const send = async (i: number) => {
        const who = i % 2;
        const agents = users[who]!.agents;
        let fn: string;
        let result: Awaited<ReturnType<typeof outcome<unknown>>>;
        switch (i % 6) {
          case 0:
            fn = "analytics-tracker";
            result = await outcome(agents.trackEvents({
              organization_id: ACME,
              events: [0, 1, 2].map((k) => ({
                id: `load-${i}-${k}`,
                name: "load.event",
                duration_ms: i + k,
              })),
            }));
            break;
          case 1:
            fn = "message-preprocess";
            result = await outcome(agents.preprocessMessages({
              conversation_id: conversations[who]!,
              content: `Request ${i}: mail me at someone${i}@example.com`,
              store: false,
            }));
            break;
          case 2:
            fn = "execute-agent";
            result = await outcome(agents.executeAgent({
              agent_id: ACME_SUPPORT,
              input: `Question ${i} about the anvil warranty`,
            }));
            break;
          case 3:
            fn = "file-processor/search";
            result = await outcome(agents.searchDocuments({
              query: `warranty claim ${i}`,
              mode: "hybrid",
              match_count: 3,
            }));
            break;
          case 4:
            fn = "analytics-tracker/summary";
            result = await outcome(users[0]!.agents.analyticsSummary({ organization_id: ACME }));
            break;
          default:
            fn = "whoami";
            result = await outcome(agents.whoami());
        }
        const { status } = result;
        statuses[`${fn} ${status}`] = (statuses[`${fn} ${status}`] ?? 0) + 1;
        if ("error" in result) {
          const { error } = result;
          if (status !== 429) {
            problems.push(`${fn} #${i}: ${status} ${error.code} ${error.message.slice(0, 200)}`);
          } else if (notStandardClientError(error)) {
            problems.push(`${fn} #${i}: 429 ${notStandardClientError(error)}`);
          }
        } else if (fn === "analytics-tracker") {
          acceptedEvents += (result.body as { accepted: number }).accepted;
        } else if (fn === "execute-agent") {
          acceptedRuns++;
        }
      };

      let next = 0;
      await Promise.all(
        Array.from({ length: CONCURRENCY }, async () => {
          while (next < REQUESTS) await send(next++);
        }),
      );

      assert.deepEqual(problems, [], JSON.stringify(statuses));
      const { rows: [events] } = await stack.session.query<{ n: number; distinct_ids: number }>(
        `select count(*)::int as n, count(distinct client_id)::int as distinct_ids
         from public.analytics_events where client_id like 'load-%'`,
      );
      assert.equal(events!.n, acceptedEvents, "every accepted event stored, none else");
      assert.equal(events!.distinct_ids, events!.n, "each event once");
      assert.ok(acceptedEvents > 0 && acceptedRuns > 0, JSON.stringify(statuses));

      const { rows: runs } = await stack.session.query<{ status: string; n: number }>(
        `select status, count(*)::int as n from public.agent_executions group by status`,
      );
      const byStatus = Object.fromEntries(runs.map((r) => [r.status, r.n]));
      assert.equal((byStatus.pending ?? 0) + (byStatus.running ?? 0), 0, JSON.stringify(byStatus));
      assert.equal(
        runs.reduce((s, r) => s + r.n, 0) - executionsBefore,
        acceptedRuns,
        `one execution per accepted run: ${JSON.stringify(byStatus)}`,
      );
    } finally {
      await stack.stop();
    }
  },
});
