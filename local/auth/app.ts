/**
 * The local stack's GoTrue (Supabase Auth): the part of its HTTP API that supabase-js (auth-js)
 * uses, over the real `auth` schema in the embedded Postgres, with GoTrue's request and response
 * shapes, error codes and status codes (docs/platform.md section 4). Routes are relative to the mount
 * point; the gateway mounts this app at /auth/v1.
 *
 * Choices that differ from, or go beyond, a GoTrue started by `supabase start` (for the README):
 * - Users inserted by SQL seeds can sign in even when their token columns (confirmation_token,
 *   recovery_token, email_change_token_new, email_change) are NULL. GoTrue answers those with a
 *   500 "Database error querying schema" (supabase/auth#1940); accepting them is more useful
 *   locally. Seeds may also leave out identities rows, and `role`/`aud` NULL (read as
 *   "authenticated"). Emails are matched case-insensitively.
 * - Passwords are bcrypt cost 10 (`$2a$10$`), hashed and checked in this process with bcryptjs,
 *   off the shared database session (see local/auth/limits.ts for the rate limits); `$2b$` and
 *   `$2y$` hashes from other libraries are accepted. Admins may set bcrypt `password_hash`es only
 *   (GoTrue also takes argon2 and scrypt).
 * - Emails go to the local mailbox (local/mailbox.ts, otp.ts): password recovery, magic links and
 *   email OTPs, and signup confirmations (`enable_confirmations = true`: signup returns the user
 *   without a session and mails the confirmation; an admin may also confirm with
 *   `auth.admin.updateUserById(id, { email_confirm: true })`). PUT /user with a new email records
 *   a pending change (`new_email`) and mails nothing; an admin update sets the email directly.
 *   No SMS is sent: phone signups, logins, OTPs and changes answer `phone_provider_disabled`.
 * - The auth SQL runs as GoTrue's does on hosted: `set local role supabase_auth_admin` and
 *   `search_path = auth`, in one transaction per request. A trigger on auth.users that writes to
 *   public tables therefore needs `security definer` and schema-qualified names, and its failure
 *   is a 500 `unexpected_failure` ("Database error saving new user") that leaves nothing behind.
 * - Refresh tokens rotate with GoTrue's reuse rules, but a revoked token presented outside the
 *   reuse interval (and not the parent of the active one) ends its whole session: GoTrue only
 *   revokes the session's refresh tokens, and its newest version stamps them revoked "now",
 *   which reopens the reuse window for each of them. So afterwards every token of that session
 *   gets refresh_token_not_found and its access tokens session_not_found, where hosted GoTrue
 *   would let the access tokens live until they expire.
 * - A signup body without email and phone is an anonymous sign-in, as in GoTrue (422
 *   anonymous_provider_disabled unless `enable_anonymous_sign_ins`); with a password but no email
 *   it is 400 validation_failed instead.
 * - Input that Postgres cannot store (a NUL character, nesting deeper than 64 levels) is a 400.
 * - Not emulated: OAuth and SSO providers, MFA, PKCE, POST /invite, email change mails,
 *   rate limits, captcha, audit log, hooks.
 */
import { Hono } from "hono";
import type { Context } from "hono";
import { getUser, logout, updateUser } from "./account.ts";
import {
  adminCreateUser,
  adminDeleteUser,
  adminGetUser,
  adminListUsers,
  adminUpdateUser,
} from "./admin.ts";
import { type AuthDeps, type RequestMeta, resolveDeps } from "./deps.ts";
import { API_VERSION_HEADER, AuthError, badRequest, errorResponse } from "./errors.ts";
import { passwordGrant, refreshTokenGrant } from "./grants.ts";
import { authenticate, requireAdmin } from "./guard.ts";
import {
  AdminDeleteBody,
  AdminUserBody,
  LogoutScope,
  parseBody,
  PasswordGrantBody,
  queryText,
  RefreshGrantBody,
  SignupBody,
  UserUpdateBody,
} from "./input.ts";
import { signUp } from "./signup.ts";
import {
  allowedRedirect,
  generateLink,
  GenerateLinkBody,
  OtpBody,
  recover,
  RecoverBody,
  sendOtp,
  verify,
  VerifyBody,
  verifyRedirect,
} from "./otp.ts";
import { isSessionBusy } from "../postgres/session.ts";

