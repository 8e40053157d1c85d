/**
 * The email flows of GoTrue that development needs (supabase/auth `internal/api/recover.go`,
 * `otp.go`, `magic_link.go`, `verify.go`, `admin.go` adminGenerateLink, `mailer/`): password
 * recovery, magic links and email OTPs, signup confirmations, and `auth.admin.generateLink`,
 * mailed to the local mailbox (local/mailbox.ts) instead of an SMTP server.
 *
 * Tokens as GoTrue keeps them: a 6-digit OTP is mailed; the users row stores only its hash, the
 * lowercase hex SHA-224 of the address followed by the OTP (`confirmation_token` for signup and
 * invite, `recovery_token` for recovery and magic links), with the sent time beside it. A mailed
 * link carries that hash (`/verify?token=<hash>&type=...&redirect_to=...`); verifyOtp takes either
 * the OTP with the email, or the hash. A token is valid once, for `otpExpiry` seconds.
 *
 * Not emulated: the PKCE flow (links carry tokens for the implicit flow, supabase-js's default),
 * email change confirmations, the per-address send rate limit (max_frequency), custom templates,
 * the one_time_tokens table, phone OTPs.
 */
import { createHash } from "node:crypto";
import { type AuthContext, authTransaction, type RequestMeta, type Tx } from "./deps.ts";
import { AuthError, badRequest, dbStep as step, notFound, unprocessable } from "./errors.ts";
import { z } from "zod";
import { validateEmail } from "./input.ts";
import { type AuthMethod, startSession } from "./tokens.ts";
import {
  confirmEmail,
  findUserByEmail,
  insertIdentity,
  insertUser,
  isBanned,
  loadUser,
  userJson,
  type UserRow,
} from "./users.ts";

type Json = Record<string, unknown>;

/** A string field that may also be sent as null (Go reads both as ""). */
const Str = z.string().nullish().transform((v) => v ?? "");
const Obj = z.record(z.string(), z.unknown()).nullish().transform((v) => v ?? undefined);

/** POST /recover (resetPasswordForEmail). */
export const RecoverBody = z.object({ email: Str });
/** POST /otp (signInWithOtp); auth-js sends create_user true unless shouldCreateUser is false. */
export const OtpBody = z.object({
  email: Str,
  phone: Str,
  data: Obj,
  create_user: z.boolean().nullish().transform((v) => v ?? true),
});
/** POST /verify (verifyOtp). */
export const VerifyBody = z.object({
  type: Str,
  token: Str,
  token_hash: Str,
  email: Str,
  phone: Str,
  redirect_to: Str,
});
/** POST /admin/generate_link. */
export const GenerateLinkBody = z.object({
  type: Str,
  email: Str,
  password: Str,
  data: Obj,
  redirect_to: Str,
});

/** An email as the mailbox stores it. */
export interface Mail {
  to: string;
  subject: string;
  text: string;
  html: string;
}

export interface Mailer {
  send(mail: Mail): void | Promise<void>;
}

/** What a token is for; the `type` of /verify and of the mailed link. */
export type EmailAction = "signup" | "invite" | "magiclink" | "recovery";
/** What POST /verify accepts for email: the actions, and `email` (either OTP kind). */
export type VerifyType = EmailAction | "email";

const VERIFY_TYPES: ReadonlySet<string> = new Set([
  "signup",
  "invite",
  "magiclink",
  "recovery",
  "email",
]);

/** The column the hash of an action's token lives in, with its sent-at column. */
function tokenColumns(action: EmailAction): { token: string; sentAt: string } {
  return action === "signup" || action === "invite"
    ? { token: "confirmation_token", sentAt: "confirmation_sent_at" }
    : { token: "recovery_token", sentAt: "recovery_sent_at" };
}

/** GoTrue's crypto.GenerateTokenHash: hex SHA-224 of the address followed by the OTP. */
export function tokenHash(email: string, otp: string): string {
  return createHash("sha224").update(email + otp).digest("hex");
}

function newOtp(): string {
  const value = crypto.getRandomValues(new Uint32Array(1))[0]! % 1_000_000;
  return String(value).padStart(6, "0");
}

interface IssuedToken {
  otp: string;
  hash: string;
  link: string;
  redirectTo: string;
}

