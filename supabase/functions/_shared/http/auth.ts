/**
 * Route middlewares for the two kinds of callers.
 *
 * - `userAuth`: a signed-in user's JWT, verified in the function even where the gateway also
 *   verifies (verify_jwt), because a function must not trust a hop it does not control.
 * - `serviceAuth`: machines (queue dispatcher, cron, webhooks). Functions only machines call have
 *   verify_jwt = false and check here, failing closed: the bearer must be one of the configured
 *   service keys (legacy service_role JWT or an opaque `sb_secret_` key), or a verified JWT whose
 *   role is service_role.
 */
import { createMiddleware } from "hono/factory";
import { bearerToken, type Claims, requireUser, type UserClaims, type VerifyJwt } from "../auth.ts";
import { AppError } from "../errors.ts";
import type { AppEnv } from "./app.ts";

export type UserEnv = AppEnv & { Variables: AppEnv["Variables"] & { claims: UserClaims } };
export type ServiceEnv = AppEnv & { Variables: AppEnv["Variables"] & { claims: Claims } };

export function userAuth(verifyJwt: VerifyJwt) {
  return createMiddleware<UserEnv>(async function requireSignedInUser(c, next) {
    const token = bearerToken(c.req.header("authorization"));
    if (!token) throw new AppError("unauthenticated", "Missing bearer token");
    c.set("claims", requireUser(await verifyJwt(token)));
    await next();
  });
}

export function serviceAuth(options: { serviceKeys: readonly string[]; verifyJwt: VerifyJwt }) {
  const keys = options.serviceKeys.filter((k) => k.length > 0);
  return createMiddleware<ServiceEnv>(async function requireServiceRole(c, next) {
    const token = bearerToken(c.req.header("authorization"));
    if (!token) throw new AppError("unauthenticated", "Missing bearer token");
    if (keys.some((key) => timingSafeEqual(key, token))) {
      c.set("claims", { role: "service_role" });
      return await next();
    }
    // An opaque key that matched nothing is not a JWT; do not try to parse it.
    if (token.startsWith("sb_")) throw new AppError("unauthenticated", "Invalid service key");
    const claims = await options.verifyJwt(token);
    if (claims.role !== "service_role") {
      throw new AppError("forbidden", "This endpoint is for the service role only");
    }
    c.set("claims", claims);
    await next();
  });
}

/** Compares two strings in time independent of where they differ. */
export function timingSafeEqual(a: string, b: string): boolean {
  const x = new TextEncoder().encode(a);
  const y = new TextEncoder().encode(b);
  let diff = x.length ^ y.length;
  for (let i = 0; i < Math.max(x.length, y.length); i++) diff |= (x[i] ?? 0) ^ (y[i] ?? 0);
  return diff === 0;
}
