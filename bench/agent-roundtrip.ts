/**
 * Scenario `agent_roundtrip`: p50/p95 of a sync execute-agent call (HTTP through the gateway,
 * the local AI provider, knowledge on) and where its time goes, vs the retrieval query alone.
 *
 * The split: the stack serves execute-agent's own app (createApp, given as `extraFunctions` in
 * place of the loaded one) with its Deps wrapped, timing each call to the AI provider and each SQL statement (calls run one at a
 * time, so the times add up):
 * - retrieval: the query embedding plus the hybrid_search statement(s)
 * - model: the chat call (the local provider)
 * - write: every other statement (the execution row, the conversation, the messages, the answer)
 * - other: the rest of the round trip (HTTP, gateway, JWT, validation, prompt building)
 *
 * Baseline: the retrieval statement alone, replayed as the user on the same database with the
 * parameters the function sent. ratio = retrieval-alone p50 / round-trip p50.
 *
 *   npx deno run -A bench/agent-roundtrip.ts [--quick]
 */
import type { AiProvider } from "../supabase/functions/_shared/ai/types.ts";
import type { Db, Queryable } from "../supabase/functions/_shared/db/mod.ts";
import type { Deps } from "../supabase/functions/_shared/deps.ts";
import { createApp } from "../supabase/functions/execute-agent/app.ts";
import { latency, QUICK, report, round, timeEach } from "./lib.ts";
import { ACME_SUPPORT, ALICE, benchStack, signIn } from "./stack-lib.ts";

const CALLS = Math.max(10, QUICK ? 10 : 60);

type Part = "retrieval" | "model" | "write";
let current: Record<Part, number> = { retrieval: 0, model: 0, write: 0 };
let retrievalSql: { sql: string; params: readonly unknown[] } | null = null;

const timed = async <T>(part: Part, fn: () => Promise<T>): Promise<T> => {
  const started = performance.now();
  try {
    return await fn();
  } finally {
    current[part] += performance.now() - started;
  }
};

function timedTx(tx: Queryable): Queryable {
  return {
    query: (sql, params) => {
      const search = /hybrid_search|match_document_sections/.test(sql);
      if (search && !retrievalSql) retrievalSql = { sql, params: params ?? [] };
      return timed(search ? "retrieval" : "write", () => tx.query(sql, params));
    },
  } as Queryable;
}

function timedDeps(deps: Deps): Deps {
  const db: Db = {
    asUser: (claims, fn) => deps.db.asUser(claims, (tx) => fn(timedTx(tx))),
    asService: (fn) => deps.db.asService((tx) => fn(timedTx(tx))),
    close: () => deps.db.close(),
  };
  const ai: AiProvider = {
    ...deps.ai,
    embed: (...args) => timed("retrieval", () => deps.ai.embed(...args)),
    chat: (...args) => timed("model", () => deps.ai.chat(...args)),
  };
  return { ...deps, db, ai };
}

const stack = await benchStack({
  extraFunctions: {
    "execute-agent": { createApp: (deps) => createApp(timedDeps(deps)), verifyJwt: false },
  },
});
try {
  const token = await signIn(stack);
  const call = async (i: number) => {
    const response = await fetch(`${stack.apiUrl}/functions/v1/execute-agent`, {
      method: "POST",
      headers: {
        apikey: stack.anonKey,
        authorization: `Bearer ${token}`,
        "content-type": "application/json",
      },
      body: JSON.stringify({
        agent_id: ACME_SUPPORT,
        input: `Question ${i}: how do I file a warranty claim for a dented anvil?`,
      }),
    });
    const text = await response.text();
    if (response.status !== 200) throw new Error(`execute-agent: ${response.status} ${text}`);
  };
  for (let i = 0; i < 3; i++) await call(-i); // warm up

  const parts: Record<Part | "other", number[]> = {
    retrieval: [],
    model: [],
    write: [],
    other: [],
  };
  const totals = await timeEach(Array.from({ length: CALLS }, (_, i) => i), async (i) => {
    current = { retrieval: 0, model: 0, write: 0 };
    const started = performance.now();
    await call(i);
    const total = performance.now() - started;
    parts.retrieval.push(current.retrieval);
    parts.model.push(current.model);
    parts.write.push(current.write);
    parts.other.push(total - current.retrieval - current.model - current.write);
  });

  // Baseline: the retrieval statement alone, as alice, with the function's own parameters.
  if (!retrievalSql) throw new Error("execute-agent ran no retrieval statement");
  const { sql, params } = retrievalSql;
  const claims = JSON.stringify({ sub: ALICE, role: "authenticated", aud: "authenticated" });
  const retrieve = () =>
    stack.session.transaction(async (tx) => {
      await tx.query(
        `select set_config('role', 'authenticated', true), set_config('request.jwt.claims', $1, true),
                set_config('request.jwt.claim.sub', $2, true)`,
        [claims, ALICE],
      );
      await tx.query(sql, params);
    });
  for (let i = 0; i < 3; i++) await retrieve();
  const alone = await timeEach(Array.from({ length: CALLS }, (_, i) => i), retrieve);

  const roundTrip = latency(totals);
  const retrievalAlone = latency(alone);
  await report({
    agent_roundtrip: {
      ratio: round(retrievalAlone.p50_ms / roundTrip.p50_ms, 3),
      calls: CALLS,
      quick: QUICK,
      provider: "local",
      round_trip: roundTrip,
      split_p50_ms: {
        retrieval: latency(parts.retrieval).p50_ms,
        model: latency(parts.model).p50_ms,
        write: latency(parts.write).p50_ms,
        other: latency(parts.other).p50_ms,
      },
      retrieval_query_alone: retrievalAlone,
    },
  });
} finally {
  await stack.stop();
}
