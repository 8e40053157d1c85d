/**
 * The signed-in user's own endpoints: GET /user, PUT /user and POST /logout
 * (supabase/auth `internal/api/user.go`, `logout.go`).
 */
import type { Claims } from "../../supabase/functions/_shared/auth.ts";
import { type AuthContext, authTransaction } from "./deps.ts";
import { badRequest, dbStep as step, forbidden, unprocessable } from "./errors.ts";
import { loadCaller } from "./guard.ts";
import {
  checkPasswordStrength,
  type LogoutScope,
  mergeMetadata,
  type UserUpdateBody,
  validateEmail,
} from "./input.ts";
import { deleteSession, deleteUserSessions } from "./sessions.ts";
import {
  emailTaken,
  loadUser,
  setEmailChange,
  setPassword,
  setUserMetadata,
  userJson,
  verifyPassword,
} from "./users.ts";

type Json = Record<string, unknown>;

/** GET /user: the caller's User object. */
export async function getUser(ctx: AuthContext, claims: Claims): Promise<Json> {
  const audience = Array.isArray(claims.aud) ? claims.aud[0] : claims.aud;
  if (audience !== "authenticated") {
    throw badRequest("validation_failed", "Token audience doesn't match request audience");
  }
  return await authTransaction(ctx, async (tx) => userJson((await loadCaller(tx, claims)).record));
}

/**
 * PUT /user. `data` is merged into the user metadata (a null value deletes its key). A new
 * password must pass the strength rules and differ from the old one; it ends every other session
 * of the user. A new email is recorded as a pending change (`new_email`), as GoTrue does before
 * mailing confirmation links; the local stack sends no mail.
 */
export async function updateUser(
  ctx: AuthContext,
  claims: Claims,
  body: UserUpdateBody,
): Promise<Json> {
  const email = body.email === "" ? "" : validateEmail(body.email);
  if (body.password !== undefined && body.password !== "") {
    checkPasswordStrength(body.password, ctx.settings.minimumPasswordLength);
  }
  if (body.app_metadata !== undefined) {
    throw forbidden("not_admin", "Updating app_metadata requires admin privileges");
  }
  if (body.phone !== "") {
    throw badRequest("phone_provider_disabled", "Phone changes need an SMS provider");
  }

  return await authTransaction(ctx, async (tx) => {
    const { record, session } = await loadCaller(tx, claims);
    const user = record.user;
    const now = ctx.now();
    if (email !== "" && email !== user.email && (await emailTaken(tx, email, user.id))) {
      throw unprocessable(
        "email_exists",
        "A user with this email address has already been registered",
      );
    }
    if (body.password !== undefined && body.password !== "") {
      if (await verifyPassword(tx, user.encrypted_password, body.password)) {
        throw unprocessable(
          "same_password",
          "New password should be different from the old password.",
        );
      }
      const password = body.password;
      await step("Error during password storage", async () => {
        await setPassword(tx, user.id, { password }, now);
        await deleteUserSessions(tx, user.id, session?.id);
      });
    }
    if (body.data !== undefined) {
      const data = mergeMetadata(user.raw_user_meta_data, body.data);
      await step("Error updating user", () => setUserMetadata(tx, user.id, data, now));
    }
    if (email !== "" && email !== user.email) {
      await step("Error updating user", () => setEmailChange(tx, user.id, email, now));
    }
    return userJson((await loadUser(tx, user.id))!);
  });
}

/**
 * POST /logout: `local` ends the token's session, `others` every other session of the user,
 * `global` (the default) all of them. A token without a session logs out everywhere.
 */
export async function logout(ctx: AuthContext, claims: Claims, scope: LogoutScope): Promise<void> {
  await authTransaction(ctx, async (tx) => {
    const { record, session } = await loadCaller(tx, claims);
    await step("Error logging out user", async () => {
      if (session && scope === "local") await deleteSession(tx, session.id);
      else if (session && scope === "others") {
        await deleteUserSessions(tx, record.user.id, session.id);
      } else await deleteUserSessions(tx, record.user.id);
    });
  });
}
