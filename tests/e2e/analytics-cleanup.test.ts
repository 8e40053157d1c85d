/**
 * analytics-tracker and cleanup-old end to end on the product's local stack (migrations and
 * seed), as the seed users and a machine with the service key call them:
 * - a batch with valid, malformed, too-old and duplicate events is accepted and rejected item by
 *   item, and duplicates are stored once even when the batch is sent twice;
 * - the summary's counts and p95 match what SQL computes from the raw events, before and after
 *   the rollup runs, including a just-sent event;
 * - bob (member) gets 403 for the summary; carol (Globex owner) sees none of Acme's events;
 * - with rows aged past each retention policy, a dry run reports them and changes nothing, then a
 *   real run deletes exactly those and nothing younger, and a second run finds nothing;
 * - cleanup-old refuses user and anon tokens.
 * Calls go through the typed client (shared/mod.ts); plain HTTP only where the request is
 * malformed or the credential itself is the point (none, garbage, the cron job's secret).
 * The pg_cron and pg_net workers are off, so nothing runs behind the test's back; the test calls
 * the rollups itself, as the cron jobs would.
 */
import assert from "node:assert/strict";
import { createClient } from "@supabase/supabase-js";
import { type Stack, startStack } from "../../local/stack.ts";
import {
  type AgentClient,
  type CleanupResponse,
  createAgentClient,
  type SummaryQuery,
} from "../../shared/mod.ts";
import { refusal, signIn } from "./client-support.ts";
import { count, rows } from "./support.ts";

const ACME = "10000000-0000-4000-8000-000000000001";
const GLOBEX = "10000000-0000-4000-8000-000000000002";
const ACME_SUPPORT_AGENT = "20000000-0000-4000-8000-000000000001";
const DAY_MS = 24 * 60 * 60 * 1000;

/** A plain HTTP call to a function, as curl would make it, with a bearer token (or none). */
function call(
  stack: Stack,
  fn: "analytics-tracker" | "cleanup-old",
  bearer: string | null,
  init: { path?: string; method?: string; body?: unknown; raw?: string; apikey?: boolean } = {},
): Promise<Response> {
  const headers = new Headers({ "content-type": "application/json" });
  // The gateway, like the hosted one, takes a missing Authorization from the apikey header.
  if (init.apikey !== false) headers.set("apikey", stack.anonKey);
  if (bearer) headers.set("authorization", `Bearer ${bearer}`);
  const body = init.raw ?? (init.body === undefined ? undefined : JSON.stringify(init.body));
  return fetch(`${stack.apiUrl}/functions/v1/${fn}${init.path ?? ""}`, {
    method: init.method ?? "POST",
    headers,
    ...(body === undefined ? {} : { body }),
  });
}

async function json<T = Record<string, unknown>>(
  response: Response,
  status: number,
): Promise<T> {
  const text = await response.text();
  assert.equal(response.status, status, text);
  return JSON.parse(text) as T;
}

/** A client with a bearer of its own (the service key), as a backend app would make it. */
function agentsWith(stack: Stack, bearer: string): AgentClient {
  return createAgentClient(
    createClient(stack.apiUrl, bearer, {
      auth: { persistSession: false, autoRefreshToken: false },
    }),
  );
}

function affectedByPolicy(body: CleanupResponse): Record<string, number> {
  return Object.fromEntries(body.actions.map((a) => [a.policy, a.affected]));
}

/** What the summary must say: the same figures computed by SQL over the raw events. */
async function expectedSeries(stack: Stack, granularity: "hour" | "day", name: string) {
  return await rows<{ bucket: Date; count: number; errors: number; p95: number | null }>(
    stack,
    `select date_trunc($2, occurred_at, 'UTC') as bucket, count(*)::integer as count,
            (count(*) filter (where is_error))::integer as errors,
            percentile_cont(0.95) within group (order by duration_ms) as p95
     from public.analytics_events
     where organization_id = $1 and name = $3
     group by 1 order by 1`,
    [ACME, granularity, name],
  );
}

