/**
 * `file-processor`: turns uploads to the `documents` bucket into searchable, embedded sections,
 * fills the embeddings the triggers ask for, and searches documents. See README "file-processor".
 *
 *   POST /file-processor          process the caller's own upload now ({ file_id })
 *   POST /file-processor/search   search the caller's organizations' documents
 *   POST /file-processor/jobs     queue worker (job secret): file_processing,
 *                                 document_embeddings, agent_embeddings
 *
 * verify_jwt is off for this function (its /jobs route takes the job secret, not a JWT); the
 * user routes verify the JWT themselves with userAuth.
 */
import {
  AgentEmbeddingsPayload,
  DocumentEmbeddingsPayload,
  FileProcessingPayload,
  MAX_SEARCH_QUERY_CHARS,
  ProcessFileRequest,
  type ProcessFileResponse,
  SearchRequest,
} from "../_shared/contracts/file-processor.ts";
import type { Columns } from "../_shared/db/rows.ts";
import type { Deps } from "../_shared/deps.ts";
import { failureReason, fileFailure } from "../_shared/extract/mod.ts";
import { createFunctionApp } from "../_shared/http/app.ts";
import { userAuth } from "../_shared/http/auth.ts";
import type { UserClaims } from "../_shared/auth.ts";
import { validate } from "../_shared/http/validate.ts";
import { type Job, type JobContext, mountJobsRoute, RetryLater } from "../_shared/jobs.ts";
import { enforceRateLimit } from "../_shared/rate-limit.ts";
import { checkText } from "../_shared/text/sanitize.ts";
import { embedAgentDescription, embedDocumentSections } from "./embed.ts";
import { mark, processUpload, unknownFile } from "./process-file.ts";
import { searchDocuments } from "./search.ts";

/** The rate limit both user routes count against (the plan's `default` limit unless one is set). */
export const RATE_LIMIT_BUCKET = "file-processor";

/** One file's share of a batch: past this it fails as too slow rather than starve the rest. */
export const FILE_TIME_LIMIT_MS = 40_000;

export function createApp(deps: Deps, options: { fileTimeLimitMs?: number } = {}) {
  const app = createFunctionApp("file-processor", {
    logger: deps.logger,
    corsOrigins: deps.config.corsOrigins,
  });
  const auth = userAuth(deps.verifyJwt);
  const fileTimeLimitMs = options.fileTimeLimitMs ?? FILE_TIME_LIMIT_MS;

  app.post("/", auth, validate("json", ProcessFileRequest), async (c) => {
    const claims = c.get("claims");
    const { file_id } = c.req.valid("json");
    // The caller's own upload, as RLS shows it to them (a current member of its organization).
    const [own] = await deps.db.asUser(
      claims,
      (tx) =>
        tx.query<Columns<"file_uploads", "organization_id">>(
          `select f.organization_id from public.file_uploads f
         where f.id = $1 and f.user_id = auth.uid()`,
          [file_id],
        ),
    );
    if (!own) throw unknownFile(file_id);
    await deps.db.asService((tx) =>
      enforceRateLimit(tx, {
        userId: claims.sub,
        organizationId: own.organization_id,
        bucket: RATE_LIMIT_BUCKET,
      })
    );
    const fileTimer = AbortSignal.timeout(fileTimeLimitMs);
    const outcome = await processUpload(file_id, deps, {
      logger: c.get("logger"),
      signal: AbortSignal.any([c.req.raw.signal, fileTimer]),
    }).catch(async (error) => {
      if (!fileTimer.aborted) throw error;
      throw await recordTooSlow(file_id, fileTimeLimitMs, deps);
    });
    if (!outcome) throw unknownFile(file_id);
    if (outcome.failure) throw outcome.failure;
    const { failure: _failure, ...body } = outcome;
    return c.json(body satisfies ProcessFileResponse);
  });

  app.post("/search", auth, validate("json", SearchRequest), async (c) => {
    const claims = c.get("claims");
    const input = c.req.valid("json");
    // A query empty once cleaned is refused before it counts against the rate limit.
    checkText(input.query, { maxChars: MAX_SEARCH_QUERY_CHARS, field: "query" });
    // The plan of an organization the caller belongs to counts; else the free plan's limit.
    const organizationId = await memberOrganization(claims, input.filter.organization_id, deps);
    await deps.db.asService((tx) =>
      enforceRateLimit(tx, {
        userId: claims.sub,
        organizationId,
        bucket: RATE_LIMIT_BUCKET,
      })
    );
    const body = await searchDocuments(claims, input, deps, {
      logger: c.get("logger"),
      signal: c.req.raw.signal,
    });
    return c.json(body);
  });

  mountJobsRoute(app, deps, {
    handlers: {
      file_processing: (job, ctx) => processJob(job, ctx, fileTimeLimitMs),
      document_embeddings: async (job, ctx) => {
        const { document_id } = DocumentEmbeddingsPayload.parse(job.payload);
        const { embedded } = await embedDocumentSections(document_id, ctx.deps, ctx.signal);
        ctx.logger.info("sections embedded", { document_id, embedded });
      },
      agent_embeddings: async (job, ctx) => {
        const { agent_id } = AgentEmbeddingsPayload.parse(job.payload);
        const written = await embedAgentDescription(agent_id, ctx.deps, ctx.signal);
        ctx.logger.info("agent description embedded", { agent_id, written });
      },
    },
    // Two files at once, answered at once (202): the dispatcher's HTTP timeout does not bound
    // the work, the budget and each file's time limit do; every job is reported through SQL.
    concurrency: 2,
    budgetMs: 50_000,
    background: true,
  });

  return app;
}

