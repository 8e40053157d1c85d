/**
 * Scenario `function_overhead`: what the function layer costs on top of its SQL. Through the
 * local stack's gateway (HTTP, the gateway's routing, JWT verification, body validation, the
 * function's own code, in-process functions) vs the same SQL run directly on the same database
 * with the functions' own helpers and no HTTP:
 *
 * - `message-preprocess` with store=false: the conversation check as the user
 *   (requireOwnConversation) and the rate-limit statement as service_role (enforceRateLimit).
 * - `analytics-tracker` with one new event: recordEvents (the organization check as the user,
 *   the rate limit and the insert as service_role).
 *
 * At concurrency 1 and 8; p50/p95 per request and requests per second. The per-plan rate limits
 * are lifted for the run. ratio = direct p50 / gateway p50 at concurrency 1 (below 1: the
 * function layer's share of a request).
 *
 *   npx deno run -A bench/function-overhead.ts [--quick]
 */
import { createLocalProvider } from "../supabase/functions/_shared/ai/local.ts";
import type { UserClaims } from "../supabase/functions/_shared/auth.ts";
import { loadConfig } from "../supabase/functions/_shared/config.ts";
import { requireOwnConversation } from "../supabase/functions/_shared/conversations.ts";
import { createDb } from "../supabase/functions/_shared/db/mod.ts";
import { createSessionDriver } from "../supabase/functions/_shared/db/session.ts";
import type { Deps } from "../supabase/functions/_shared/deps.ts";
import { createLogger } from "../supabase/functions/_shared/logger.ts";
import { enforceRateLimit } from "../supabase/functions/_shared/rate-limit.ts";
import { recordEvents } from "../supabase/functions/analytics-tracker/track.ts";
import { QUICK, report, round, size } from "./lib.ts";
import { ACME, ACME_SUPPORT, ALICE, benchStack, load, signIn } from "./stack-lib.ts";

const SERIAL = size(200, 20);
const PARALLEL = size(400, 40);

const stack = await benchStack();
try {
  const token = await signIn(stack);
  const { rows: [conversation] } = await stack.session.query<{ id: string }>(
    `insert into public.conversations (user_id, agent_id, title) values ($1, $2, 'bench')
     returning id`,
    [ALICE, ACME_SUPPORT],
  );
  const conversationId = conversation!.id;
  const claims: UserClaims = {
    sub: ALICE,
    role: "authenticated",
    aud: "authenticated",
    email: "alice@acme.test",
  } as UserClaims;
  const deps: Deps = {
    config: loadConfig({
      SUPABASE_URL: stack.apiUrl,
      SUPABASE_ANON_KEY: stack.anonKey,
      SUPABASE_SERVICE_ROLE_KEY: stack.serviceRoleKey,
    }),
    db: createDb(createSessionDriver(stack.session)),
    verifyJwt: () => Promise.reject(new Error("not used")),
    logger: createLogger({}, { level: "error" }),
    ai: createLocalProvider(),
    now: () => new Date(),
  };

  const post = async (fn: string, body: unknown) => {
    const response = await fetch(`${stack.apiUrl}/functions/v1/${fn}`, {
      method: "POST",
      headers: {
        apikey: stack.anonKey,
        authorization: `Bearer ${token}`,
        "content-type": "application/json",
      },
      body: JSON.stringify(body),
    });
    const text = await response.text();
    if (response.status !== 200) throw new Error(`${fn}: ${response.status} ${text}`);
  };
  let n = 0;
  const sides = {
    message_preprocess: {
      gateway: () =>
        post("message-preprocess", {
          conversation_id: conversationId,
          content: `Preview ${n++}: write to me at someone@example.com`,
          store: false,
        }),
      direct: async () => {
        const own = await deps.db.asUser(
          claims,
          (tx) => requireOwnConversation(tx, conversationId),
        );
        await deps.db.asService((tx) =>
          enforceRateLimit(tx, {
            userId: ALICE,
            organizationId: own.organization_id,
            bucket: "message-preprocess",
          })
        );
      },
    },
    analytics_tracker: {
      gateway: () =>
        post("analytics-tracker", {
          organization_id: ACME,
          events: [{ id: `gw-${n++}`, name: "bench.event", duration_ms: 12 }],
        }),
      direct: async () => {
        await recordEvents({ kind: "user", claims }, {
          organization_id: ACME,
          events: [{ id: `direct-${n++}`, name: "bench.event", duration_ms: 12 }],
        }, deps);
      },
    },
  };

  const result: Record<string, unknown> = {};
  let ratio = 0;
  for (const [name, side] of Object.entries(sides)) {
    // Warm up both paths (JIT, plans, the gateway's key cache).
    for (let i = 0; i < 10; i++) {
      await side.gateway();
      await side.direct();
    }
    const figures = {
      gateway: {
        concurrency_1: await load(SERIAL, 1, () => side.gateway()),
        concurrency_8: await load(PARALLEL, 8, () => side.gateway()),
      },
      direct_sql: {
        concurrency_1: await load(SERIAL, 1, () => side.direct()),
        concurrency_8: await load(PARALLEL, 8, () => side.direct()),
      },
    };
    const r = round(
      figures.direct_sql.concurrency_1.p50_ms / figures.gateway.concurrency_1.p50_ms,
      2,
    );
    result[name] = { ratio: r, ...figures };
    if (name === "message_preprocess") ratio = r;
  }
  await report({
    function_overhead: {
      ratio,
      ratio_is: "message_preprocess direct p50 / gateway p50 at concurrency 1",
      quick: QUICK,
      ...result,
    },
  });
} finally {
  await stack.stop();
}
