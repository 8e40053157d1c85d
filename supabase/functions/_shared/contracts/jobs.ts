/**
 * The queue workers' route, one shape for every worker: `POST /functions/v1/<function>/jobs`
 * with the dedicated job secret (or a service key), as the dispatcher (`private.dispatch_jobs`
 * through pg_net) sends it.
 */
import { z } from "zod";

export const JobsBatch = z.strictObject({
  queue: z.string().regex(/^[a-z][a-z0-9_]{0,62}$/, "Invalid queue name"),
  jobs: z.array(z.strictObject({
    id: z.uuid(),
    payload: z.record(z.string(), z.unknown()),
    attempt: z.number().int().min(1),
  })).max(100),
});
export type JobsBatch = z.infer<typeof JobsBatch>;

/** 200 (every job completed) or 207 (some failed; each is retried or dead-lettered). */
export const JobsOutcome = z.object({
  completed: z.array(z.uuid()),
  failed: z.array(z.object({ id: z.uuid(), error: z.string() })),
});
export type JobsOutcome = z.infer<typeof JobsOutcome>;

/** 202 in background mode: the batch runs after the answer; each job is reported through SQL. */
export const JobsAccepted = z.object({ accepted: z.int().nonnegative() });
export type JobsAccepted = z.infer<typeof JobsAccepted>;
