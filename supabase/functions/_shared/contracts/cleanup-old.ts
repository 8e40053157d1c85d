/** `cleanup-old`'s request and response: apply the retention policies (service credential only). */
import { z } from "zod";

/** The policies cleanup-old applies, in this order (rows of public.retention_policies). */
export const RETENTION_POLICIES = [
  "conversations_archive",
  "conversations_delete",
  "analytics_events",
  "analytics_hourly",
  "analytics_daily",
  "jobs_completed",
  "jobs_dead",
  "cron_job_run_details",
  "net_http_responses",
  "failed_uploads",
  "orphaned_objects",
] as const;
export type RetentionPolicy = (typeof RETENTION_POLICIES)[number];

/** `POST /functions/v1/cleanup-old`; unknown fields are refused (400). */
export const CleanupRequest = z.strictObject({
  /** Report what is due without changing anything (default false). */
  dry_run: z.boolean().default(false),
  /** Rows per batch, each batch its own short transaction (1..5000, default 500). */
  batch_size: z.int().min(1).max(5000).default(500),
  /** Only these policies (default: all, in the order above). */
  policies: z.array(z.enum(RETENTION_POLICIES)).min(1).optional(),
});
export type CleanupRequest = z.input<typeof CleanupRequest>;

export const CleanupAction = z.object({
  policy: z.enum(RETENTION_POLICIES),
  /** The table the policy archives or deletes in. */
  table: z.string(),
  /** Rows archived or deleted; in a dry run, rows due. */
  affected: z.int().nonnegative(),
  /** False when the time budget ran out first (run again to continue). */
  complete: z.boolean(),
  /** Why the policy stopped early (e.g. a Storage API failure); the others still ran. */
  error: z.string().optional(),
});
export type CleanupAction = z.infer<typeof CleanupAction>;

export const CleanupResponse = z.object({
  dry_run: z.boolean(),
  actions: z.array(CleanupAction),
  duration_ms: z.int().nonnegative(),
});
export type CleanupResponse = z.infer<typeof CleanupResponse>;
