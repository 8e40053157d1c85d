/**
 * SQL on auth.users and auth.identities, and the User object GoTrue serialises
 * (supabase/auth `internal/models/user.go` and `identity.go` JSON tags; docs/platform.md
 * section 4.2).
 * Every function takes the transaction handle of `authTransaction`.
 */
import bcrypt from "bcryptjs";
import type { Tx } from "./deps.ts";
import { isBcryptHash, NIL_UUID } from "./input.ts";

type Json = Record<string, unknown>;

export interface UserRow {
  id: string;
  aud: string | null;
  role: string | null;
  email: string | null;
  phone: string | null;
  encrypted_password: string | null;
  email_confirmed_at: Date | null;
  invited_at: Date | null;
  phone_confirmed_at: Date | null;
  confirmation_sent_at: Date | null;
  confirmed_at: Date | null;
  recovery_sent_at: Date | null;
  email_change: string | null;
  email_change_sent_at: Date | null;
  phone_change: string | null;
  phone_change_sent_at: Date | null;
  reauthentication_sent_at: Date | null;
  last_sign_in_at: Date | null;
  raw_app_meta_data: Json | null;
  raw_user_meta_data: Json | null;
  created_at: Date | null;
  updated_at: Date | null;
  banned_until: Date | null;
  deleted_at: Date | null;
  is_anonymous: boolean;
}

export interface IdentityRow {
  id: string;
  provider_id: string;
  user_id: string;
  identity_data: Json;
  provider: string;
  last_sign_in_at: Date | null;
  created_at: Date | null;
  updated_at: Date | null;
  email: string | null;
}

/** A user with the identities GoTrue loads eagerly. */
export interface UserRecord {
  user: UserRow;
  identities: IdentityRow[];
}

const USER_COLUMNS = `id, aud, role, email, phone, encrypted_password, email_confirmed_at,
  invited_at, phone_confirmed_at, confirmation_sent_at, confirmed_at, recovery_sent_at,
  email_change, email_change_sent_at, phone_change, phone_change_sent_at,
  reauthentication_sent_at, last_sign_in_at, raw_app_meta_data, raw_user_meta_data, created_at,
  updated_at, banned_until, deleted_at, is_anonymous`;

const IDENTITY_COLUMNS =
  "id, provider_id, user_id, identity_data, provider, last_sign_in_at, created_at, updated_at, email";

export async function findUserById(tx: Tx, id: string): Promise<UserRow | null> {
  const { rows } = await tx.query<UserRow>(
    `select ${USER_COLUMNS} from auth.users where id = $1`,
    [id],
  );
  return rows[0] ?? null;
}

/**
 * The user signing in with an email. Compared lowercased, because users inserted by seeds may
 * keep the case they were typed in; soft-deleted and SSO users cannot sign in with a password.
 */
export async function findUserByEmail(tx: Tx, email: string): Promise<UserRow | null> {
  const { rows } = await tx.query<UserRow>(
    `select ${USER_COLUMNS} from auth.users
      where lower(email) = $1 and is_sso_user = false and deleted_at is null
      order by created_at nulls last limit 1`,
    [email],
  );
  return rows[0] ?? null;
}

/** Whether another (non-SSO) user holds this email. */
export async function emailTaken(tx: Tx, email: string, exceptUserId?: string): Promise<boolean> {
  const { rows } = await tx.query(
    `select 1 from auth.users
      where lower(email) = $1 and is_sso_user = false and ($2::uuid is null or id <> $2::uuid)
      limit 1`,
    [email, exceptUserId ?? null],
  );
  return rows.length > 0;
}

export async function phoneTaken(tx: Tx, phone: string, exceptUserId?: string): Promise<boolean> {
  const { rows } = await tx.query(
    `select 1 from auth.users where phone = $1 and ($2::uuid is null or id <> $2::uuid) limit 1`,
    [phone, exceptUserId ?? null],
  );
  return rows.length > 0;
}

export interface NewUser {
  id: string;
  aud: string;
  role: string;
  email: string | null;
  phone: string | null;
  /** Hashed in SQL with bcrypt cost 10, as GoTrue does; null leaves the user without one. */
  password: string | null;
  /** A bcrypt hash given by an admin instead of a password. */
  passwordHash?: string;
  appMetadata: Json;
  userMetadata: Json;
  isAnonymous: boolean;
  now: Date;
  /** Set when a confirmation would be mailed (confirmations enabled). */
  confirmationSentAt?: Date;
}