export type { AuthDeps } from "./deps.ts";

const DEFAULT_PER_PAGE = 50;

/** The auth API, to be mounted at /auth/v1. */
export function createAuthApp(deps: AuthDeps): Hono {
  const ctx = resolveDeps(deps);
  const app = new Hono();

  app.onError((error, c) => {
    const version = c.req.header(API_VERSION_HEADER);
    if (error instanceof AuthError) {
      if (error.status >= 500) ctx.onError(error.cause ?? error, request(c));
      return errorResponse(error, version);
    }
    if (isSessionBusy(error)) {
      return errorResponse(new AuthError(503, "session_busy", error.message), version);
    }
    ctx.onError(error, request(c));
    return errorResponse(
      new AuthError(
        500,
        "unexpected_failure",
        "Unexpected failure, please check server logs for more information",
      ),
      version,
    );
  });
  // chi's answer to an unknown route in GoTrue.
  app.notFound((c) => c.text("404 page not found", 404));

  app.get("/health", (c) =>
    c.json({
      version: "local",
      name: "GoTrue",
      description: "GoTrue is a user registration and authentication API",
    }));

  app.get("/settings", (c) =>
    c.json({
      external: {
        anonymous_users: ctx.settings.enableAnonymousSignIns,
        email: true,
        phone: false,
      },
      disable_signup: !ctx.settings.enableSignup,
      mailer_autoconfirm: !ctx.settings.enableConfirmations,
      phone_autoconfirm: false,
      sms_provider: "",
      saml_enabled: false,
    }));

  // Public keys only: a symmetric (oct) key must never be published.
  app.get("/.well-known/jwks.json", (c) => {
    c.header("Cache-Control", "public, max-age=600");
    return c.json({ keys: ctx.keys.jwks.keys.filter((key) => key.kty !== "oct") });
  });

  app.post("/signup", async (c) => {
    const body = parseBody(await c.req.text(), SignupBody);
    return c.json(await signUp(ctx, body, meta(c)));
  });

  app.post("/token", async (c) => {
    const grantType = c.req.query("grant_type") ?? "";
    const text = await c.req.text();
    if (grantType === "password") {
      return c.json(await passwordGrant(ctx, parseBody(text, PasswordGrantBody), meta(c)));
    }
    if (grantType === "refresh_token") {
      const { refresh_token } = parseBody(text, RefreshGrantBody);
      return c.json(await refreshTokenGrant(ctx, refresh_token, meta(c)));
    }
    throw badRequest("validation_failed", `Unsupported grant_type: "${grantType}"`);
  });

  app.get("/user", async (c) => {
    const claims = await authenticate(ctx, c.req.header("Authorization"));
    return c.json(await getUser(ctx, claims));
  });

  app.put("/user", async (c) => {
    const claims = await authenticate(ctx, c.req.header("Authorization"));
    const body = parseBody(await c.req.text(), UserUpdateBody);
    return c.json(await updateUser(ctx, claims, body));
  });

  app.post("/logout", async (c) => {
    const claims = await authenticate(ctx, c.req.header("Authorization"));
    const scope = LogoutScope.safeParse(c.req.query("scope") ?? "global");
    if (!scope.success) {
      throw badRequest("validation_failed", `Unsupported logout scope "${c.req.query("scope")}"`);
    }
    await logout(ctx, claims, scope.data);
    return c.body(null, 204);
  });

  // Email flows (otp.ts): the mails go to the local mailbox.
  app.post("/recover", async (c) => {
    const body = parseBody(await c.req.text(), RecoverBody);
    return c.json(await recover(ctx, body.email, c.req.query("redirect_to")));
  });

  app.post("/otp", async (c) => {
    const body = parseBody(await c.req.text(), OtpBody);
    if (body.phone !== "") throw badRequest("phone_provider_disabled", "Phone logins are disabled");
    const params = { email: body.email, createUser: body.create_user, data: body.data ?? {} };
    return c.json(await sendOtp(ctx, params, c.req.query("redirect_to")));
  });

  app.post("/verify", async (c) => {
    const body = parseBody(await c.req.text(), VerifyBody);
    if (body.phone !== "") throw badRequest("phone_provider_disabled", "Phone logins are disabled");
    const params = {
      type: body.type,
      email: body.email,
      token: body.token,
      tokenHash: body.token_hash,
    };
    return c.json(await verify(ctx, params, meta(c)));
  });

  // A mailed link: 303 to redirect_to with the session (or the error) in the URL fragment.
  app.get("/verify", async (c) => {
    const type = c.req.query("type") ?? "";
    const redirectTo = allowedRedirect(ctx, c.req.query("redirect_to"));
    const params = { type, email: "", token: "", tokenHash: c.req.query("token") ?? "" };
    try {
      const session = await verify(ctx, params, meta(c));
      return c.redirect(verifyRedirect(redirectTo, { session, type }), 303);
    } catch (error) {
      if (!(error instanceof AuthError) || error.status >= 500) throw error;
      return c.redirect(verifyRedirect(redirectTo, { error }), 303);
    }
  });

  app.use("/admin/*", async (c, next) => {
    await requireAdmin(ctx, c.req.header("Authorization"));
    await next();
  });

  app.post("/admin/generate_link", async (c) => {
    const body = parseBody(await c.req.text(), GenerateLinkBody);
    return c.json(await generateLink(ctx, body));
  });

  app.post("/admin/users", async (c) => {
    const body = parseBody(await c.req.text(), AdminUserBody);
    return c.json(await adminCreateUser(ctx, body));
  });

  app.get("/admin/users", async (c) => {
    const page = pageParam(c.req.query("page"), 1);
    const perPage = pageParam(c.req.query("per_page"), DEFAULT_PER_PAGE);
    const filter = queryText(c.req.query("filter"), "filter");
    const { body, total } = await adminListUsers(ctx, { page, perPage, filter });
    // auth-js reads the pagination from these headers, and the page number from the first
    // query parameter of each link, so `page` must come first.
    const base = new URL(c.req.url);
    const link = (p: number, rel: string) =>
      `<${base.origin}${base.pathname}?page=${p}&per_page=${perPage}>; rel="${rel}"`;
    const lastPage = Math.ceil(total / perPage);
    const links = page < lastPage ? [link(page + 1, "next")] : [];
    links.push(link(lastPage, "last"));
    c.header("Link", links.join(", "));
    c.header("X-Total-Count", String(total));
    return c.json(body);
  });

  app.get("/admin/users/:id", async (c) => c.json(await adminGetUser(ctx, c.req.param("id"))));

  app.put("/admin/users/:id", async (c) => {
    const body = parseBody(await c.req.text(), AdminUserBody);
    return c.json(await adminUpdateUser(ctx, c.req.param("id"), body));
  });

  app.delete("/admin/users/:id", async (c) => {
    const text = await c.req.text();
    const body = text.trim() === ""
      ? { should_soft_delete: false }
      : parseBody(text, AdminDeleteBody);
    return c.json(await adminDeleteUser(ctx, c.req.param("id"), body.should_soft_delete));
  });

  return app;
}

function meta(c: Context): RequestMeta {
  return { userAgent: c.req.header("User-Agent") ?? null };
}

function request(c: Context): { method: string; path: string } {
  return { method: c.req.method, path: c.req.path };
}

/** A page or per_page query value: empty means the default (auth-js sends `page=`). */
function pageParam(value: string | undefined, fallback: number): number {
  if (value === undefined || value === "") return fallback;
  if (!/^\d{1,9}$/.test(value)) {
    throw badRequest("validation_failed", `Bad Pagination Parameters: invalid number "${value}"`);
  }
  const n = Number(value);
  return n === 0 ? fallback : n;
}
