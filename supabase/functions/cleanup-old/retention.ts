/**
 * The work behind `POST /cleanup-old`: apply each retention policy in bounded batches, one short
 * transaction per batch, until nothing is due or the time budget is spent. The predicates live
 * in SQL (private.apply_retention_policy and private.retention_target, see
 * *_retention_apply.sql), so a dry run counts exactly what a real run with the same `as_of`
 * applies. Storage objects go through the Storage API with the service key, which deletes the
 * bytes; the documents bucket's delete trigger removes their upload rows and documents.
 */
import { createClient, type SupabaseClient } from "@supabase/supabase-js";
import {
  type CleanupAction,
  type CleanupResponse,
  RETENTION_POLICIES,
  type RetentionPolicy,
} from "../_shared/contracts/cleanup-old.ts";
import type { Columns } from "../_shared/db/rows.ts";
import type { Deps } from "../_shared/deps.ts";
import type { Logger } from "../_shared/logger.ts";

const STORAGE_POLICIES = new Set<RetentionPolicy>(["failed_uploads", "orphaned_objects"]);
/** Storage API removals take at most this many paths per call. */
const MAX_STORAGE_BATCH = 1000;

export interface CleanupInput {
  dry_run: boolean;
  batch_size: number;
  policies?: RetentionPolicy[] | undefined;
}

export interface CleanupOptions {
  logger: Logger;
  /** Stop starting batches after this long (default 50 s, under the edge runtime's limits). */
  budgetMs?: number;
}

/** Applies (or, dry, counts) the requested policies; per-policy failures are reported, not thrown. */
export async function runCleanup(
  input: CleanupInput,
  deps: Deps,
  options: CleanupOptions,
): Promise<CleanupResponse> {
  const started = performance.now();
  const deadline = started + (options.budgetMs ?? 50_000);
  const asOf = deps.now().toISOString();
  const wanted = new Set(input.policies ?? RETENTION_POLICIES);
  const targets = await deps.db.asService((tx) =>
    tx.query<Columns<"retention_policies", "policy" | "target">>(
      "select policy, target from public.retention_policies",
    )
  );
  const tableOf = new Map(targets.map((row) => [row.policy, row.target]));

  const actions: CleanupAction[] = [];
  for (const policy of RETENTION_POLICIES) {
    if (!wanted.has(policy)) continue;
    const action: CleanupAction = {
      policy,
      table: tableOf.get(policy) ?? "",
      affected: 0,
      complete: false,
    };
    actions.push(action);
    try {
      if (input.dry_run) {
        action.affected = await countDue(policy, asOf, deps);
        action.complete = true;
      } else if (STORAGE_POLICIES.has(policy)) {
        await applyStoragePolicy(action, { ...input, asOf, deadline }, deps);
      } else {
        await applySqlPolicy(action, { ...input, asOf, deadline }, deps);
      }
    } catch (error) {
      action.error = error instanceof Error ? error.message : String(error);
      options.logger.error("retention policy failed", { policy, error });
    }
    options.logger.info("retention", {
      policy,
      dry_run: input.dry_run,
      affected: action.affected,
      complete: action.complete,
    });
  }
  return {
    dry_run: input.dry_run,
    actions,
    duration_ms: Math.round(performance.now() - started),
  };
}

interface RunState {
  batch_size: number;
  asOf: string;
  deadline: number;
}

async function countDue(policy: RetentionPolicy, asOf: string, deps: Deps): Promise<number> {
  const [row] = await deps.db.asService((tx) =>
    tx.query<{ due: number | string }>(
      "select private.apply_retention_policy($1, 1, true, $2::timestamptz) as due",
      [policy, asOf],
    )
  );
  return Number(row?.due ?? 0);
}

/** Batches of SQL archiving or deleting, each in its own transaction. */
async function applySqlPolicy(action: CleanupAction, run: RunState, deps: Deps): Promise<void> {
  while (performance.now() < run.deadline) {
    const [row] = await deps.db.asService((tx) =>
      tx.query<{ affected: number | string }>(
        "select private.apply_retention_policy($1, $2, false, $3::timestamptz) as affected",
        [action.policy, run.batch_size, run.asOf],
      )
    );
    const affected = Number(row?.affected ?? 0);
    action.affected += affected;
    if (affected < run.batch_size) {
      action.complete = true;
      return;
    }
  }
}

/** Batches of storage objects removed through the Storage API, with their rows. */
async function applyStoragePolicy(
  action: CleanupAction,
  run: RunState,
  deps: Deps,
): Promise<void> {
  const storage = storageClient(deps);
  const size = Math.min(run.batch_size, MAX_STORAGE_BATCH);
  while (performance.now() < run.deadline) {
    const due = await deps.db.asService((tx) =>
      tx.query<{ id: string; bucket: string; path: string }>(
        "select id, bucket, path from private.retention_storage_batch($1, $2, $3::timestamptz)",
        [action.policy, size, run.asOf],
      )
    );
    if (due.length === 0) {
      action.complete = true;
      return;
    }
    let affected = 0;
    for (const [bucket, paths] of groupByBucket(due)) {
      const { data, error } = await storage.storage.from(bucket).remove(paths);
      if (error) {
        throw new Error(
          `Storage API refused to remove objects of bucket "${bucket}": ${error.message}`,
        );
      }
      if (action.policy === "orphaned_objects") affected += data?.length ?? 0;
    }
    if (action.policy === "failed_uploads") {
      const [row] = await deps.db.asService((tx) =>
        tx.query<{ gone: number | string }>(
          "select private.forget_failed_uploads($1::uuid[]) as gone",
          [due.map((row) => row.id)],
        )
      );
      affected = Number(row?.gone ?? 0);
    }
    action.affected += affected;
    if (affected === 0) throw new Error("The Storage API removed none of the due objects");
    if (due.length < size) {
      action.complete = true;
      return;
    }
  }
}

function groupByBucket(rows: { bucket: string; path: string }[]): Map<string, string[]> {
  const groups = new Map<string, string[]>();
  for (const row of rows) groups.set(row.bucket, [...groups.get(row.bucket) ?? [], row.path]);
  return groups;
}

function storageClient(deps: Deps): SupabaseClient {
  return createClient(deps.config.supabaseUrl, deps.config.serviceRoleKey, {
    auth: { persistSession: false, autoRefreshToken: false },
    global: {
      fetch: (input, init) => fetch(input, { ...init, signal: AbortSignal.timeout(30_000) }),
    },
  });
}