/** Creates an action's token for a user, stores its hash and sent time, builds the link. */
async function issueToken(
  ctx: AuthContext,
  tx: Tx,
  user: UserRow,
  action: EmailAction,
  redirectTo: string,
): Promise<IssuedToken> {
  const otp = newOtp();
  const hash = tokenHash(user.email ?? "", otp);
  const { token, sentAt } = tokenColumns(action);
  await step(
    "Database error updating user",
    () =>
      tx.query(
        `update auth.users set ${token} = $2, ${sentAt} = $3, updated_at = $3 where id = $1`,
        [
          user.id,
          hash,
          ctx.now(),
        ],
      ),
  );
  const link = `${ctx.issuer}/verify?` +
    new URLSearchParams({ token: hash, type: action, redirect_to: redirectTo });
  return { otp, hash, link, redirectTo };
}

/**
 * The redirect a link may lead to: `redirect_to` when it is the site URL or one of the
 * additional redirect URLs (or under one of them), else the site URL, as GoTrue decides.
 */
export function allowedRedirect(ctx: AuthContext, requested: string | undefined): string {
  const site = ctx.settings.siteUrl;
  if (!requested) return site;
  const allowed = [site, ...(ctx.settings.additionalRedirectUrls ?? [])];
  for (const base of allowed) {
    if (matchesRedirect(base, requested)) return requested;
  }
  return site;
}

function matchesRedirect(pattern: string, url: string): boolean {
  if (pattern.includes("*")) {
    const rx = new RegExp(
      "^" + pattern.split("*").map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join(
        ".*",
      ) + "$",
    );
    return rx.test(url);
  }
  try {
    const base = new URL(pattern);
    const target = new URL(url);
    return base.origin === target.origin &&
      target.pathname.startsWith(base.pathname.replace(/\/$/, "") || "/");
  } catch {
    return false;
  }
}

const SUBJECTS: Record<EmailAction, string> = {
  signup: "Confirm Your Signup",
  invite: "You have been invited",
  magiclink: "Your Magic Link",
  recovery: "Reset Your Password",
};

const HEADINGS: Record<EmailAction, { title: string; line: string; button: string }> = {
  signup: {
    title: "Confirm your signup",
    line: "Follow this link to confirm your user:",
    button: "Confirm your mail",
  },
  invite: {
    title: "You have been invited",
    line: "You have been invited to create a user. Follow this link to accept the invite:",
    button: "Accept the invite",
  },
  magiclink: { title: "Magic Link", line: "Follow this link to login:", button: "Log In" },
  recovery: {
    title: "Reset Password",
    line: "Follow this link to reset the password for your user:",
    button: "Reset Password",
  },
};

/** GoTrue's default templates, with the OTP for verifyOtp beside the link. */
function mailFor(to: string, action: EmailAction, token: IssuedToken): Mail {
  const h = HEADINGS[action];
  const href = token.link.replaceAll("&", "&amp;");
  return {
    to,
    subject: SUBJECTS[action],
    text: `${h.title}\n\n${h.line}\n${token.link}\n\nAlternatively, enter the code: ${token.otp}\n`,
    html: `<h2>${h.title}</h2>\n\n<p>${h.line}</p>\n<p><a href="${href}">${h.button}</a></p>\n` +
      `<p>Alternatively, enter the code: ${token.otp}</p>\n`,
  };
}

async function send(ctx: AuthContext, mail: Mail | null): Promise<void> {
  if (mail && ctx.mailer) await ctx.mailer.send(mail);
}

/**
 * The confirmation mail of a signup with `enable_confirmations = true` (sent within the signup's
 * transaction, as GoTrue sends it).
 */
export async function sendSignupConfirmation(ctx: AuthContext, tx: Tx, userId: string) {
  const user = (await loadUser(tx, userId))!.user;
  const issued = await issueToken(ctx, tx, user, "signup", ctx.settings.siteUrl);
  await send(ctx, mailFor(user.email ?? "", "signup", issued));
}

/**
 * POST /recover: mails a recovery link and code. The answer is `{}` whether or not the address
 * belongs to a user, so the endpoint does not tell who is registered.
 */
