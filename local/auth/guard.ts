/**
 * Who is calling: GoTrue's requireAuthentication (a user's access token, whose user and session
 * must still exist) and requireAdminCredentials (a token whose role is an admin role).
 */
import type { Claims } from "../../supabase/functions/_shared/auth.ts";
import type { AuthContext, Tx } from "./deps.ts";
import { AuthError, badRequest, forbidden } from "./errors.ts";
import { isUuid, NIL_UUID } from "./input.ts";
import { findSession, type SessionRow } from "./sessions.ts";
import { loadUser, type UserRecord } from "./users.ts";

/** GOTRUE_JWT_ADMIN_ROLES as the CLI sets it locally. */
const ADMIN_ROLES = ["service_role"];

/** The bearer token of the Authorization header, or 401 no_authorization. */
export function bearerToken(header: string | undefined): string {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? "");
  if (!match) {
    throw new AuthError(401, "no_authorization", "This endpoint requires a valid Bearer token");
  }
  return match[1]!;
}

/** Verifies the token's signature and expiry with the stack's keys, or 403 bad_jwt. */
export async function verifyToken(ctx: AuthContext, token: string): Promise<Claims> {
  try {
    return await ctx.keys.verify(token);
  } catch (error) {
    const reason = error instanceof Error ? error.message.replace(/^Invalid JWT:\s*/, "") : "";
    throw forbidden("bad_jwt", `invalid JWT: unable to parse or verify signature, ${reason}`);
  }
}

/** The claims of a user's token, with a uuid `sub`. */
export async function authenticate(ctx: AuthContext, header: string | undefined): Promise<Claims> {
  const claims = await verifyToken(ctx, bearerToken(header));
  if (!claims.sub) throw forbidden("bad_jwt", "invalid claim: missing sub claim");
  if (!isUuid(claims.sub)) throw badRequest("bad_jwt", "invalid claim: sub claim must be a UUID");
  return claims;
}

export interface Caller {
  claims: Claims;
  record: UserRecord;
  /** Null for a token without a session_id (GoTrue accepts those, e.g. hand-made tokens). */
  session: SessionRow | null;
}

/** Loads the user and session a token names, or 403 user_not_found / session_not_found. */
export async function loadCaller(tx: Tx, claims: Claims): Promise<Caller> {
  const record = await loadUser(tx, claims.sub!);
  if (!record) throw forbidden("user_not_found", "User from sub claim in JWT does not exist");
  let session: SessionRow | null = null;
  const sessionId = claims.session_id;
  if (sessionId && sessionId !== NIL_UUID) {
    session = isUuid(sessionId) ? await findSession(tx, sessionId) : null;
    if (!session || session.user_id !== record.user.id) {
      throw forbidden("session_not_found", "Session from session_id claim in JWT does not exist");
    }
  }
  return { claims, record, session };
}

/** The claims of an admin token (service_role), or 403 not_admin. */
export async function requireAdmin(ctx: AuthContext, header: string | undefined): Promise<Claims> {
  const claims = await verifyToken(ctx, bearerToken(header));
  if (!ADMIN_ROLES.includes(claims.role)) throw forbidden("not_admin", "User not allowed");
  return claims;
}
