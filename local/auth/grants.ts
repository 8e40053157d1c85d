/**
 * POST /token: the password grant and the refresh-token grant, with GoTrue's rules
 * (supabase/auth `internal/api/token.go`, `token_refresh.go`).
 */
import { type AuthContext, authTransaction, type RequestMeta, type Tx } from "./deps.ts";
import { AuthError, badRequest, dbStep as step, unprocessable } from "./errors.ts";
import { type PasswordGrantBody, validateEmail } from "./input.ts";
import { deleteSession, findSession, touchSession } from "./sessions.ts";
import {
  createRefreshToken,
  findActiveRefreshToken,
  findRefreshToken,
  methodOf,
  type RefreshTokenRow,
  revokeRefreshToken,
  sessionResponse,
  startSession,
} from "./tokens.ts";
import { checkPassword, findUserByEmail, isBanned, loadUser } from "./users.ts";

type Json = Record<string, unknown>;

const invalidCredentials = () => badRequest("invalid_credentials", "Invalid login credentials");

/**
 * Signs in with email and password. A wrong password and an unknown email get the same answer,
 * so the endpoint does not tell who is registered.
 */
export async function passwordGrant(
  ctx: AuthContext,
  body: PasswordGrantBody,
  meta: RequestMeta,
): Promise<Json> {
  if (body.email !== "" && body.phone !== "") {
    throw unprocessable(
      "validation_failed",
      "Only an email address or phone number should be provided on login.",
    );
  }
  if (body.phone !== "") throw badRequest("phone_provider_disabled", "Phone logins are disabled");
  if (body.email === "") throw badRequest("validation_failed", "missing email or phone");
  let email: string;
  try {
    email = validateEmail(body.email);
  } catch {
    throw invalidCredentials();
  }

  // The hash is compared between two transactions, off the shared database session.
  const found = await authTransaction(ctx, (tx) => findUserByEmail(tx, email));
  if (!found || !(await checkPassword(found.encrypted_password, body.password))) {
    throw invalidCredentials();
  }
  return await authTransaction(ctx, async (tx) => {
    const user = await findUserByEmail(tx, email);
    if (!user || user.id !== found.id || user.encrypted_password !== found.encrypted_password) {
      throw invalidCredentials();
    }
    if (isBanned(user, ctx.now())) throw badRequest("user_banned", "User is banned");
    if (user.email_confirmed_at === null) {
      throw badRequest("email_not_confirmed", "Email not confirmed");
    }
    return await startSession(ctx, tx, user.id, meta, "password");
  });
}

type RefreshOutcome = { response: Json } | { error: AuthError };

/**
 * Exchanges a refresh token for a new session object. The token used is revoked and a child is
 * issued. Presenting a revoked token again is allowed only as a retry: if it is the parent of the
 * session's active token, that token is returned again; if it was revoked less than
 * `refreshTokenReuseInterval` seconds ago, a new child is issued. Otherwise it is treated as
 * theft: the whole session is revoked (committed) and the answer is 400 refresh_token_already_used.
 */
export async function refreshTokenGrant(
  ctx: AuthContext,
  refreshToken: string,
  meta: RequestMeta,
): Promise<Json> {
  if (refreshToken === "") throw badRequest("validation_failed", "refresh_token required");
  const outcome = await authTransaction(ctx, async (tx): Promise<RefreshOutcome> => {
    const token = await findRefreshToken(tx, refreshToken);
    const session = token?.session_id ? await findSession(tx, token.session_id) : null;
    const record = token && session ? await loadUser(tx, session.user_id) : null;
    if (!token || !session || !record) {
      throw badRequest(
        "refresh_token_not_found",
        "Invalid Refresh Token: Refresh Token Not Found",
      );
    }
    const now = ctx.now();
    if (isBanned(record.user, now)) {
      throw badRequest("user_banned", "Invalid Refresh Token: User Banned");
    }
    if (session.not_after && now.getTime() > session.not_after.getTime()) {
      throw badRequest("session_expired", "Invalid Refresh Token: Session Expired");
    }

    let issued: RefreshTokenRow | null = null;
    if (token.revoked) {
      const active = await findActiveRefreshToken(tx, session.id);
      if (active && active.parent === token.token) {
        issued = active;
      } else {
        const revokedAt = (token.updated_at ?? new Date(0)).getTime();
        const reuseUntil = revokedAt + ctx.settings.refreshTokenReuseInterval * 1000;
        if (now.getTime() > reuseUntil) {
          if (ctx.settings.refreshTokenRotation) await endCompromisedSession(tx, session.id);
          return {
            error: badRequest("refresh_token_already_used", "Invalid Refresh Token: Already Used"),
          };
        }
      }
    }
    if (!issued) {
      issued = await step("Database error granting user", async () => {
        await revokeRefreshToken(tx, token.id, now);
        return await createRefreshToken(tx, {
          userId: record.user.id,
          sessionId: session.id,
          parent: token.token,
          now,
        });
      });
    }
    await step(
      "failed to update session information",
      () => touchSession(tx, session.id, now, meta.userAgent),
    );
    return {
      response: await sessionResponse(ctx, record, session, issued.token, methodOf(record)),
    };
  });
  if ("error" in outcome) throw outcome.error;
  return outcome.response;
}

/**
 * The answer to a reused refresh token (with rotation on). GoTrue revokes the session's refresh
 * tokens but keeps the session, and its newest version stamps them revoked "now", which reopens
 * the reuse window for each of them. Here the whole session ends instead: its refresh tokens go
 * with it (refresh_token_not_found from then on) and its access tokens answer session_not_found.
 */
async function endCompromisedSession(tx: Tx, sessionId: string): Promise<void> {
  await step("Database error revoking session", () => deleteSession(tx, sessionId));
}