export async function recover(ctx: AuthContext, emailInput: string, redirectTo?: string) {
  const email = validateEmail(emailInput);
  const redirect = allowedRedirect(ctx, redirectTo);
  const mail = await authTransaction(ctx, async (tx) => {
    const user = await findUserByEmail(tx, email);
    if (!user) return null;
    return mailFor(email, "recovery", await issueToken(ctx, tx, user, "recovery", redirect));
  }, "Database error updating user");
  await send(ctx, mail);
  return {};
}

/**
 * POST /otp for an email (signInWithOtp): a confirmed user gets a magic link; an unconfirmed one
 * its signup confirmation again; an unknown address becomes a new user (without password) mailed
 * a signup confirmation, unless `create_user` is false or signups are off (422 otp_disabled).
 */
export async function sendOtp(
  ctx: AuthContext,
  body: { email: string; createUser: boolean; data: Json },
  redirectTo?: string,
): Promise<Json> {
  const email = validateEmail(body.email);
  const redirect = allowedRedirect(ctx, redirectTo);
  const mail = await authTransaction(ctx, async (tx) => {
    let user = await findUserByEmail(tx, email);
    if (!user) {
      if (!body.createUser || !ctx.settings.enableSignup) {
        throw unprocessable("otp_disabled", "Signups not allowed for otp");
      }
      user = await createEmailUser(ctx, tx, email, { data: body.data, invited: false });
    }
    if (isBanned(user, ctx.now())) throw badRequest("user_banned", "User is banned");
    const action: EmailAction = user.email_confirmed_at === null ? "signup" : "magiclink";
    return mailFor(email, action, await issueToken(ctx, tx, user, action, redirect));
  }, "Database error saving new user");
  await send(ctx, mail);
  return {};
}

/** A new email user without password, unconfirmed (confirmed when its token is verified). */
async function createEmailUser(
  ctx: AuthContext,
  tx: Tx,
  email: string,
  options: { data: Json; invited: boolean; password?: string },
): Promise<UserRow> {
  const id = crypto.randomUUID();
  const now = ctx.now();
  await step("Database error saving new user", async () => {
    await insertUser(tx, {
      id,
      aud: "authenticated",
      role: "authenticated",
      email,
      phone: null,
      password: options.password ?? null,
      appMetadata: { provider: "email", providers: ["email"] },
      userMetadata: options.data,
      isAnonymous: false,
      now,
    });
    const identityData = {
      ...options.data,
      sub: id,
      email,
      email_verified: false,
      phone_verified: false,
    };
    await insertIdentity(tx, { userId: id, provider: "email", providerId: id, identityData, now });
    await tx.query("update auth.users set raw_user_meta_data = $2 where id = $1", [
      id,
      identityData,
    ]);
    if (options.invited) {
      await tx.query("update auth.users set invited_at = $2 where id = $1", [id, now]);
    }
  });
  return (await findUserByEmail(tx, email))!;
}

export interface VerifyParams {
  type: string;
  email: string;
  token: string;
  tokenHash: string;
}

const otpExpired = () => new AuthError(403, "otp_expired", "Token has expired or is invalid");

/**
 * POST /verify (verifyOtp) and GET /verify (a mailed link): checks the token, spends it,
 * confirms the email where the action does, and starts a session.
 */
export async function verify(ctx: AuthContext, params: VerifyParams, meta: RequestMeta) {
  if (!VERIFY_TYPES.has(params.type)) {
    throw badRequest("validation_failed", `Verify type "${params.type}" is not supported locally`);
  }
  const type = params.type as VerifyType;
  if (params.tokenHash === "" && params.token === "") {
    throw badRequest("validation_failed", "Verify requires either a token or a token hash");
  }
  if (params.tokenHash === "" && params.email === "") {
    throw badRequest(
      "validation_failed",
      "Only an email address or phone number should be provided on verify",
    );
  }
  const email = params.email === "" ? "" : validateEmail(params.email);
  return await authTransaction(ctx, async (tx) => {
    const hash = params.tokenHash !== "" ? params.tokenHash : tokenHash(email, params.token);
    const actions: EmailAction[] = type === "email" ? ["signup", "magiclink"] : [type];
    for (const action of actions) {
      const user = await findByToken(ctx, tx, action, hash, email);
      if (!user) continue;
      if (isBanned(user, ctx.now())) throw badRequest("user_banned", "User is banned");
      const { token } = tokenColumns(action);
      await step("Database error updating user", async () => {
        await tx.query(`update auth.users set ${token} = '' where id = $1`, [user.id]);
        if (user.email_confirmed_at === null) await confirmEmail(tx, user.id, ctx.now());
      });
      return await startSession(ctx, tx, user.id, meta, METHODS[action]);
    }
    throw otpExpired();
  }, "Database error updating user");
}

