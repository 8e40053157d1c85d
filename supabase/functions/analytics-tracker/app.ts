/**
 * `analytics-tracker`: usage events in, an organization's series out.
 *
 *   POST /analytics-tracker            1..500 events, item by item (a user's JWT or the service
 *                                      credential); rate limited per user
 *   GET  /analytics-tracker/summary    counts, error rate, p50/p95/p99, tokens per bucket and
 *                                      name (owners and admins of the organization)
 *
 * Hourly and daily rollups are computed in SQL by pg_cron (see *_analytics_rollups.sql); the
 * summary adds the raw events not yet rolled up, so a just-sent event counts at once.
 */
import { createMiddleware } from "hono/factory";
import { bearerToken, requireUser } from "../_shared/auth.ts";
import { SummaryQuery, TrackRequest } from "../_shared/contracts/analytics-tracker.ts";
import type { Deps } from "../_shared/deps.ts";
import { AppError } from "../_shared/errors.ts";
import { type AppEnv, createFunctionApp } from "../_shared/http/app.ts";
import { timingSafeEqual, userAuth } from "../_shared/http/auth.ts";
import { validate } from "../_shared/http/validate.ts";
import { readSummary } from "./summary.ts";
import { type Caller, recordEvents } from "./track.ts";

type CallerEnv = AppEnv & { Variables: AppEnv["Variables"] & { caller: Caller } };

export function createApp(deps: Deps) {
  const app = createFunctionApp("analytics-tracker", {
    logger: deps.logger,
    corsOrigins: deps.config.corsOrigins,
  });

  app.post("/", userOrService(deps), validate("json", TrackRequest), async (c) => {
    return c.json(await recordEvents(c.get("caller"), c.req.valid("json"), deps));
  });

  app.get("/summary", userAuth(deps.verifyJwt), validate("query", SummaryQuery), async (c) => {
    return c.json(await readSummary(c.get("claims"), c.req.valid("query"), deps));
  });

  return app;
}

/** A signed-in user's JWT, or the service credential (a service key or a service_role JWT). */
function userOrService(deps: Deps) {
  const keys = deps.config.serviceKeys.filter((key) => key.length > 0);
  return createMiddleware<CallerEnv>(async function requireUserOrService(c, next) {
    const token = bearerToken(c.req.header("authorization"));
    if (!token) throw new AppError("unauthenticated", "Missing bearer token");
    let service = false;
    for (const key of keys) service = timingSafeEqual(key, token) || service;
    if (!service) {
      if (token.startsWith("sb_")) throw new AppError("unauthenticated", "Invalid API key");
      const claims = await deps.verifyJwt(token);
      service = claims.role === "service_role";
      if (!service) c.set("caller", { kind: "user", claims: requireUser(claims) });
    }
    if (service) c.set("caller", { kind: "service" });
    await next();
  });
}
