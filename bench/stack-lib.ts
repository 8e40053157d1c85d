/**
 * What the scenarios that measure through the local stack share: booting it quietly (in memory,
 * the seed, workers as asked), lifting the per-plan rate limits (a benchmark is not abuse),
 * signing a seed user in, and a request loop at a fixed concurrency.
 */
import { type Stack, type StackOptions, startStack } from "../local/stack.ts";
import { latency, round } from "./lib.ts";

export const ACME = "10000000-0000-4000-8000-000000000001";
export const ACME_SUPPORT = "20000000-0000-4000-8000-000000000001";
export const ALICE = "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa";

export async function benchStack(options: StackOptions = {}): Promise<Stack> {
  const stack = await startStack({
    apiPort: 0,
    dbPort: null,
    dataDir: null,
    workers: false,
    functionLogLevel: "error",
    ...options,
  });
  await stack.session.exec("update private.rate_limit_policies set max_cost = 1000000000");
  return stack;
}

/** alice's access token (password sign-in through the local auth). */
export async function signIn(stack: Stack, email = "alice@acme.test"): Promise<string> {
  const response = await fetch(`${stack.apiUrl}/auth/v1/token?grant_type=password`, {
    method: "POST",
    headers: { apikey: stack.anonKey, "content-type": "application/json" },
    body: JSON.stringify({ email, password: "password123" }),
  });
  if (!response.ok) throw new Error(`sign in: ${response.status} ${await response.text()}`);
  return ((await response.json()) as { access_token: string }).access_token;
}

/**
 * Runs `count` calls of `fn` with `concurrency` in flight; returns p50/p95 per call and calls
 * per second over the whole run. `fn` throws on a wrong answer (the run fails, not the figure).
 */
export async function load(
  count: number,
  concurrency: number,
  fn: (i: number) => Promise<void>,
) {
  const samples: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        const i = next++;
        const t = performance.now();
        await fn(i);
        samples.push(performance.now() - t);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  return { ...latency(samples), req_per_s: round(count / seconds, 1), requests: count };
}