const METHODS: Record<EmailAction, AuthMethod> = {
  signup: "otp",
  invite: "invite",
  magiclink: "otp",
  recovery: "recovery",
};

/** The user whose unexpired token of this action has this hash (and this email, if given). */
async function findByToken(
  ctx: AuthContext,
  tx: Tx,
  action: EmailAction,
  hash: string,
  email: string,
): Promise<UserRow | null> {
  const { token, sentAt } = tokenColumns(action);
  const { rows } = await tx.query<{ id: string }>(
    `select id from auth.users
      where ${token} = $1 and $1 <> '' and ($2 = '' or lower(email) = $2)
        and ${sentAt} > $3 and deleted_at is null
      limit 1`,
    [hash, email, new Date(ctx.now().getTime() - (ctx.settings.otpExpiry ?? 3600) * 1000)],
  );
  if (!rows[0]) return null;
  return (await loadUser(tx, rows[0].id))?.user ?? null;
}

/** The URL GET /verify redirects to: the tokens (or the error) in the fragment, as GoTrue does. */
export function verifyRedirect(
  redirectTo: string,
  outcome: { session: Json; type: string } | { error: AuthError },
): string {
  const url = new URL(redirectTo);
  const fragment = new URLSearchParams();
  if ("error" in outcome) {
    fragment.set("error", "access_denied");
    fragment.set("error_code", outcome.error.code);
    fragment.set(
      "error_description",
      outcome.error.code === "otp_expired"
        ? "Email link is invalid or has expired"
        : outcome.error.message,
    );
  } else {
    const s = outcome.session;
    fragment.set("access_token", String(s.access_token));
    fragment.set("expires_at", String(s.expires_at));
    fragment.set("expires_in", String(s.expires_in));
    fragment.set("refresh_token", String(s.refresh_token));
    fragment.set("token_type", "bearer");
    fragment.set("type", outcome.type);
  }
  url.hash = fragment.toString();
  return url.toString();
}

/**
 * POST /admin/generate_link: the link and OTP an email would carry, without sending it, for
 * `signup` (creates the user, with `password`), `invite` (creates the user, invited),
 * `magiclink` and `recovery` (existing users). The answer is the User object's fields plus
 * `action_link`, `email_otp`, `hashed_token`, `redirect_to` and `verification_type`.
 */
export async function generateLink(
  ctx: AuthContext,
  body: z.infer<typeof GenerateLinkBody>,
): Promise<Json> {
  const action = body.type as EmailAction;
  if (!["signup", "invite", "magiclink", "recovery"].includes(body.type)) {
    throw badRequest("validation_failed", `Link type "${body.type}" is not supported locally`);
  }
  const email = validateEmail(body.email);
  const redirect = allowedRedirect(ctx, body.redirect_to || undefined);
  return await authTransaction(ctx, async (tx) => {
    let user = await findUserByEmail(tx, email);
    if (action === "signup" || action === "invite") {
      if (user && (action === "signup" || user.email_confirmed_at !== null)) {
        throw unprocessable(
          "email_exists",
          "A user with this email address has already been registered",
        );
      }
      if (action === "signup" && body.password === "") {
        throw badRequest("validation_failed", "Signup requires a valid password");
      }
      user ??= await createEmailUser(ctx, tx, email, {
        data: body.data ?? {},
        invited: action === "invite",
        ...(action === "signup" ? { password: body.password } : {}),
      });
    } else if (!user) {
      throw notFound("user_not_found", "User with this email not found");
    }
    const issued = await issueToken(ctx, tx, user, action, redirect);
    return {
      ...userJson((await loadUser(tx, user.id))!),
      action_link: issued.link,
      email_otp: issued.otp,
      hashed_token: issued.hash,
      redirect_to: redirect,
      verification_type: action,
    };
  }, "Database error updating user");
}
