/**
 * `conversation-summarize`: rolling summaries of conversations, kept within a size bound, with
 * an embedding, so agents keep their memory within a token budget. See README
 * "conversation-summarize".
 *
 *   POST /conversation-summarize        the signed-in user's conversation, now (`force`)
 *   POST /conversation-summarize/jobs   the conversation_summaries queue worker (job secret)
 *
 * verify_jwt is off for this function (its /jobs route takes the job secret, not a JWT); the
 * user route verifies the JWT itself with userAuth.
 */
import type { ConversationSummarizeResponse } from "../_shared/contracts/message-preprocess.ts";
import { requireOwnConversation } from "../_shared/conversations.ts";
import type { Deps } from "../_shared/deps.ts";
import { AppError } from "../_shared/errors.ts";
import { createFunctionApp } from "../_shared/http/app.ts";
import { userAuth } from "../_shared/http/auth.ts";
import { validate } from "../_shared/http/validate.ts";
import { type JobHandler, mountJobsRoute, RetryLater } from "../_shared/jobs.ts";
import { enforceRateLimit } from "../_shared/rate-limit.ts";
import {
  ConversationSummarizeRequest,
  RATE_LIMIT_BUCKET,
  SUMMARY_QUEUE,
  SummaryJobPayload,
} from "./schema.ts";
import { summarizeConversation } from "./summarize.ts";

/** How long the user route waits for another summarizer to finish before answering 409. */
const BUSY_WAIT_MS = 10_000;
const BUSY_POLL_MS = 500;
/** When a queue job finds the conversation being summarised, it runs again after this. */
const BUSY_RETRY_SECONDS = 30;

export function createApp(deps: Deps) {
  const app = createFunctionApp("conversation-summarize", {
    logger: deps.logger,
    corsOrigins: deps.config.corsOrigins,
  });

  app.post(
    "/",
    userAuth(deps.verifyJwt),
    validate("json", ConversationSummarizeRequest),
    async (c) => {
      const claims = c.get("claims");
      const request = c.req.valid("json");
      const conversation = await deps.db.asUser(
        claims,
        (tx) => requireOwnConversation(tx, request.conversation_id),
      );
      await deps.db.asService((tx) =>
        enforceRateLimit(tx, {
          userId: claims.sub,
          organizationId: conversation.organization_id,
          bucket: RATE_LIMIT_BUCKET,
        })
      );
      const deadline = Date.now() + BUSY_WAIT_MS;
      for (;;) {
        const outcome = await summarizeConversation(conversation.id, deps, {
          force: request.force,
          signal: c.req.raw.signal,
        });
        if (outcome.status === "gone") {
          throw new AppError("not_found", `Unknown conversation: "${conversation.id}"`);
        }
        if (outcome.status !== "busy") {
          const { status: _status, ...body } = outcome;
          return c.json(body satisfies ConversationSummarizeResponse);
        }
        if (Date.now() >= deadline) {
          throw new AppError(
            "conflict",
            `Conversation "${conversation.id}" is being summarised; retry shortly`,
            { headers: { "Retry-After": "5" } },
          );
        }
        await new Promise((resolve) => setTimeout(resolve, BUSY_POLL_MS));
      }
    },
  );

  const summarizeJob: JobHandler = async (job, ctx) => {
    const parsed = SummaryJobPayload.safeParse(job.payload);
    if (!parsed.success) {
      ctx.logger.warn("summary job without a valid conversation_id; dropped");
      return;
    }
    const outcome = await summarizeConversation(parsed.data.conversation_id, ctx.deps, {
      force: false,
      signal: ctx.signal,
    });
    if (outcome.status === "busy") {
      throw new RetryLater("The conversation is being summarised", BUSY_RETRY_SECONDS);
    }
    if (outcome.status === "gone") ctx.logger.info("summary job for a deleted conversation");
  };

  // Background: a batch of 5 conversations, each up to MAX_ROUNDS provider calls, can outlast
  // pg_net's 30 s request timeout; the jobs report themselves through SQL either way.
  mountJobsRoute(app, deps, {
    handlers: { [SUMMARY_QUEUE]: summarizeJob },
    concurrency: 2,
    background: true,
  });

  return app;
}
