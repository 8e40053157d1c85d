/**
 * Reliability: every function endpoint (each function's app.ts routes) against bad input and
 * the auth matrix, on the product's local stack with the seed (workers off, so nothing runs
 * behind the test's back).
 *
 * - Bad input: malformed JSON, JSON that is not an object, an empty body, wrong types, missing
 *   and unknown fields, huge strings, deep nesting, invalid UUIDs, null bytes, lone surrogates
 *   (as JSON escapes), text that is empty once invisible characters are cleaned, a wrong content
 *   type. Every case: a 4xx with `{ error: { code, message }, request_id }`, and no row of any
 *   table in public, private or storage added or removed (counted before and after).
 * - Auth: no token, an expired token, a wrong signature, `alg: none`, the anon key, another
 *   organization's user, a user token on a machine-only route and the job secret on a user
 *   route: 401/403/404 as README "Functions" documents, and nothing written.
 */
import assert from "node:assert/strict";
import { type Stack, startStack } from "../../local/stack.ts";
import {
  ACME,
  ACME_SUPPORT,
  algNoneToken,
  call,
  type CallInit,
  changedTables,
  expiredToken,
  GLOBEX,
  notStandardError,
  read,
  rowCounts,
  type Session,
  signIn,
  wrongSignatureToken,
} from "./reliability-support.ts";

const JOB_SECRET = "e2e-reliability-job-secret-0123456789abcdef";
const MISSING = "00000000-0000-4000-8000-00000000abcd";

/** One route and a request to it that would be accepted (the cases break one thing each). */
interface Endpoint {
  name: string;
  fn: string;
  method?: "GET" | "POST";
  path?: string;
  /** Who may call it: a user (alice), or a machine (the service key / job secret). */
  caller: "user" | "service" | "worker";
  /** A valid JSON body (POST), or valid query parameters (GET). */
  valid?: Record<string, unknown>;
  /** The fields without a default (a request missing one is refused). */
  required?: string[];
  /**
   * Free text: cleaned, not refused, for lone surrogates (they become U+FFFD, see
   * _shared/text/sanitize.ts), so those cases run on the other fields only.
   */
  freeText?: string[];
  /** An empty body means `{}` (documented for cleanup-old). */
  emptyBodyAllowed?: boolean;
}

interface Case {
  label: string;
  init: CallInit;
}

const deep = (levels: number) => "[".repeat(levels) + "]".repeat(levels);
const deepObject = (levels: number) => '{"a":'.repeat(levels) + "1" + "}".repeat(levels);

