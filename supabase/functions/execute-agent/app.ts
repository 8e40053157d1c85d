/**
 * `execute-agent`: run an agent for the signed-in user with context from the organization's
 * knowledge and the conversation's memory; answer synchronously, in the background (202, then
 * `GET /executions/:id`) or as a server-sent event stream. See README "execute-agent".
 *
 *   POST /execute-agent                       run (sync | async | stream), Idempotency-Key
 *   GET  /execute-agent/executions/:id        the caller's execution
 *   POST /execute-agent/executions/:id/cancel cancel a pending or running one
 *   POST /execute-agent/jobs                  the agent_executions queue worker (job secret)
 *
 * verify_jwt is off for this function (its /jobs route takes the job secret, not a JWT); the
 * user routes verify the JWT themselves with userAuth.
 */
import type { Context } from "hono";
import type { Deps } from "../_shared/deps.ts";
import { AppError, errorBody } from "../_shared/errors.ts";
import { createFunctionApp, toAppError } from "../_shared/http/app.ts";
import { userAuth, type UserEnv } from "../_shared/http/auth.ts";
import { validate } from "../_shared/http/validate.ts";
import { idempotencyKey } from "../_shared/idempotency.ts";
import { mountJobsRoute } from "../_shared/jobs.ts";
import {
  cancelExecution,
  endedError,
  type ExecutionRow,
  getExecution,
  runExecution,
  runQueuedExecution,
  startExecution,
  toAccepted,
  toExecutionBody,
  toSyncBody,
} from "./run-agent.ts";
import { ExecuteAgentRequest, EXECUTION_QUEUE, ExecutionParams } from "./schema.ts";
import { eventStream } from "./sse.ts";

const SSE_HEADERS = {
  "content-type": "text/event-stream; charset=utf-8",
  "cache-control": "no-cache, no-transform",
  "x-accel-buffering": "no",
};

export function createApp(deps: Deps) {
  const app = createFunctionApp("execute-agent", {
    logger: deps.logger,
    corsOrigins: deps.config.corsOrigins,
  });
  const auth = userAuth(deps.verifyJwt);

  app.post("/", auth, validate("json", ExecuteAgentRequest), async (c) => {
    const request = c.req.valid("json");
    const key = idempotencyKey(c.req.header("idempotency-key"));
    const { execution, replayed } = await startExecution(c.get("claims"), request, deps, {
      idempotencyKey: key,
    });
    if (replayed) return replay(c, execution, request.mode);
    if (request.mode === "async") return c.json(toAccepted(execution), 202);
    if (request.mode === "stream") return stream(c, execution);

    const outcome = await runExecution(execution.id, deps, {
      signal: c.req.raw.signal,
      logger: c.get("logger"),
    });
    if (!outcome) throw new AppError("not_found", `Unknown execution: "${execution.id}"`);
    if (outcome.error) throw outcome.error;
    if (outcome.execution.status !== "completed") throw endedError(outcome.execution);
    return c.json(toSyncBody(outcome.execution));
  });

  app.get("/executions/:id", auth, validate("param", ExecutionParams), async (c) => {
    const row = await getExecution(c.get("claims"), c.req.valid("param").id, deps);
    return c.json(toExecutionBody(row));
  });

  app.post("/executions/:id/cancel", auth, validate("param", ExecutionParams), async (c) => {
    const row = await cancelExecution(c.get("claims"), c.req.valid("param").id, deps);
    return c.json(toExecutionBody(row));
  });

  mountJobsRoute(app, deps, {
    handlers: {
      [EXECUTION_QUEUE]: (job, ctx) => runQueuedExecution(job.payload, ctx.deps, ctx.logger),
    },
    concurrency: 2,
    background: true,
  });

  /** An Idempotency-Key's earlier run, answered as the mode asks for. */
  function replay(c: Context<UserEnv>, row: ExecutionRow, mode: string) {
    if (mode === "async" || row.status === "pending" || row.status === "running") {
      return c.json(toAccepted(row), 202);
    }
    if (mode === "stream") {
      const requestId = c.get("requestId");
      return c.body(
        eventStream((sink) => {
          sink.send(
            row.status === "completed"
              ? { type: "done", ...toSyncBody(row) }
              : { type: "error", ...errorBody(endedError(row), requestId) },
          );
          return Promise.resolve();
        }),
        200,
        SSE_HEADERS,
      );
    }
    if (row.status !== "completed") throw endedError(row);
    return c.json(toSyncBody(row));
  }

  /**
   * Stream mode: `delta` events while the model writes, then `done` (the sync body) or `error`.
   * A client that disconnects cancels the stream, which aborts the run: it ends `cancelled`.
   */
  function stream(c: Context<UserEnv>, execution: ExecutionRow) {
    const requestId = c.get("requestId");
    const logger = c.get("logger");
    const body = eventStream(async (sink) => {
      try {
        const outcome = await runExecution(execution.id, deps, {
          signal: sink.signal,
          onDelta: (text) => sink.send({ type: "delta", text }),
          logger,
        });
        if (!outcome) throw new AppError("not_found", `Unknown execution: "${execution.id}"`);
        if (outcome.error) throw outcome.error;
        if (outcome.execution.status !== "completed") throw endedError(outcome.execution);
        sink.send({ type: "done", ...toSyncBody(outcome.execution) });
      } catch (error) {
        sink.send({ type: "error", ...errorBody(toAppError(error), requestId) });
      }
    }, { signal: c.req.raw.signal });
    return c.body(body, 200, SSE_HEADERS);
  }

  return app;
}
