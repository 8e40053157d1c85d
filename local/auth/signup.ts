/**
 * POST /signup, as GoTrue's Signup handler runs it, in one transaction: insert the user, insert
 * its email identity, copy the identity data into the user metadata, confirm (when mail
 * confirmations are off, the CLI default) and start a session. Any failure, including one raised
 * by a trigger a migration put on auth.users, rolls all of it back.
 */
import { type AuthContext, authTransaction, type RequestMeta, type Tx } from "./deps.ts";
import {
  AuthError,
  badRequest,
  dbStep as step,
  isUniqueViolation,
  unprocessable,
} from "./errors.ts";
import { checkPasswordStrength, type SignupBody, validateEmail } from "./input.ts";
import { sendSignupConfirmation } from "./otp.ts";
import { startSession } from "./tokens.ts";
import {
  confirmEmail,
  findUserByEmail,
  insertIdentity,
  insertUser,
  loadUser,
  setUserMetadata,
  userJson,
  type UserRow,
} from "./users.ts";

type Json = Record<string, unknown>;

/** Returns a session object (autoconfirm) or a User object (confirmation pending). */
export async function signUp(ctx: AuthContext, body: SignupBody, meta: RequestMeta): Promise<Json> {
  if (!ctx.settings.enableSignup) {
    throw unprocessable("signup_disabled", "Signups not allowed for this instance");
  }
  // GoTrue routes a body without email and phone to anonymous sign-in (auth-js
  // signInAnonymously sends exactly that); one with a password was meant as an email signup.
  if (body.email === "" && body.phone === "") {
    if (body.password !== "") {
      throw badRequest("validation_failed", "To signup, please provide your email");
    }
    return await signUpAnonymously(ctx, body.data ?? {}, meta);
  }
  if (body.email !== "" && body.phone !== "") {
    throw badRequest(
      "validation_failed",
      "Only an email address or phone number should be provided on signup.",
    );
  }
  // The local stack sends no SMS, like `supabase start` without an SMS provider.
  if (body.phone !== "") throw badRequest("phone_provider_disabled", "Phone signups are disabled");
  if (body.password === "") {
    throw unprocessable("validation_failed", "Signup requires a valid password");
  }
  checkPasswordStrength(body.password, ctx.settings.minimumPasswordLength);
  const email = validateEmail(body.email);
  const data = body.data ?? {};
  const autoconfirm = !ctx.settings.enableConfirmations;

  return await authTransaction(ctx, async (tx) => {
    const existing = await findUserByEmail(tx, email);
    if (existing) return existingUserAnswer(ctx, tx, existing, data);

    const now = ctx.now();
    const id = crypto.randomUUID();
    await step("Database error saving new user", async () => {
      try {
        await insertUser(tx, {
          id,
          aud: "authenticated",
          role: "authenticated",
          email,
          phone: null,
          password: body.password,
          appMetadata: { provider: "email", providers: ["email"] },
          userMetadata: data,
          isAnonymous: false,
          now,
          ...(autoconfirm ? {} : { confirmationSentAt: now }),
        });
      } catch (error) {
        if (isUniqueViolation(error, "users_email_partial_key")) throw userAlreadyExists();
        throw error;
      }
    });
    // The identity data are the provider claims plus the signup data, and they become the user
    // metadata (GoTrue's RemoveUnconfirmedIdentities); Confirm then adds email_verified: true.
    const identityData = {
      ...data,
      sub: id,
      email,
      email_verified: false,
      phone_verified: false,
    };
    await step("Database error saving new user", async () => {
      await insertIdentity(tx, {
        userId: id,
        provider: "email",
        providerId: id,
        identityData,
        now,
      });
      await setUserMetadata(tx, id, identityData, now);
    });
    if (!autoconfirm) {
      await sendSignupConfirmation(ctx, tx, id);
      return userJson((await loadUser(tx, id))!);
    }

    await step("Database error updating user", () => confirmEmail(tx, id, now));
    return await startSession(ctx, tx, id, meta, "password");
  }, "Database error saving new user");
}

async function signUpAnonymously(ctx: AuthContext, data: Json, meta: RequestMeta): Promise<Json> {
  if (!ctx.settings.enableAnonymousSignIns) {
    throw unprocessable("anonymous_provider_disabled", "Anonymous sign-ins are disabled");
  }
  return await authTransaction(ctx, async (tx) => {
    const now = ctx.now();
    const id = crypto.randomUUID();
    await step("Database error saving new user", () =>
      insertUser(tx, {
        id,
        aud: "authenticated",
        role: "authenticated",
        email: null,
        phone: null,
        password: null,
        appMetadata: {},
        userMetadata: data,
        isAnonymous: true,
        now,
      }));
    return await startSession(ctx, tx, id, meta, "anonymous");
  }, "Database error saving new user");
}

/**
 * GoTrue's answer to a signup for an email that is taken: 422 when confirmations are off; with
 * confirmations on, a confirmed user is answered with an obfuscated copy (so signup does not tell
 * who is registered) and an unconfirmed one with itself.
 */
async function existingUserAnswer(
  ctx: AuthContext,
  tx: Tx,
  existing: UserRow,
  data: Json,
): Promise<Json> {
  if (!ctx.settings.enableConfirmations) throw userAlreadyExists();
  if (existing.email_confirmed_at === null) return userJson((await loadUser(tx, existing.id))!);
  const now = ctx.now().toISOString();
  return {
    id: crypto.randomUUID(),
    aud: existing.aud ?? "authenticated",
    role: existing.role ?? "",
    email: existing.email ?? "",
    phone: "",
    confirmation_sent_at: now,
    app_metadata: { provider: "email", providers: ["email"] },
    user_metadata: data,
    identities: [],
    created_at: now,
    updated_at: now,
    is_anonymous: false,
  };
}

function userAlreadyExists(): AuthError {
  return unprocessable("user_already_exists", "User already registered");
}