/** The bad-input cases for an endpoint with a JSON body. */
function jsonCases(endpoint: Endpoint): Case[] {
  const valid = endpoint.valid ?? {};
  const cases: Case[] = [
    { label: "malformed JSON", init: { raw: '{"' + Object.keys(valid)[0] + '": ' } },
    { label: "truncated JSON", init: { raw: JSON.stringify(valid).slice(0, -3) } },
    { label: "a JSON array", init: { raw: "[]" } },
    { label: "JSON null", init: { raw: "null" } },
    { label: "a JSON string", init: { raw: '"hello"' } },
    { label: "a JSON number", init: { raw: "42" } },
    { label: "deeply nested arrays", init: { raw: deep(5000) } },
    {
      label: "deeply nested unknown field",
      init: { raw: JSON.stringify(valid).replace(/}$/, `,"nested":${deepObject(3000)}}`) },
    },
    { label: "binary garbage", init: { raw: "\u00ff\u00fe\u0000\u0001{", contentType: null } },
  ];
  // cleanup-old reads its body whatever the content type (pg_cron and `curl -X POST` send none
  // or form encoding; README "cleanup-old"), so these run on the other endpoints.
  if (!endpoint.emptyBodyAllowed) {
    cases.push(
      {
        label: "wrong content type (text/plain)",
        init: { body: valid, contentType: "text/plain" },
      },
      {
        label: "wrong content type (form)",
        init: {
          raw: new URLSearchParams(valid as Record<string, string>).toString(),
          contentType: "application/x-www-form-urlencoded",
        },
      },
      { label: "no content type, no body", init: { raw: "", contentType: null } },
    );
    cases.push({ label: "empty body", init: { raw: "" } });
    cases.push({ label: "missing fields ({})", init: { body: {} } });
  }
  cases.push({ label: "an unknown field", init: { body: { ...valid, surprise: true } } });
  for (const [field, value] of Object.entries(valid)) {
    const rest = Object.fromEntries(Object.entries(valid).filter(([k]) => k !== field));
    if (endpoint.required?.includes(field)) {
      cases.push({ label: `missing "${field}"`, init: { body: rest } });
    }
    const wrong = typeof value === "string"
      ? [12345, true, ["x"], { x: 1 }]
      : typeof value === "boolean"
      ? ["yes", 1]
      : typeof value === "number"
      ? ["12", -1e309, { n: 1 }]
      : Array.isArray(value)
      ? ["list", { 0: 1 }]
      : ["object", [1]];
    for (const w of wrong) {
      cases.push({
        label: `"${field}" as ${JSON.stringify(w)}`,
        init: { body: { ...rest, [field]: w } },
      });
    }
    cases.push({
      label: `"${field}" as null`,
      init: { body: { ...rest, [field]: null } },
    });
    if (typeof value === "string") {
      const raw = (text: string) =>
        JSON.stringify({ ...valid, [field]: "@@" }).replace('"@@"', `"${text}"`);
      cases.push({
        label: `"${field}" a 1,000,000-character string`,
        init: { body: { ...rest, [field]: "x".repeat(1_000_000) } },
      });
      cases.push({ label: `"${field}" only NUL bytes`, init: { raw: raw("\\u0000\\u0000") } });
      if (!endpoint.freeText?.includes(field)) {
        cases.push({ label: `"${field}" a lone high surrogate`, init: { raw: raw("\\ud800") } });
        cases.push({ label: `"${field}" a reversed pair`, init: { raw: raw("\\udc00\\ud800") } });
      }
      cases.push({
        label: `"${field}" only invisible characters`,
        init: { raw: raw("\\u200b\\u202e\\u2060\\ufeff") },
      });
      if (/^[0-9a-f-]{36}$/.test(value)) {
        for (const bad of ["not-a-uuid", value.slice(0, -1) + "g", value + "\\u0000", "", " "]) {
          cases.push({ label: `"${field}" = ${JSON.stringify(bad)}`, init: { raw: raw(bad) } });
        }
      }
    }
  }
  return cases;
}

/** The bad-input cases for a GET endpoint with query parameters. */
function queryCases(endpoint: Endpoint): Case[] {
  const valid = (endpoint.valid ?? {}) as Record<string, string>;
  const path = (params: Record<string, string>) =>
    `${endpoint.path ?? ""}?${new URLSearchParams(params).toString()}`;
  const cases: Case[] = [
    { label: "an unknown value", init: { path: path({ ...valid, granularity: "minute" }) } },
    { label: "a repeated parameter", init: { path: `${path(valid)}&from=x&from=y` } },
  ];
  for (const field of Object.keys(valid)) {
    for (const bad of ["", "not-a-value", "x".repeat(10_000), "\u0000", "\ud800", "1e309"]) {
      cases.push({
        label: `"${field}" = ${JSON.stringify(bad.slice(0, 12))}`,
        init: { path: path({ ...valid, [field]: bad }) },
      });
    }
  }
  return cases;
}