Deno.test({
  name: "analytics-tracker and cleanup-old on the local stack",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const stack = await startStack({
      apiPort: 0,
      // A wire port, so FUNCTIONS_MODE=isolated (functions in their own processes) works too.
      dbPort: 0,
      dataDir: null,
      workers: false,
      functionLogLevel: "error",
    });
    try {
      const alice = await signIn(stack, "alice@acme.test");
      const bob = await signIn(stack, "bob@acme.test");
      const carol = await signIn(stack, "carol@globex.test");
      const now = Date.now();

      await t.step("a mixed batch is accepted and rejected item by item, twice", async () => {
        const batch = {
          organization_id: ACME,
          events: [
            { id: "evt-1", name: "api.call", duration_ms: 120, properties: { tokens: 40 } },
            { name: "Bad Name!" },
            {
              id: "evt-3",
              name: "api.call",
              occurred_at: new Date(now - 8 * DAY_MS).toISOString(),
            },
            { id: "evt-1", name: "api.call", duration_ms: 120, properties: { tokens: 40 } },
            { id: "evt-5", name: "api.call", duration_ms: 480, properties: { outcome: "error" } },
            { name: "big.props", properties: { blob: "x".repeat(9000) } },
            { name: "api.call", occurred_at: new Date(now + 10 * 60_000).toISOString() },
            { name: "page.view", session_id: "s-1" },
            "not an object",
          ],
        };
        const first = await alice.agents.trackEvents(batch);
        assert.equal(first.accepted, 3);
        assert.equal(first.duplicates, 1);
        assert.deepEqual(first.rejected.map((r) => r.index), [1, 2, 5, 6, 8]);
        assert.match(first.rejected[1]!.error, /7 days/);
        assert.match(first.rejected[2]!.error, /9\d{3} bytes/);
        assert.match(first.rejected[3]!.error, /ahead/);

        const second = await alice.agents.trackEvents(batch);
        // Only the event without an id is new; evt-1 (twice) and evt-5 are duplicates.
        assert.deepEqual([second.accepted, second.duplicates, second.rejected.length], [1, 3, 5]);

        const stored = await rows<{ client_id: string | null; n: number }>(
          stack,
          `select client_id, count(*)::integer as n from public.analytics_events
           where organization_id = $1 and source = 'client' group by 1 order by 1`,
          [ACME],
        );
        assert.deepEqual(stored, [
          { client_id: "evt-1", n: 1 },
          { client_id: "evt-5", n: 1 },
          { client_id: null, n: 2 },
        ]);
        const [evt5] = await rows<{ is_error: boolean; user_id: string }>(
          stack,
          "select is_error, user_id from public.analytics_events where client_id = 'evt-5'",
        );
        assert.deepEqual(evt5, { is_error: true, user_id: alice.id });
      });

      await t.step("bad requests get 4xx JSON and store nothing", async () => {
        const before = await count(stack, "select 1 from public.analytics_events");
        await refusal(
          alice.agents.trackEvents({ organization_id: GLOBEX, events: [{ name: "api.call" }] }),
          403,
          "forbidden",
        );
        const empty = await refusal(
          alice.agents.trackEvents({ events: [] }),
          400,
          "invalid_request",
        );
        assert.ok(Array.isArray(empty.details), "the field errors as details");
        await refusal(
          alice.agents.trackEvents({
            events: Array.from({ length: 501 }, () => ({ name: "a.b" })),
          }),
          400,
          "invalid_request",
        );
        // A signed-out app: supabase-js sends the anon key as the bearer.
        await refusal(
          agentsWith(stack, stack.anonKey).trackEvents({ events: [{ name: "a.b" }] }),
          401,
          "unauthenticated",
        );
        const anonymous = await json<{ error: { code: string } }>(
          await call(stack, "analytics-tracker", null, { body: { events: [{ name: "a.b" }] } }),
          401,
        );
        assert.equal(anonymous.error.code, "unauthenticated");
        const anonKey = await call(stack, "analytics-tracker", stack.anonKey, {
          body: { events: [{ name: "a.b" }] },
        });
        assert.equal(anonKey.status, 401);
        await anonKey.body?.cancel();
        assert.equal(await count(stack, "select 1 from public.analytics_events"), before);
      });

      await t.step("the service credential sends events for a given organization", async () => {
        const service = agentsWith(stack, stack.serviceRoleKey);
        const sent = await service.trackEvents({
          organization_id: ACME,
          events: [{ id: "svc-1", name: "api.call", duration_ms: 900 }],
        });
        assert.equal(sent.accepted, 1);
        await refusal(
          service.trackEvents({ events: [{ name: "api.call" }] }),
          400,
          "invalid_request",
        );
      });

      await t.step("the summary's counts and p95 match SQL over the raw events", async () => {
        // Twenty more calls over the last hours, some of them errors.
        const events = Array.from({ length: 20 }, (_, i) => ({
          id: `load-${i}`,
          name: "api.call",
          occurred_at: new Date(now - (i % 3) * 60 * 60_000).toISOString(),
          duration_ms: 13 * (i + 1),
          properties: i % 7 === 0 ? { outcome: "failed" } : { tokens: i },
        }));
        const loaded = await alice.agents.trackEvents({ organization_id: ACME, events });
        assert.equal(loaded.accepted, events.length);

        async function check(label: string) {
          for (const granularity of ["hour", "day"] as const) {
            const from = new Date(now - 2 * DAY_MS).toISOString();
            const to = new Date(Date.now() + 60 * 60_000).toISOString();
            const query: SummaryQuery = {
              organization_id: ACME,
              granularity,
              name: "api.call",
              from,
              to,
            };
            const body = await alice.agents.analyticsSummary(query);
            assert.deepEqual(
              [body.organization_id, body.granularity, body.from, body.to],
              [ACME, granularity, from, to],
            );
            const expected = await expectedSeries(stack, granularity, "api.call");
            assert.deepEqual(
              body.series.map((p) => ({
                bucket: p.bucket,
                count: p.count,
                error_rate: p.error_rate,
                p95: p.p95_ms,
              })),
              expected.map((e) => ({
                bucket: new Date(e.bucket).toISOString(),
                count: e.count,
                error_rate: e.errors / e.count,
                p95: e.p95,
              })),
              `${label} (${granularity})`,
            );
          }
        }

        await check("from raw events only");
        await rows(
          stack,
          "select private.rollup_analytics_hourly(now()), private.rollup_analytics_daily(now())",
        );
        assert.ok(await count(stack, "select 1 from public.analytics_hourly_rollups") > 0);
        await check("from the rollups");
        const late = await alice.agents.trackEvents({
          organization_id: ACME,
          events: [{ name: "api.call", duration_ms: 5000 }],
        });
        assert.equal(late.accepted, 1);
        await check("with a just-sent event the rollup has not seen");
      });

      await t.step("a member gets 403 for the summary", async () => {
        await refusal(bob.agents.analyticsSummary({ organization_id: ACME }), 403, "forbidden");
        const { data, error } = await bob.client.from("analytics_hourly_rollups").select("*");
        assert.equal(error, null);
        assert.deepEqual(data, []);
      });

      await t.step("another organization's owner sees none of the events", async () => {
        await refusal(carol.agents.analyticsSummary({ organization_id: ACME }), 403, "forbidden");
        const own = await carol.agents.analyticsSummary({
          organization_id: GLOBEX,
          granularity: "day",
        });
        assert.equal(own.organization_id, GLOBEX);
        assert.deepEqual(own.series, []);
        const { data, error } = await carol.client.from("analytics_events").select("id");
        assert.equal(error, null);
        assert.deepEqual(data, []);
        const rollups = await carol.client.from("analytics_daily_rollups").select("bucket");
        assert.deepEqual(rollups.data, []);
      });

      const expectedDue: Record<string, number> = {
        conversations_archive: 1,
        conversations_delete: 1,
        analytics_events: 1,
        analytics_hourly: 1,
        analytics_daily: 1,
        jobs_completed: 1,
        jobs_dead: 1,
        cron_job_run_details: 1,
        net_http_responses: 1,
        failed_uploads: 1,
        orphaned_objects: 1,
      };

      await t.step("rows aged past each policy, and younger ones", async () => {
        const service = createClient(stack.apiUrl, stack.serviceRoleKey, {
          auth: { persistSession: false, autoRefreshToken: false },
        });
        for (const name of ["failed-old.txt", "failed-young.txt"]) {
          const { error } = await alice.client.storage
            .from("documents")
            .upload(`${ACME}/${alice.id}/${name}`, new Blob(["hello"]), {
              contentType: "text/plain",
            });
          assert.equal(error, null, name);
        }
        for (const name of ["orphans/old.txt", "orphans/young.txt"]) {
          const { error } = await service.storage
            .from("documents")
            .upload(name, new Blob(["orphan"]), { contentType: "text/plain" });
          assert.equal(error, null, name);
        }
        await stack.session.exec(`
          begin;
          -- Age rows without the updated_at trigger restamping them.
          set local session_replication_role = replica;
          update public.file_uploads set status = 'failed', error = 'Extraction failed',
            updated_at = now() - case when path like '%failed-old.txt' then interval '40 days'
                                      else interval '5 days' end
          where path like '%/failed-%.txt';
          update storage.objects set created_at = now() - interval '40 days'
          where bucket_id = 'documents' and name = 'orphans/old.txt';
          commit;
        `);
        await stack.session.exec(`
          insert into public.conversations (user_id, agent_id, title, status, created_at, updated_at)
          values
            ('${alice.id}', '${ACME_SUPPORT_AGENT}', 'ret: active 40d', 'active',
             now() - interval '40 days', now() - interval '40 days'),
            ('${alice.id}', '${ACME_SUPPORT_AGENT}', 'ret: active 10d', 'active',
             now() - interval '10 days', now() - interval '10 days'),
            ('${alice.id}', '${ACME_SUPPORT_AGENT}', 'ret: archived 200d', 'archived',
             now() - interval '300 days', now() - interval '200 days'),
            ('${alice.id}', '${ACME_SUPPORT_AGENT}', 'ret: archived 100d', 'archived',
             now() - interval '300 days', now() - interval '100 days');
          insert into public.analytics_events (organization_id, name, occurred_at, received_at)
          values ('${ACME}', 'ret.old', now() - interval '10 days', now() - interval '10 days'),
                 ('${ACME}', 'ret.young', now() - interval '2 days', now() - interval '2 days');
          insert into public.analytics_hourly_rollups
            (organization_id, name, bucket, count, error_count, duration_count)
          values ('${ACME}', 'ret.old', date_trunc('hour', now()) - interval '100 days', 1, 0, 0),
                 ('${ACME}', 'ret.young', date_trunc('hour', now()) - interval '80 days', 1, 0, 0);
          insert into public.analytics_daily_rollups
            (organization_id, name, bucket, count, error_count, duration_count)
          values ('${ACME}', 'ret.old', date_trunc('day', now()) - interval '800 days', 1, 0, 0),
                 ('${ACME}', 'ret.young', date_trunc('day', now()) - interval '700 days', 1, 0, 0);
          insert into private.jobs (queue, status, dedupe_key, completed_at)
          values ('conversation_summaries', 'completed', 'ret:old', now() - interval '10 days'),
                 ('conversation_summaries', 'completed', 'ret:young', now() - interval '2 days');
          insert into private.dead_jobs (id, queue, payload, dedupe_key, attempts, reason,
                                         enqueued_at, created_at)
          values (gen_random_uuid(), 'conversation_summaries', '{}', 'ret:old', 5, 'failed',
                  now() - interval '41 days', now() - interval '40 days'),
                 (gen_random_uuid(), 'conversation_summaries', '{}', 'ret:young', 5, 'failed',
                  now() - interval '11 days', now() - interval '10 days');
          insert into cron.job_run_details (jobid, username, command, status, start_time, end_time)
          values (-1, 'postgres', 'ret:old', 'succeeded', now() - interval '10 days',
                  now() - interval '10 days'),
                 (-1, 'postgres', 'ret:young', 'succeeded', now() - interval '2 days',
                  now() - interval '2 days');
          insert into net._http_response (id, status_code, content, created)
          values (-1, 200, 'ret:old', now() - interval '10 days'),
                 (-2, 200, 'ret:young', now() - interval '2 days');
          select private.rollup_analytics_hourly(now()), private.rollup_analytics_daily(now());
        `);
      });

      /** Every row the policies could touch, to prove a dry run changes nothing. */
      const footprint = () =>
        rows(
          stack,
          `select
             (select count(*) from public.conversations where status = 'active')::int as active,
             (select count(*) from public.conversations)::int as conversations,
             (select count(*) from public.analytics_events)::int as events,
             (select count(*) from public.analytics_hourly_rollups)::int as hourly,
             (select count(*) from public.analytics_daily_rollups)::int as daily,
             (select count(*) from private.jobs)::int as jobs,
             (select count(*) from private.dead_jobs)::int as dead,
             (select count(*) from cron.job_run_details)::int as runs,
             (select count(*) from net._http_response)::int as responses,
             (select count(*) from public.file_uploads)::int as uploads,
             (select count(*) from public.documents)::int as documents,
             (select count(*) from storage.objects)::int as objects`,
        );

      await t.step("a dry run reports what is due and changes nothing", async () => {
        const before = await footprint();
        const body = await agentsWith(stack, stack.serviceRoleKey).cleanup({ dry_run: true });
        assert.equal(body.dry_run, true);
        assert.deepEqual(affectedByPolicy(body), expectedDue);
        assert.ok(body.actions.every((a) => a.complete && a.table.length > 0));
        assert.deepEqual(await footprint(), before);
      });

      await t.step("a real run applies exactly those and nothing younger", async () => {
        const body = await agentsWith(stack, stack.serviceRoleKey).cleanup({ batch_size: 1 });
        assert.equal(body.dry_run, false);
        assert.deepEqual(affectedByPolicy(body), expectedDue);

        const conversations = await rows<{ title: string; status: string }>(
          stack,
          "select title, status from public.conversations where title like 'ret:%' order by title",
        );
        assert.deepEqual(conversations, [
          { title: "ret: active 10d", status: "active" },
          { title: "ret: active 40d", status: "archived" },
          { title: "ret: archived 100d", status: "archived" },
        ]);
        for (
          const table of [
            "public.analytics_events",
            "public.analytics_hourly_rollups",
            "public.analytics_daily_rollups",
          ]
        ) {
          const names = await rows<{ name: string }>(
            stack,
            `select name from ${table} where name like 'ret.%' order by name`,
          );
          assert.deepEqual(names.map((r) => r.name), ["ret.young"], table);
        }
        const left = await rows(
          stack,
          `select
             (select array_agg(dedupe_key) from private.jobs where dedupe_key like 'ret:%') as jobs,
             (select array_agg(dedupe_key) from private.dead_jobs where dedupe_key like 'ret:%') as dead,
             (select array_agg(command) from cron.job_run_details where jobid = -1) as runs,
             (select array_agg(content) from net._http_response where id < 0) as responses,
             (select array_agg(path order by path) from public.file_uploads
              where path like '%/failed-%') as uploads,
             (select array_agg(name order by name) from storage.objects
              where name like 'orphans/%' or name like '%/failed-%') as objects`,
        );
        assert.deepEqual(left, [{
          jobs: ["ret:young"],
          dead: ["ret:young"],
          runs: ["ret:young"],
          responses: ["ret:young"],
          uploads: [`${ACME}/${alice.id}/failed-young.txt`],
          objects: [`${ACME}/${alice.id}/failed-young.txt`, "orphans/young.txt"],
        }]);
        assert.equal(
          await count(
            stack,
            "select 1 from public.documents where file_path like '%failed-old.txt'",
          ),
          0,
        );
        const service = createClient(stack.apiUrl, stack.serviceRoleKey, {
          auth: { persistSession: false, autoRefreshToken: false },
        });
        const gone = await service.storage.from("documents").download("orphans/old.txt");
        assert.ok(gone.error, "the orphaned object's bytes are gone through the Storage API");
      });

      await t.step("a second run finds nothing left to do", async () => {
        const body = await agentsWith(stack, stack.serviceRoleKey).cleanup();
        assert.ok(body.actions.every((a) => a.affected === 0 && a.complete), JSON.stringify(body));
      });

      await t.step("cleanup-old refuses user and anon tokens and bad input", async () => {
        for (
          const [label, agents] of [
            ["owner", alice.agents],
            ["anon key", agentsWith(stack, stack.anonKey)],
            ["member", bob.agents],
          ] as const
        ) {
          await refusal(agents.cleanup({ dry_run: true }), 403, "forbidden", label);
        }
        // No credential at all, and one that is not a key or token: only plain HTTP sends those.
        for (
          const [label, bearer, status] of [
            ["none", null, 401],
            ["garbage", "not-a-token", 401],
          ] as const
        ) {
          const body = await json<{ error: { code: string } }>(
            await call(stack, "cleanup-old", bearer, { body: { dry_run: true }, apikey: false }),
            status,
          );
          assert.equal(body.error.code, "unauthenticated", label);
        }
        const bad = await json<{ error: { code: string; details: unknown } }>(
          await call(stack, "cleanup-old", stack.serviceRoleKey, {
            body: { policies: ["everything"], batch_size: 0 },
          }),
          400,
        );
        assert.equal(bad.error.code, "invalid_request");
        const malformed = await call(stack, "cleanup-old", stack.serviceRoleKey, { raw: "{" });
        assert.equal(malformed.status, 400);
        await malformed.body?.cancel();
      });

      await t.step("the job secret the cron job sends is accepted", async () => {
        const body = await json<CleanupResponse>(
          await call(stack, "cleanup-old", stack.jobSecret, {
            body: { dry_run: true, policies: ["jobs_completed"] },
          }),
          200,
        );
        assert.deepEqual(body.actions.map((a) => a.policy), ["jobs_completed"]);
        const [scheduled] = await rows<{ schedule: string; command: string }>(
          stack,
          "select schedule, command from cron.job where jobname = 'cleanup_old'",
        );
        assert.deepEqual(scheduled, {
          schedule: "30 3 * * *",
          command: "select private.invoke_cleanup_old()",
        });
      });
    } finally {
      await stack.stop();
    }
  },
});