/**
 * Inserts a user as GoTrue's `tx.Create(user)` does: the token columns hold '' rather than NULL
 * (GoTrue's own scanner cannot read NULL there), the instance is the nil uuid.
 */
export async function insertUser(tx: Tx, user: NewUser): Promise<void> {
  await tx.query(
    `insert into auth.users (
       instance_id, id, aud, role, email, phone, encrypted_password,
       confirmation_token, confirmation_sent_at, recovery_token, email_change_token_new, email_change,
       raw_app_meta_data, raw_user_meta_data, is_super_admin, created_at, updated_at,
       is_sso_user, is_anonymous)
     values (
       $1, $2, $3, $4, $5, $6,
       coalesce($8::text, $7::text, ''),
       $9, $10, '', '', '',
       $11, $12, false, $13, $13,
       false, $14)`,
    [
      NIL_UUID,
      user.id,
      user.aud,
      user.role,
      user.email,
      user.phone,
      user.password === null ? null : await hashPassword(user.password),
      user.passwordHash ?? null,
      user.confirmationSentAt ? randomHex(28) : "",
      user.confirmationSentAt ?? null,
      user.appMetadata,
      user.userMetadata,
      user.now,
      user.isAnonymous,
    ],
  );
}

export interface NewIdentity {
  userId: string;
  provider: string;
  providerId: string;
  identityData: Json;
  now: Date;
}

export async function insertIdentity(tx: Tx, identity: NewIdentity): Promise<void> {
  await tx.query(
    `insert into auth.identities
       (provider_id, user_id, identity_data, provider, last_sign_in_at, created_at, updated_at)
     values ($1, $2, $3, $4, $5, $5, $5)`,
    [identity.providerId, identity.userId, identity.identityData, identity.provider, identity.now],
  );
}

export async function listIdentities(tx: Tx, userId: string): Promise<IdentityRow[]> {
  const { rows } = await tx.query<IdentityRow>(
    `select ${IDENTITY_COLUMNS} from auth.identities where user_id = $1 order by created_at, id`,
    [userId],
  );
  return rows;
}

export async function findIdentity(
  tx: Tx,
  userId: string,
  provider: string,
): Promise<IdentityRow | null> {
  const { rows } = await tx.query<IdentityRow>(
    `select ${IDENTITY_COLUMNS} from auth.identities where user_id = $1 and provider = $2 limit 1`,
    [userId, provider],
  );
  return rows[0] ?? null;
}

export async function setIdentityData(
  tx: Tx,
  identityId: string,
  identityData: Json,
  now: Date,
): Promise<void> {
  await tx.query(
    "update auth.identities set identity_data = $2, updated_at = $3 where id = $1",
    [identityId, identityData, now],
  );
}

/** The user and its identities, or null when the user does not exist. */
export async function loadUser(tx: Tx, id: string): Promise<UserRecord | null> {
  const user = await findUserById(tx, id);
  if (!user) return null;
  return { user, identities: await listIdentities(tx, id) };
}

/** GoTrue's Confirm: marks the email confirmed and records it in the user metadata. */
export async function confirmEmail(tx: Tx, userId: string, now: Date): Promise<void> {
  await tx.query(
    `update auth.users
        set email_confirmed_at = $2, confirmation_token = '', updated_at = $2,
            raw_user_meta_data = coalesce(raw_user_meta_data, '{}'::jsonb) || '{"email_verified": true}'
      where id = $1`,
    [userId, now],
  );
}

export async function confirmPhone(tx: Tx, userId: string, now: Date): Promise<void> {
  await tx.query(
    `update auth.users
        set phone_confirmed_at = $2, updated_at = $2,
            raw_user_meta_data = coalesce(raw_user_meta_data, '{}'::jsonb) || '{"phone_verified": true}'
      where id = $1`,
    [userId, now],
  );
}

export async function setUserMetadata(tx: Tx, userId: string, data: Json, now: Date) {
  await tx.query(
    "update auth.users set raw_user_meta_data = $2, updated_at = $3 where id = $1",
    [userId, data, now],
  );
}