Deno.test({
  name: "reliability: bad input and the auth matrix on every function endpoint",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const stack = await startStack({
      apiPort: 0,
      // A wire port, so the suite also runs with FUNCTIONS_MODE=isolated (CI's second pass).
      dbPort: 0,
      dataDir: null,
      workers: false,
      functionLogLevel: "error",
      functionEnv: { JOB_SECRET },
    });
    try {
      const alice = await signIn(stack, "alice@acme.test");
      const bob = await signIn(stack, "bob@acme.test");
      const carol = await signIn(stack, "carol@globex.test");
      const fixtures = await prepare(stack, alice);

      const endpoints: Endpoint[] = [
        {
          name: "execute-agent POST /",
          fn: "execute-agent",
          caller: "user",
          valid: {
            agent_id: ACME_SUPPORT,
            input: "Hello",
            conversation_id: fixtures.conversation,
            mode: "sync",
            options: { knowledge: true, max_sections: 5 },
          },
          required: ["agent_id", "input"],
          freeText: ["input"],
        },
        {
          name: "execute-agent GET /executions/:id",
          fn: "execute-agent",
          method: "GET",
          path: `/executions/${fixtures.execution}`,
          caller: "user",
        },
        {
          name: "execute-agent POST /executions/:id/cancel",
          fn: "execute-agent",
          path: `/executions/${fixtures.execution}/cancel`,
          caller: "user",
        },
        {
          name: "execute-agent POST /jobs",
          fn: "execute-agent",
          path: "/jobs",
          caller: "worker",
          valid: { queue: "agent_executions", jobs: [] },
          required: ["queue", "jobs"],
        },
        {
          name: "message-preprocess POST /",
          fn: "message-preprocess",
          caller: "user",
          valid: {
            conversation_id: fixtures.conversation,
            content: "Hello there",
            role: "user",
            metadata: { source: "reliability" },
            store: true,
          },
          required: ["conversation_id", "content"],
          freeText: ["content"],
        },
        {
          name: "conversation-summarize POST /",
          fn: "conversation-summarize",
          caller: "user",
          valid: { conversation_id: fixtures.conversation, force: true },
          required: ["conversation_id"],
        },
        {
          name: "conversation-summarize POST /jobs",
          fn: "conversation-summarize",
          path: "/jobs",
          caller: "worker",
          valid: { queue: "conversation_summaries", jobs: [] },
          required: ["queue", "jobs"],
        },
        {
          name: "file-processor POST /",
          fn: "file-processor",
          caller: "user",
          valid: { file_id: fixtures.upload },
          required: ["file_id"],
        },
        {
          name: "file-processor POST /search",
          fn: "file-processor",
          path: "/search",
          caller: "user",
          valid: {
            query: "warranty",
            match_count: 5,
            mode: "keyword",
            filter: { organization_id: ACME },
          },
          required: ["query"],
          freeText: ["query"],
        },
        {
          name: "file-processor POST /jobs",
          fn: "file-processor",
          path: "/jobs",
          caller: "worker",
          valid: { queue: "document_embeddings", jobs: [] },
          required: ["queue", "jobs"],
        },
        {
          name: "analytics-tracker POST /",
          fn: "analytics-tracker",
          caller: "user",
          // Events are checked one by one (a bad event is rejected, the rest kept); the envelope
          // is checked as a whole.
          valid: { events: [{ name: "reliability.check" }], organization_id: ACME },
          required: ["events"],
        },
        {
          name: "analytics-tracker GET /summary",
          fn: "analytics-tracker",
          method: "GET",
          path: "/summary",
          caller: "user",
          valid: {
            from: new Date(Date.now() - 3_600_000).toISOString(),
            granularity: "hour",
            organization_id: ACME,
          },
        },
        {
          name: "cleanup-old POST /",
          fn: "cleanup-old",
          caller: "service",
          valid: { dry_run: true, batch_size: 100, policies: ["jobs_dead"] },
          emptyBodyAllowed: true,
        },
        { name: "whoami GET /", fn: "whoami", method: "GET", caller: "user" },
      ];
      const credential = (caller: Endpoint["caller"]) =>
        caller === "user" ? alice.token : caller === "worker" ? JOB_SECRET : stack.serviceRoleKey;

      for (const endpoint of endpoints) {
        await t.step(
          `${endpoint.name}: bad input -> 4xx, standard body, nothing written`,
          async () => {
            const cases = endpoint.method === "GET"
              ? endpoint.valid ? queryCases(endpoint) : []
              : endpoint.valid
              ? jsonCases(endpoint)
              : [
                { label: "a body on a route that takes none", init: { raw: deep(5000) } },
              ];
            if (endpoint.path?.includes(fixtures.execution)) {
              const base = endpoint.path;
              for (
                const bad of ["not-a-uuid", "%00", "%ED%A0%80", "x".repeat(5000), "'%20or%201=1"]
              ) {
                cases.push({
                  label: `id ${bad.slice(0, 12)}`,
                  init: { path: base.replace(fixtures.execution, bad) },
                });
              }
            }
            let before = await rowCounts(stack);
            const failures: string[] = [];
            for (const c of cases) {
              const { status, body } = await read(
                await call(stack, endpoint.fn, credential(endpoint.caller), {
                  method: endpoint.method ?? "POST",
                  path: endpoint.path,
                  ...c.init,
                }),
              );
              const problem = status < 400 || status >= 500
                ? `status ${status}: ${JSON.stringify(body).slice(0, 200)}`
                : notStandardError(body);
              if (problem) failures.push(`${c.label}: ${problem}`);
              const after = await rowCounts(stack);
              const changed = changedTables(before, after);
              if (changed.length) failures.push(`${c.label} wrote: ${changed.join(", ")}`);
              before = after;
            }
            assert.deepEqual(failures, [], `${endpoint.name} (${cases.length} cases)`);
          },
        );
      }

      await t.step("the auth matrix on every endpoint: 401/403/404, nothing written", async () => {
        const expired = await expiredToken(stack, alice.id);
        const forged = await wrongSignatureToken(alice.id);
        const unsigned = algNoneToken({
          role: "authenticated",
          aud: "authenticated",
          sub: alice.id,
        });
        const unsignedService = algNoneToken({ role: "service_role" });
        let before = await rowCounts(stack);
        const failures: string[] = [];
        const expect = async (
          endpoint: Endpoint,
          who: string,
          bearer: string | null,
          allowed: number[],
          init: CallInit = {},
        ) => {
          const { status, body } = await read(
            await call(stack, endpoint.fn, bearer, {
              method: endpoint.method ?? "POST",
              path: endpoint.method === "GET" && endpoint.valid
                ? `${endpoint.path}?${new URLSearchParams(
                  endpoint.valid as Record<string, string>,
                )}`
                : endpoint.path,
              ...(endpoint.method === "GET" ? {} : { body: endpoint.valid ?? {} }),
              ...init,
            }),
          );
          if (!allowed.includes(status)) {
            failures.push(
              `${endpoint.name} with ${who}: ${status} (want ${allowed.join("/")}) ${
                JSON.stringify(body).slice(0, 160)
              }`,
            );
          }
        };
        for (const endpoint of endpoints) {
          // Credentials that identify nobody: 401 everywhere.
          await expect(endpoint, "no token", null, [401], { headers: { apikey: "" } });
          await expect(endpoint, "an expired token", expired, [401]);
          await expect(endpoint, "a wrong signature", forged, [401]);
          await expect(endpoint, "alg none (user)", unsigned, [401]);
          await expect(endpoint, "alg none (service_role)", unsignedService, [401]);
          await expect(endpoint, "garbage", "a.b.c", [401]);
          if (endpoint.caller === "user") {
            await expect(endpoint, "the anon key", stack.anonKey, [401]);
            await expect(endpoint, "the job secret", JOB_SECRET, [401]);
          } else {
            // Machine routes: a verified token of another role is 403 (README "Functions").
            await expect(endpoint, "the anon key", stack.anonKey, [403]);
            await expect(endpoint, "a user token", alice.token, [403]);
            if (endpoint.caller === "worker") {
              // 202: workers that finish in the background answer at once.
              await expect(endpoint, "the service key", stack.serviceRoleKey, [200, 202]);
            }
          }
        }
        // Another organization's user, on each user route that names Acme's rows.
        const byName = Object.fromEntries(endpoints.map((e) => [e.name, e]));
        const e = (name: string) => byName[name]!;
        await expect(e("execute-agent POST /"), "carol (Globex)", carol.token, [404]);
        await expect(
          e("execute-agent POST /"),
          "carol with her agent in alice's conversation",
          carol.token,
          [404],
          {
            body: {
              agent_id: fixtures.globexAgent,
              input: "Hello",
              conversation_id: fixtures.conversation,
            },
          },
        );
        await expect(e("execute-agent GET /executions/:id"), "carol", carol.token, [404]);
        await expect(e("execute-agent GET /executions/:id"), "bob (same org)", bob.token, [404]);
        await expect(e("execute-agent POST /executions/:id/cancel"), "carol", carol.token, [404]);
        await expect(e("message-preprocess POST /"), "carol", carol.token, [404]);
        await expect(e("message-preprocess POST /"), "bob (same org)", bob.token, [404]);
        await expect(e("conversation-summarize POST /"), "carol", carol.token, [404]);
        await expect(e("file-processor POST /"), "carol", carol.token, [404]);
        // Search filters by RLS: carol asking for Acme's organization finds nothing of it.
        const search = await call(stack, "file-processor", carol.token, {
          path: "/search",
          body: e("file-processor POST /search").valid,
        });
        const found = await read(search);
        if (
          ![200, 403, 404].includes(found.status) ||
          (found.status === 200 && (found.body as { results: unknown[] }).results.length > 0)
        ) {
          failures.push(`file-processor POST /search with carol: ${JSON.stringify(found)}`);
        }
        // That search was answered (empty): it counts against carol's rate limit, by design.
        before = await rowCounts(stack);
        await expect(e("analytics-tracker POST /"), "carol", carol.token, [403]);
        await expect(e("analytics-tracker GET /summary"), "carol", carol.token, [403]);
        await expect(e("analytics-tracker GET /summary"), "bob (member)", bob.token, [403]);
        await expect(
          e("message-preprocess POST /"),
          "the unknown conversation",
          alice.token,
          [404],
          {
            body: { conversation_id: MISSING, content: "Hello" },
          },
        );
        assert.deepEqual(failures, []);
        assert.deepEqual(changedTables(before, await rowCounts(stack)), []);
      });
    } finally {
      await stack.stop();
    }
  },
});

