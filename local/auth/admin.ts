/**
 * The admin user API (supabase/auth `internal/api/admin.go`): create, list, read, update and
 * delete users with a service_role token, as `supabase.auth.admin.*` calls it.
 */
import { type AuthContext, authTransaction, type Tx } from "./deps.ts";
import { badRequest, dbStep as step, notFound, unprocessable } from "./errors.ts";
import {
  type AdminUserBody,
  checkPasswordStrength,
  isBcryptHash,
  isUuid,
  mergeMetadata,
  NIL_UUID,
  parseBanDuration,
  validateEmail,
  validatePhone,
} from "./input.ts";
import { deleteUserSessions } from "./sessions.ts";
import {
  confirmEmail,
  confirmPhone,
  deleteUser,
  emailTaken,
  findIdentity,
  findUserById,
  insertIdentity,
  insertUser,
  listUsers,
  loadUser,
  phoneTaken,
  randomHex,
  setAppMetadata,
  setBannedUntil,
  setEmail,
  setIdentityData,
  setPassword,
  setPhone,
  setRole,
  setUserMetadata,
  softDeleteUser,
  userJson,
  type UserRecord,
} from "./users.ts";

type Json = Record<string, unknown>;

const DUPLICATE_EMAIL = "A user with this email address has already been registered";
const DUPLICATE_PHONE = "Phone number already registered by another user";

/** The checked and normalised fields of an admin create or update body. */
interface AdminFields {
  email: string;
  phone: string;
  password?: string;
  passwordHash?: string;
  banMs?: number;
}

function checkFields(body: AdminUserBody, options: { minimumPasswordLength: number }): AdminFields {
  for (const [name, value] of [["role", body.role], ["aud", body.aud]] as const) {
    if (value.length > 255) {
      throw badRequest("validation_failed", `"${name}" must be at most 255 characters`);
    }
  }
  const fields: AdminFields = {
    email: body.email === "" ? "" : validateEmail(body.email),
    phone: body.phone === "" ? "" : validatePhone(body.phone),
  };
  if (body.password !== undefined && body.password_hash !== "") {
    throw badRequest("validation_failed", "Only a password or a password hash should be provided");
  }
  if (body.password !== undefined && body.password !== "") {
    checkPasswordStrength(body.password, options.minimumPasswordLength);
    fields.password = body.password;
  }
  if (body.password_hash !== "") {
    // GoTrue also takes argon2 and scrypt hashes; pgcrypto can check only bcrypt.
    if (!isBcryptHash(body.password_hash)) {
      throw badRequest(
        "validation_failed",
        "Invalid password hash: the local stack supports bcrypt hashes only",
      );
    }
    fields.passwordHash = body.password_hash;
  }
  if (body.ban_duration !== "") fields.banMs = parseBanDuration(body.ban_duration);
  return fields;
}

function banUntil(banMs: number, now: Date): Date | null {
  return banMs === 0 ? null : new Date(now.getTime() + banMs);
}

/** POST /admin/users. Without a password the user gets a random one, as in GoTrue. */
export async function adminCreateUser(ctx: AuthContext, body: AdminUserBody): Promise<Json> {
  if (body.email === "" && body.phone === "") {
    throw badRequest("validation_failed", "Cannot create a user without either an email or phone");
  }
  // GoTrue checks only the maximum length of a password an admin sets at creation.
  const fields = checkFields(body, { minimumPasswordLength: 0 });
  let id: string = crypto.randomUUID();
  if (body.id !== "") {
    if (!isUuid(body.id)) {
      throw badRequest("validation_failed", "ID must conform to the uuid v4 format");
    }
    if (body.id === NIL_UUID) throw badRequest("validation_failed", "ID cannot be a nil uuid");
    id = body.id.toLowerCase();
  }
  const providers = [...(fields.email ? ["email"] : []), ...(fields.phone ? ["phone"] : [])];

  return await authTransaction(ctx, async (tx) => {
    if (fields.email && await emailTaken(tx, fields.email)) {
      throw unprocessable("email_exists", DUPLICATE_EMAIL);
    }
    if (fields.phone && await phoneTaken(tx, fields.phone)) {
      throw unprocessable("phone_exists", DUPLICATE_PHONE);
    }
    if (await findUserById(tx, id)) {
      throw unprocessable("user_already_exists", `A user with this ID already exists: "${id}"`);
    }
    const now = ctx.now();
    await step("Database error creating new user", async () => {
      await insertUser(tx, {
        id,
        aud: body.aud || "authenticated",
        role: body.role || "authenticated",
        email: fields.email || null,
        phone: fields.phone || null,
        password: fields.passwordHash ? null : fields.password ?? randomHex(32),
        ...(fields.passwordHash ? { passwordHash: fields.passwordHash } : {}),
        appMetadata: mergeMetadata(
          { provider: providers[0], providers },
          body.app_metadata ?? {},
        ),
        userMetadata: body.user_metadata ?? {},
        isAnonymous: false,
        now,
      });
      const claims = { sub: id, email_verified: false, phone_verified: false };
      if (fields.email) {
        await insertIdentity(tx, {
          userId: id,
          provider: "email",
          providerId: id,
          identityData: { ...claims, email: fields.email },
          now,
        });
      }
      if (fields.phone) {
        await insertIdentity(tx, {
          userId: id,
          provider: "phone",
          providerId: id,
          identityData: { ...claims, phone: fields.phone },
          now,
        });
      }
      if (body.email_confirm) await confirmEmail(tx, id, now);
      if (body.phone_confirm) await confirmPhone(tx, id, now);
      if (fields.banMs !== undefined) {
        await setBannedUntil(tx, id, banUntil(fields.banMs, now), now);
      }
    });
    return userJson((await loadUser(tx, id))!);
  }, "Database error creating new user");
}

