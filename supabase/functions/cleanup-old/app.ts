/**
 * `cleanup-old`: applies the retention policies (public.retention_policies, tuned per
 * organization by owners and admins) in bounded batches.
 *
 *   POST /cleanup-old  { dry_run?, batch_size?, policies? }
 *     -> { dry_run, actions: [{ policy, table, affected, complete, error? }], duration_ms }
 *
 * Machines only: a service key (legacy service_role JWT or `sb_secret_` key), a service_role JWT,
 * or the job secret (JOB_SECRET, which the daily pg_cron job `cleanup_old` sends from Vault).
 * User and anon tokens get 403, anything else 401. verify_jwt is off in config.toml because the
 * job secret and opaque keys are not JWTs.
 */
import { CleanupRequest } from "../_shared/contracts/cleanup-old.ts";
import type { Deps } from "../_shared/deps.ts";
import { AppError } from "../_shared/errors.ts";
import { createFunctionApp } from "../_shared/http/app.ts";
import { serviceAuth } from "../_shared/http/auth.ts";
import { toIssues } from "../_shared/http/validate.ts";
import { runCleanup } from "./retention.ts";

export function createApp(deps: Deps) {
  const app = createFunctionApp("cleanup-old", {
    logger: deps.logger,
    corsOrigins: deps.config.corsOrigins,
    maxBodyBytes: 16 * 1024,
  });
  const auth = serviceAuth({
    serviceKeys: [...deps.config.serviceKeys, deps.config.jobSecret ?? ""],
    verifyJwt: deps.verifyJwt,
  });

  app.post("/", auth, async (c) => {
    const input = CleanupRequest.safeParse(await readJson(c.req.raw));
    if (!input.success) {
      throw new AppError("invalid_request", "Invalid request body", {
        details: toIssues(input.error.issues),
      });
    }
    return c.json(await runCleanup(input.data, deps, { logger: c.get("logger") }));
  });

  return app;
}

/** The JSON body; an empty body means `{}` (pg_cron and curl -X POST send none or `{}`). */
async function readJson(request: Request): Promise<unknown> {
  const text = await request.text();
  if (text.trim() === "") return {};
  try {
    return JSON.parse(text);
  } catch {
    throw new AppError("invalid_request", "Malformed JSON in request body");
  }
}
