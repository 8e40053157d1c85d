/**
 * What the e2e tests share for calling the functions through the typed client (shared/mod.ts).
 */
import assert from "node:assert/strict";
import { createClient, type SupabaseClient } from "@supabase/supabase-js";
import type { Stack } from "../../local/stack.ts";
import { AgentBackendError, type AgentClient, createAgentClient } from "../../shared/mod.ts";

/** Every seed user's password (supabase/seed.sql). */
export const PASSWORD = "password123";

/** A signed-in seed user: their id and token, a supabase-js client and the typed client on it. */
export interface Session {
  id: string;
  token: string;
  client: SupabaseClient;
  /** The typed client (shared/mod.ts) on `client`. */
  agents: AgentClient;
}

/** Signs a seed user in through the stack's GoTrue emulator. */
export async function signIn(stack: Stack, email: string): Promise<Session> {
  const anon = createClient(stack.apiUrl, stack.anonKey, {
    auth: { persistSession: false, autoRefreshToken: false },
  });
  const { data, error } = await anon.auth.signInWithPassword({ email, password: PASSWORD });
  assert.equal(error, null, `sign in ${email}`);
  const token = data.session!.access_token;
  const client = createClient(stack.apiUrl, stack.anonKey, {
    auth: { persistSession: false, autoRefreshToken: false },
    global: { headers: { Authorization: `Bearer ${token}` } },
  });
  return { id: data.user!.id, token, client, agents: createAgentClient(client) };
}

/**
 * Asserts that a call through the typed client fails with this HTTP status and error code, and
 * that the error names the request (request_id); returns the error for further checks.
 */
export async function refusal(
  call: Promise<unknown> | AsyncIterable<unknown>,
  status: number,
  code: string,
  what = "the call",
): Promise<AgentBackendError> {
  const error = await settle(call).then(
    () => assert.fail(`Expected ${status} ${code} for ${what}, it succeeded`),
    (e: unknown) => e,
  );
  assert.ok(error instanceof AgentBackendError, `${what}: not an AgentBackendError: ${error}`);
  assert.deepEqual([error.status, error.code], [status, code], `${what}: ${error.message}`);
  assert.match(error.requestId ?? "", /\S/, `${what}: the error carries the request id`);
  return error;
}

/** A promise, or a stream read to its end. */
async function settle(call: Promise<unknown> | AsyncIterable<unknown>): Promise<void> {
  if (Symbol.asyncIterator in call) {
    for await (const _ of call as AsyncIterable<unknown>) {
      // read the stream to its end (or its error)
    }
  } else {
    await call;
  }
}