/**
 * The `file_processing` job. A file failure is recorded and the job completes (retrying cannot
 * help); a file that outlives its time limit fails as too slow; when the batch's budget ends
 * first, or storage or the database fail, the rows go back to `pending` and the job is retried.
 */
async function processJob(job: Job, ctx: JobContext, fileTimeLimitMs: number): Promise<void> {
  const payload = FileProcessingPayload.parse(job.payload);
  const fileTimer = AbortSignal.timeout(fileTimeLimitMs);
  try {
    const outcome = await processUpload(payload.file_upload_id, ctx.deps, {
      logger: ctx.logger,
      signal: AbortSignal.any([ctx.signal, fileTimer]),
    });
    if (!outcome) ctx.logger.info("upload gone; nothing to do");
  } catch (error) {
    if (failureReason(error)) throw error; // recorded already; not expected here
    const upload = { id: payload.file_upload_id, document_id: payload.document_id ?? null };
    if (fileTimer.aborted && !ctx.signal.aborted) {
      await recordTooSlow(upload.id, fileTimeLimitMs, ctx.deps);
      return;
    }
    // The cause is logged by the jobs route; the rows get words a person can act on.
    const last = await isLastAttempt(job, ctx.deps).catch(() => false);
    await mark(
      upload,
      last ? "failed" : "pending",
      last
        ? `Processing failed after ${job.attempt} attempts; upload the file again later`
        : "Processing was interrupted; it will be retried",
      ctx.deps,
    ).catch(() => {});
    if (ctx.signal.aborted) throw new RetryLater("The batch's time budget was spent", 0);
    throw error;
  }
}

/** `organizationId` when the caller can see it (is a member), else null. */
async function memberOrganization(
  claims: UserClaims,
  organizationId: string | undefined,
  deps: Deps,
): Promise<string | null> {
  if (!organizationId) return null;
  const [row] = await deps.db.asUser(
    claims,
    (tx) =>
      tx.query<Columns<"organizations", "id">>(
        "select o.id from public.organizations o where o.id = $1",
        [organizationId],
      ),
  );
  return row?.id ?? null;
}

/** Whether this is the job's last attempt (the queue's max_attempts), after which it is dead. */
async function isLastAttempt(job: Job, deps: Deps): Promise<boolean> {
  const [queue] = await deps.db.asService((tx) =>
    tx.query<{ max_attempts: number }>(
      "select q.max_attempts from private.job_queues q where q.name = $1",
      [job.queue],
    )
  );
  return queue !== undefined && job.attempt >= queue.max_attempts;
}

/** Records that upload `uploadId` took longer than its time limit; returns that failure. */
async function recordTooSlow(uploadId: string, limitMs: number, deps: Deps) {
  const limit = limitMs >= 1000 ? `${Math.round(limitMs / 1000)} s` : `${limitMs} ms`;
  const failure = fileFailure(
    "too_slow",
    `The file took longer than ${limit} to process; split it into smaller files`,
    { time_limit_ms: limitMs },
  );
  await deps.db.asService(async (tx) => {
    await tx.query("update public.file_uploads set status = 'failed', error = $2 where id = $1", [
      uploadId,
      failure.message,
    ]);
    await tx.query(
      `update public.documents d set status = 'failed', error = $2
       where d.id = (select f.document_id from public.file_uploads f where f.id = $1)`,
      [uploadId, failure.message],
    );
  });
  return failure;
}