/** GET /admin/users: a page of users, newest first, and the total for the pagination headers. */
export async function adminListUsers(
  ctx: AuthContext,
  options: { page: number; perPage: number; filter: string },
): Promise<{ body: Json; total: number }> {
  const { users, total } = await authTransaction(ctx, (tx) => listUsers(tx, options));
  return { body: { users: users.map(userJson), aud: "authenticated" }, total };
}

async function loadTarget(tx: Tx, id: string): Promise<UserRecord> {
  if (!isUuid(id)) throw notFound("validation_failed", "user_id must be an UUID");
  const record = await loadUser(tx, id);
  if (!record) throw notFound("user_not_found", "User not found");
  return record;
}

/** GET /admin/users/:id. */
export async function adminGetUser(ctx: AuthContext, id: string): Promise<Json> {
  return await authTransaction(ctx, async (tx) => userJson(await loadTarget(tx, id)));
}

/**
 * PUT /admin/users/:id, in GoTrue's order: role, confirmations, password (which ends every
 * session of the user), email and phone (set directly, with their identities), metadata, ban.
 */
export async function adminUpdateUser(
  ctx: AuthContext,
  id: string,
  body: AdminUserBody,
): Promise<Json> {
  const fields = checkFields(body, { minimumPasswordLength: ctx.settings.minimumPasswordLength });
  return await authTransaction(ctx, async (tx) => {
    const { user } = await loadTarget(tx, id);
    const now = ctx.now();
    if (
      fields.email && fields.email !== user.email && await emailTaken(tx, fields.email, user.id)
    ) {
      throw unprocessable("email_exists", DUPLICATE_EMAIL);
    }
    if (
      fields.phone && fields.phone !== user.phone && await phoneTaken(tx, fields.phone, user.id)
    ) {
      throw unprocessable("phone_exists", DUPLICATE_PHONE);
    }
    await step("Error updating user", async () => {
      if (body.role !== "") await setRole(tx, user.id, body.role, now);
      if (body.email_confirm) await confirmEmail(tx, user.id, now);
      if (body.phone_confirm) await confirmPhone(tx, user.id, now);
      const secret = fields.passwordHash !== undefined
        ? { hash: fields.passwordHash }
        : fields.password !== undefined
        ? { password: fields.password }
        : undefined;
      if (secret) {
        await setPassword(tx, user.id, secret, now);
        await deleteUserSessions(tx, user.id);
      }
      if (fields.email) {
        await upsertIdentity(tx, user.id, "email", {
          email: fields.email,
          email_verified: body.email_confirm,
        }, now);
        await setEmail(tx, user.id, fields.email, now);
      }
      if (fields.phone) {
        await upsertIdentity(tx, user.id, "phone", {
          phone: fields.phone,
          phone_verified: body.phone_confirm,
        }, now);
        await setPhone(tx, user.id, fields.phone, now);
      }
      const current = (await findUserById(tx, user.id))!;
      if (body.app_metadata !== undefined) {
        const merged = mergeMetadata(current.raw_app_meta_data, body.app_metadata);
        await setAppMetadata(tx, user.id, merged, now);
      }
      if (body.user_metadata !== undefined) {
        const merged = mergeMetadata(current.raw_user_meta_data, body.user_metadata);
        await setUserMetadata(tx, user.id, merged, now);
      }
      if (fields.banMs !== undefined) {
        await setBannedUntil(tx, user.id, banUntil(fields.banMs, now), now);
      }
    });
    return userJson((await loadUser(tx, user.id))!);
  }, "Error updating user");
}

/** Updates the user's identity for `provider`, or creates it (a user gaining an email). */
async function upsertIdentity(
  tx: Tx,
  userId: string,
  provider: "email" | "phone",
  data: Json,
  now: Date,
): Promise<void> {
  const identity = await findIdentity(tx, userId, provider);
  if (identity) {
    await setIdentityData(tx, identity.id, { ...identity.identity_data, ...data }, now);
    return;
  }
  await insertIdentity(tx, {
    userId,
    provider,
    providerId: userId,
    identityData: { sub: userId, email_verified: false, phone_verified: false, ...data },
    now,
  });
}

/** DELETE /admin/users/:id: removes the user (cascading), or soft-deletes it. */
export async function adminDeleteUser(
  ctx: AuthContext,
  id: string,
  softDelete: boolean,
): Promise<Json> {
  await authTransaction(ctx, async (tx) => {
    const { user } = await loadTarget(tx, id);
    if (softDelete) {
      if (user.deleted_at) return;
      await step("Error soft deleting user", () => softDeleteUser(tx, user.id, ctx.now()));
    } else {
      await step("Database error deleting user", () => deleteUser(tx, user.id));
    }
  }, "Database error deleting user");
  return {};
}
