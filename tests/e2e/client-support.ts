/**
 * What the e2e tests share for calling the functions through the typed client (shared/mod.ts).
 */
import assert from "node:assert/strict";
import { AgentBackendError } from "../../shared/mod.ts";

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