/** Alice's conversation with Acme's support agent, an execution of hers and an upload. */
async function prepare(stack: Stack, alice: Session) {
  const { data, error } = await alice.client.from("conversations")
    .insert({ agent_id: ACME_SUPPORT, title: "reliability" }).select("id").single();
  assert.equal(error, null);
  const conversation = data!.id as string;
  const { rows: [execution] } = await stack.session.query<{ id: string }>(
    `insert into public.agent_executions
       (agent_id, organization_id, user_id, conversation_id, input, status)
     values ($1, $2, $3, $4, '{}'::jsonb, 'completed') returning id`,
    [ACME_SUPPORT, ACME, alice.id, conversation],
  );
  const path = `${ACME}/${alice.id}/reliability.md`;
  const uploaded = await alice.client.storage.from("documents").upload(
    path,
    new TextEncoder().encode("# Reliability\n\nA small file."),
    { contentType: "text/markdown" },
  );
  assert.equal(uploaded.error, null);
  const { rows: [upload] } = await stack.session.query<{ id: string }>(
    "select id from public.file_uploads where path = $1",
    [path],
  );
  const { rows: [globexAgent] } = await stack.session.query<{ id: string }>(
    "select id from public.agents where organization_id = $1 limit 1",
    [GLOBEX],
  );
  return {
    conversation,
    execution: execution!.id,
    upload: upload!.id,
    globexAgent: globexAgent!.id,
  };
}
