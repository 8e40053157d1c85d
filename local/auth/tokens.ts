/**
 * Refresh tokens (SQL on auth.refresh_tokens), access tokens (claims and signing), and the
 * start of a session, which issues both.
 *
 * Refresh tokens are opaque random strings. They rotate: using one revokes it and issues a child
 * whose `parent` names it, all within one session (the token family).
 */
import type { AuthContext, RequestMeta, Tx } from "./deps.ts";
import { dbStep as step } from "./errors.ts";
import { createSession, type SessionRow } from "./sessions.ts";
import { loadUser, setLastSignIn, userJson, type UserRecord } from "./users.ts";

export interface RefreshTokenRow {
  /** bigserial, read as text. */
  id: string;
  token: string;
  user_id: string;
  revoked: boolean;
  updated_at: Date | null;
  parent: string | null;
  session_id: string | null;
}

const TOKEN_COLUMNS = "id::text as id, token, user_id, revoked, updated_at, parent, session_id";
const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/** 22 characters of a 62-letter alphabet: about 131 bits, opaque to clients. */
function newRefreshTokenString(): string {
  const out: string[] = [];
  while (out.length < 22) {
    for (const byte of crypto.getRandomValues(new Uint8Array(32))) {
      // 248 = 4 * 62: rejecting the rest keeps every letter equally likely.
      if (byte < 248 && out.length < 22) out.push(ALPHABET[byte % 62]!);
    }
  }
  return out.join("");
}

export async function createRefreshToken(
  tx: Tx,
  options: { userId: string; sessionId: string; parent: string | null; now: Date },
): Promise<RefreshTokenRow> {
  const { rows } = await tx.query<RefreshTokenRow>(
    `insert into auth.refresh_tokens
       (instance_id, token, user_id, revoked, created_at, updated_at, parent, session_id)
     values ('00000000-0000-0000-0000-000000000000', $1, $2, false, $3, $3, $4, $5)
     returning ${TOKEN_COLUMNS}`,
    [newRefreshTokenString(), options.userId, options.now, options.parent, options.sessionId],
  );
  return rows[0]!;
}

export async function findRefreshToken(tx: Tx, token: string): Promise<RefreshTokenRow | null> {
  const { rows } = await tx.query<RefreshTokenRow>(
    `select ${TOKEN_COLUMNS} from auth.refresh_tokens where token = $1`,
    [token],
  );
  return rows[0] ?? null;
}

/** The session's newest unrevoked token (GoTrue's FindCurrentlyActiveRefreshToken). */
export async function findActiveRefreshToken(
  tx: Tx,
  sessionId: string,
): Promise<RefreshTokenRow | null> {
  const { rows } = await tx.query<RefreshTokenRow>(
    `select ${TOKEN_COLUMNS} from auth.refresh_tokens
      where session_id = $1 and revoked = false order by id desc limit 1`,
    [sessionId],
  );
  return rows[0] ?? null;
}

export async function revokeRefreshToken(tx: Tx, id: string, now: Date): Promise<void> {
  await tx.query(
    "update auth.refresh_tokens set revoked = true, updated_at = $2 where id = $1",
    [id, now],
  );
}

/** How the session was started, for the `amr` claim. */
export type AuthMethod = "password" | "anonymous" | "otp" | "recovery" | "invite";

/**
 * Signs an access token with the claims GoTrue puts in it (docs/platform.md section 4.4), in that
 * order. `amr` carries the session's sign-in time, which refreshes keep.
 */
export async function signAccessToken(
  ctx: AuthContext,
  record: UserRecord,
  session: SessionRow,
  method: AuthMethod,
): Promise<{ token: string; expiresAt: number }> {
  const u = record.user;
  const iat = Math.floor(ctx.now().getTime() / 1000);
  const exp = iat + ctx.settings.jwtExpiry;
  const signedInAt = Math.floor((session.created_at ?? ctx.now()).getTime() / 1000);
  const token = await ctx.keys.signUserToken({
    iss: ctx.issuer,
    sub: u.id,
    aud: u.aud || "authenticated",
    exp,
    iat,
    email: u.email ?? "",
    phone: u.phone ?? "",
    app_metadata: u.raw_app_meta_data ?? {},
    user_metadata: u.raw_user_meta_data ?? {},
    // Seeded rows often leave role NULL; GoTrue would sign "" and PostgREST would then refuse
    // the token, so the default group is used instead.
    role: u.role || "authenticated",
    aal: session.aal || "aal1",
    amr: [{ method, timestamp: signedInAt }],
    session_id: session.id,
    is_anonymous: u.is_anonymous,
  });
  return { token, expiresAt: exp };
}

/** The session object auth-js stores (GoTrue's AccessTokenResponse). */
export async function sessionResponse(
  ctx: AuthContext,
  record: UserRecord,
  session: SessionRow,
  refreshToken: string,
  method: AuthMethod,
): Promise<Record<string, unknown>> {
  const { token, expiresAt } = await signAccessToken(ctx, record, session, method);
  return {
    access_token: token,
    token_type: "bearer",
    expires_in: ctx.settings.jwtExpiry,
    expires_at: expiresAt,
    refresh_token: refreshToken,
    user: userJson(record),
  };
}

/** The method a session was started with, from its user (anonymous users have no password). */
export function methodOf(record: UserRecord): AuthMethod {
  return record.user.is_anonymous ? "anonymous" : "password";
}

/**
 * GoTrue's issueRefreshToken: a new session with its first refresh token, the sign-in time
 * recorded, and the session object for the response.
 */
export async function startSession(
  ctx: AuthContext,
  tx: Tx,
  userId: string,
  meta: RequestMeta,
  method: AuthMethod,
): Promise<Record<string, unknown>> {
  const now = ctx.now();
  const { session, token } = await step("Database error granting user", async () => {
    const session = await createSession(tx, { userId, now, userAgent: meta.userAgent });
    const token = await createRefreshToken(tx, {
      userId,
      sessionId: session.id,
      parent: null,
      now,
    });
    await setLastSignIn(tx, userId, now);
    return { session, token };
  });
  const record = (await loadUser(tx, userId))!;
  return await sessionResponse(ctx, record, session, token.token, method);
}