export async function setAppMetadata(tx: Tx, userId: string, data: Json, now: Date) {
  await tx.query(
    "update auth.users set raw_app_meta_data = $2, updated_at = $3 where id = $1",
    [userId, data, now],
  );
}

/** Stores a new bcrypt hash (cost 10) of `password`, or an admin-given bcrypt hash. */
export async function setPassword(
  tx: Tx,
  userId: string,
  secret: { password: string } | { hash: string },
  now: Date,
): Promise<void> {
  await tx.query(
    `update auth.users
        set encrypted_password = coalesce($3::text, $2::text),
            updated_at = $4
      where id = $1`,
    [
      userId,
      "password" in secret ? await hashPassword(secret.password) : null,
      "hash" in secret ? secret.hash : null,
      now,
    ],
  );
}

/** Replaces the email (admin update, or a confirmed change) and clears a pending change. */
export async function setEmail(tx: Tx, userId: string, email: string, now: Date): Promise<void> {
  await tx.query(
    `update auth.users
        set email = $2, email_change = '', email_change_token_new = '',
            email_change_token_current = '', email_change_confirm_status = 0, updated_at = $3
      where id = $1`,
    [userId, email, now],
  );
}

/**
 * Records a pending email change as GoTrue does before mailing the confirmation links; the
 * local stack sends no mail (see app.ts), so it stays pending until an admin sets the email.
 */
export async function setEmailChange(tx: Tx, userId: string, email: string, now: Date) {
  await tx.query(
    `update auth.users
        set email_change = $2, email_change_sent_at = $3, email_change_token_new = $4,
            email_change_confirm_status = 0, updated_at = $3
      where id = $1`,
    [userId, email, now, randomHex(28)],
  );
}

export async function setPhone(tx: Tx, userId: string, phone: string, now: Date): Promise<void> {
  await tx.query(
    "update auth.users set phone = $2, phone_change = '', updated_at = $3 where id = $1",
    [userId, phone, now],
  );
}

export async function setRole(tx: Tx, userId: string, role: string, now: Date): Promise<void> {
  await tx.query("update auth.users set role = $2, updated_at = $3 where id = $1", [
    userId,
    role,
    now,
  ]);
}

export async function setBannedUntil(tx: Tx, userId: string, until: Date | null, now: Date) {
  await tx.query("update auth.users set banned_until = $2, updated_at = $3 where id = $1", [
    userId,
    until,
    now,
  ]);
}

export async function setLastSignIn(tx: Tx, userId: string, now: Date): Promise<void> {
  await tx.query("update auth.users set last_sign_in_at = $2, updated_at = $2 where id = $1", [
    userId,
    now,
  ]);
}

/**
 * Checks a password against the stored hash in this process (bcryptjs, asynchronous, so other
 * requests run meanwhile), not in the shared database session: a flood of password guesses must
 * not hold the session for everyone. `$2a$`, `$2b$` and `$2y$` are the same algorithm and are
 * compared under one prefix. Anything that is not a bcrypt hash never matches.
 */
export async function checkPassword(storedHash: string | null, password: string): Promise<boolean> {
  if (!storedHash || !isBcryptHash(storedHash)) return false;
  return await bcrypt.compare(password, "$2a$" + storedHash.slice(4));
}

/** GoTrue's hash of a password: bcrypt cost 10 with the `$2a$` prefix, computed in this process. */
export async function hashPassword(password: string): Promise<string> {
  const salt = (await bcrypt.genSalt(10)).replace(/^\$2[a-z]\$/, () => "$2a$");
  return await bcrypt.hash(password, salt);
}

/** checkPassword for callers inside a transaction (the session stays theirs meanwhile). */
export async function verifyPassword(
  _tx: Tx,
  storedHash: string | null,
  password: string,
): Promise<boolean> {
  return await checkPassword(storedHash, password);
}

export async function deleteUser(tx: Tx, userId: string): Promise<void> {
  await tx.query("delete from auth.users where id = $1", [userId]);
}

/**
 * GoTrue's soft delete: the row stays (for foreign keys and audit) with its email and phone
 * released and no way to sign in; identities and sessions go.
 */
export async function softDeleteUser(tx: Tx, userId: string, now: Date): Promise<void> {
  await tx.query(
    `update auth.users
        set email = null, phone = null, encrypted_password = '', confirmation_token = '',
            recovery_token = '', email_change = '', email_change_token_new = '',
            raw_app_meta_data = '{}', raw_user_meta_data = '{}', deleted_at = $2, updated_at = $2
      where id = $1`,
    [userId, now],
  );
  await tx.query("delete from auth.identities where user_id = $1", [userId]);
  await tx.query("delete from auth.sessions where user_id = $1", [userId]);
}

export interface UserPage {
  users: UserRecord[];
  total: number;
}

/** A page of users, newest first (GoTrue's default sort), optionally filtered by email or name. */
export async function listUsers(
  tx: Tx,
  options: { page: number; perPage: number; filter: string },
): Promise<UserPage> {
  const like = options.filter === ""
    ? null
    : `%${options.filter.replace(/[\\%_]/g, (c) => "\\" + c)}%`;
  const where =
    `($1::text is null or email ilike $1 or raw_user_meta_data ->> 'full_name' ilike $1)`;
  const { rows: count } = await tx.query<{ total: number }>(
    `select count(*)::int as total from auth.users where ${where}`,
    [like],
  );
  const { rows } = await tx.query<UserRow>(
    `select ${USER_COLUMNS} from auth.users where ${where}
      order by created_at desc nulls last, id limit $2 offset $3`,
    [like, options.perPage, (options.page - 1) * options.perPage],
  );
  const users: UserRecord[] = [];
  for (const user of rows) users.push({ user, identities: await listIdentities(tx, user.id) });
  return { users, total: count[0]?.total ?? 0 };
}

/** Go's zero time, which GoTrue prints for a NULL created_at/updated_at of a seeded row. */
const ZERO_TIME = "0001-01-01T00:00:00Z";

function iso(date: Date | null): string | undefined {
  return date ? date.toISOString() : undefined;
}

/** The User object, with GoTrue's field names, order and omitempty rules. */
export function userJson(record: UserRecord): Json {
  const u = record.user;
  const json: Json = {
    id: u.id,
    aud: u.aud ?? "",
    role: u.role ?? "",
    email: u.email ?? "",
    email_confirmed_at: iso(u.email_confirmed_at),
    invited_at: iso(u.invited_at),
    phone: u.phone ?? "",
    phone_confirmed_at: iso(u.phone_confirmed_at),
    confirmation_sent_at: iso(u.confirmation_sent_at),
    confirmed_at: iso(u.confirmed_at),
    recovery_sent_at: iso(u.recovery_sent_at),
    new_email: u.email_change || undefined,
    email_change_sent_at: iso(u.email_change_sent_at),
    new_phone: u.phone_change || undefined,
    phone_change_sent_at: iso(u.phone_change_sent_at),
    reauthentication_sent_at: iso(u.reauthentication_sent_at),
    last_sign_in_at: iso(u.last_sign_in_at),
    app_metadata: u.raw_app_meta_data ?? {},
    user_metadata: u.raw_user_meta_data ?? {},
    identities: record.identities.map(identityJson),
    created_at: iso(u.created_at) ?? ZERO_TIME,
    updated_at: iso(u.updated_at) ?? ZERO_TIME,
    banned_until: iso(u.banned_until),
    deleted_at: iso(u.deleted_at),
    is_anonymous: u.is_anonymous,
  };
  for (const key of Object.keys(json)) if (json[key] === undefined) delete json[key];
  return json;
}

/** GoTrue's Identity JSON: `identity_id` is the row id, `id` the provider's id for the user. */
export function identityJson(identity: IdentityRow): Json {
  const json: Json = {
    identity_id: identity.id,
    id: identity.provider_id,
    user_id: identity.user_id,
    identity_data: identity.identity_data,
    provider: identity.provider,
    last_sign_in_at: iso(identity.last_sign_in_at),
    created_at: iso(identity.created_at) ?? ZERO_TIME,
    updated_at: iso(identity.updated_at) ?? ZERO_TIME,
    email: identity.email || undefined,
  };
  for (const key of Object.keys(json)) if (json[key] === undefined) delete json[key];
  return json;
}

/** Whether a ban is in force now. */
export function isBanned(user: UserRow, now: Date): boolean {
  return user.banned_until !== null && user.banned_until.getTime() > now.getTime();
}

export function randomHex(bytes: number): string {
  return Array.from(
    crypto.getRandomValues(new Uint8Array(bytes)),
    (b) => b.toString(16).padStart(2, "0"),
  ).join("");
}
