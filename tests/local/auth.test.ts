/**
 * The local GoTrue emulator (local/auth), driven through supabase-js as a client app drives
 * `supabase start`: one PGlite database for the whole file, the auth app mounted at /auth/v1 on
 * a free port.
 */
import assert from "node:assert/strict";
import { createClient, type SupabaseClient } from "@supabase/supabase-js";
import { Hono } from "hono";
import { createLocalJWKSet, decodeProtectedHeader, type JSONWebKeySet, jwtVerify } from "jose";
import { createAuthApp } from "../../local/auth/app.ts";
import type { LocalConfig } from "../../local/config.ts";
import { loadKeys, type LocalKeys } from "../../local/keys.ts";
import { openDatabase } from "../../local/postgres/database.ts";

const SETTINGS: LocalConfig["auth"] = {
  siteUrl: "http://127.0.0.1:3000",
  jwtExpiry: 3600,
  refreshTokenRotation: true,
  refreshTokenReuseInterval: 10,
  enableSignup: true,
  enableAnonymousSignIns: false,
  minimumPasswordLength: 6,
  enableConfirmations: false,
};

const migrationsDir = await Deno.makeTempDir({ prefix: "auth-test-migrations-" });
const { session } = await openDatabase({ migrationsDir });
const keys = await loadKeys();
/** Added to the emulator's clock, to cross the refresh-token reuse interval. */
let clockOffsetMs = 0;

interface Stack {
  url: string;
  issuer: string;
  keys: LocalKeys;
  server: Deno.HttpServer;
}
const stacks: Stack[] = [];

function serve(options: { keys?: LocalKeys; settings?: Partial<LocalConfig["auth"]> } = {}): Stack {
  const stackKeys = options.keys ?? keys;
  const gateway = new Hono();
  const server = Deno.serve(
    { port: 0, hostname: "127.0.0.1", onListen: () => {} },
    (req) => gateway.fetch(req),
  );
  const url = `http://127.0.0.1:${server.addr.port}`;
  const issuer = `${url}/auth/v1`;
  gateway.route(
    "/auth/v1",
    createAuthApp({
      session,
      keys: stackKeys,
      settings: { ...SETTINGS, ...options.settings },
      issuer,
      now: () => new Date(Date.now() + clockOffsetMs),
    }),
  );
  const stack = { url, issuer, keys: stackKeys, server };
  stacks.push(stack);
  return stack;
}

const stack = serve();

function client(key = keys.anonKey, url = stack.url): SupabaseClient {
  return createClient(url, key, { auth: { persistSession: false, autoRefreshToken: false } });
}

let counter = 0;
function newEmail(prefix = "user"): string {
  return `${prefix}-${Date.now()}-${++counter}@example.com`;
}

/** A raw request to the auth API, as auth-js makes it (with the API version header). */
async function raw(
  path: string,
  init: RequestInit & { version?: boolean } = {},
): Promise<{ status: number; headers: Headers; body: Record<string, unknown> | null }> {
  const headers = new Headers(init.headers);
  headers.set("apikey", keys.anonKey);
  if (init.version !== false) headers.set("X-Supabase-Api-Version", "2024-01-01");
  const res = await fetch(`${stack.url}/auth/v1${path}`, { ...init, headers });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : null };
}

async function signedUp(email = newEmail(), password = "secret-password") {
  const supabase = client();
  const { data, error } = await supabase.auth.signUp({ email, password });
  assert.equal(error, null);
  assert.ok(data.session);
  return { supabase, session: data.session, email, password };
}

function test(name: string, fn: () => Promise<void>) {
  Deno.test({ name, fn, sanitizeOps: false, sanitizeResources: false });
}

test("signUp returns a session with the user and its email identity", async () => {
  const email = newEmail("Signup");
  const { data, error } = await client().auth.signUp({
    email,
    password: "secret-password",
    options: { data: { display_name: "Ada" } },
  });
  assert.equal(error, null);
  const { session: s, user } = data;
  assert.ok(s && user);
  assert.equal(s.token_type, "bearer");
  assert.equal(s.expires_in, 3600);
  assert.ok(s.refresh_token.length >= 12);
  assert.equal(user.email, email.toLowerCase());
  assert.equal(user.aud, "authenticated");
  assert.equal(user.role, "authenticated");
  assert.ok(user.email_confirmed_at);
  assert.ok(user.last_sign_in_at);
  assert.deepEqual(user.app_metadata, { provider: "email", providers: ["email"] });
  assert.deepEqual(user.user_metadata, {
    display_name: "Ada",
    sub: user.id,
    email: email.toLowerCase(),
    email_verified: true,
    phone_verified: false,
  });
  assert.equal(user.is_anonymous, false);
  assert.equal(user.identities?.length, 1);
  const identity = user.identities![0]!;
  assert.equal(identity.provider, "email");
  assert.equal(identity.id, user.id);
  assert.equal(identity.user_id, user.id);
  assert.equal(identity.identity_data?.email, email.toLowerCase());
  assert.equal(identity.identity_data?.sub, user.id);

  const { rows } = await session.query<{ encrypted_password: string; identities: number }>(
    `select encrypted_password,
            (select count(*)::int from auth.identities i where i.user_id = u.id) as identities
       from auth.users u where id = $1`,
    [user.id],
  );
  assert.match(rows[0]!.encrypted_password, /^\$2a\$10\$/);
  assert.equal(rows[0]!.identities, 1);
});

test("signUp twice with the same email is user_already_exists", async () => {
  const { email } = await signedUp();
  const { data, error } = await client().auth.signUp({ email, password: "another-password" });
  assert.equal(data.session, null);
  assert.equal(error?.name, "AuthApiError");
  assert.equal(error?.status, 422);
  assert.equal(error?.code, "user_already_exists");
  assert.equal(error?.message, "User already registered");
});

test("signUp refuses a short password (weak_password) and a malformed email (validation_failed)", async () => {
  const weak = await client().auth.signUp({ email: newEmail(), password: "123" });
  assert.equal(weak.error?.name, "AuthWeakPasswordError");
  assert.equal(weak.error?.status, 422);
  assert.equal(weak.error?.code, "weak_password");
  assert.deepEqual((weak.error as unknown as { reasons: string[] }).reasons, ["length"]);

  const invalid = await client().auth.signUp({
    email: "not-an-email",
    password: "secret-password",
  });
  assert.equal(invalid.error?.status, 400);
  assert.equal(invalid.error?.code, "validation_failed");

  const missing = await raw("/signup", {
    method: "POST",
    body: JSON.stringify({ password: "secret-password" }),
  });
  assert.equal(missing.status, 400);
  assert.equal(missing.body?.code, "validation_failed");
});

test("errors follow GoTrue's two body shapes and echo the API version", async () => {
  const malformed = await raw("/signup", { method: "POST", body: "{not json" });
  assert.equal(malformed.status, 400);
  assert.equal(malformed.body?.code, "bad_json");
  assert.equal(typeof malformed.body?.message, "string");
  assert.equal(malformed.headers.get("X-Supabase-Api-Version"), "2024-01-01");
  assert.equal(malformed.headers.get("x-sb-error-code"), "bad_json");

  const wrongType = await raw("/signup", { method: "POST", body: JSON.stringify({ email: 42 }) });
  assert.equal(wrongType.status, 400);
  assert.equal(wrongType.body?.code, "bad_json");

  const nul = await raw("/token?grant_type=refresh_token", {
    method: "POST",
    body: JSON.stringify({ refresh_token: "abc\u0000" }),
  });
  assert.equal(nul.status, 400);
  assert.equal(nul.body?.code, "validation_failed");

  const legacy = await raw("/signup", { method: "POST", body: "[", version: false });
  assert.equal(legacy.status, 400);
  assert.deepEqual(Object.keys(legacy.body ?? {}).sort(), ["code", "error_code", "msg"]);
  assert.equal(legacy.body?.code, 400);
  assert.equal(legacy.body?.error_code, "bad_json");
  assert.equal(legacy.headers.get("X-Supabase-Api-Version"), null);
});

test("signInWithPassword signs in; a wrong password and an unknown email are invalid_credentials", async () => {
  const { email, password } = await signedUp(newEmail("Login"));
  const ok = await client().auth.signInWithPassword({ email: email.toUpperCase(), password });
  assert.equal(ok.error, null);
  assert.equal(ok.data.user?.email, email.toLowerCase());
  assert.ok(ok.data.session?.access_token);

  const wrong = await client().auth.signInWithPassword({ email, password: "not-the-password" });
  assert.equal(wrong.error?.status, 400);
  assert.equal(wrong.error?.code, "invalid_credentials");
  assert.equal(wrong.error?.message, "Invalid login credentials");

  const unknown = await client().auth.signInWithPassword({
    email: newEmail("nobody"),
    password: "whatever-password",
  });
  assert.equal(unknown.error?.code, "invalid_credentials");
});

test("the access token carries GoTrue's claims and verifies with keys.verify and the JWKS", async () => {
  const { session: s, email } = await signedUp();
  const header = decodeProtectedHeader(s.access_token);
  assert.equal(header.alg, "ES256");
  assert.equal(header.kid, keys.jwks.keys[0]!.kid);

  const claims = await keys.verify(s.access_token);
  assert.equal(claims.iss, stack.issuer);
  assert.equal(claims.sub, s.user.id);
  assert.equal(claims.aud, "authenticated");
  assert.equal(claims.role, "authenticated");
  assert.equal(claims.email, email);
  assert.equal(claims.phone, "");
  assert.equal(claims.exp! - claims.iat!, 3600);
  assert.equal(claims.is_anonymous, false);
  assert.equal(typeof claims.session_id, "string");
  assert.equal(claims.aal, "aal1");
  const amr = claims.amr as Array<{ method: string; timestamp: number }>;
  assert.equal(amr[0]?.method, "password");
  assert.deepEqual(claims.app_metadata, { provider: "email", providers: ["email"] });
  assert.equal(s.expires_at, claims.exp);

  const res = await fetch(`${stack.url}/auth/v1/.well-known/jwks.json`);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("Cache-Control"), "public, max-age=600");
  const jwks = (await res.json()) as JSONWebKeySet;
  assert.equal(jwks.keys.length, 1);
  assert.equal(jwks.keys[0]!.kty, "EC");
  assert.equal("d" in jwks.keys[0]!, false);
  const { payload } = await jwtVerify(s.access_token, createLocalJWKSet(jwks), {
    issuer: stack.issuer,
    audience: "authenticated",
  });
  assert.equal(payload.sub, s.user.id);

  const { data, error } = await client().auth.getClaims(s.access_token);
  assert.equal(error, null);
  assert.equal(data?.claims.sub, s.user.id);
});

test("getUser returns the signed-in user; no token is 401, a bad token 403 bad_jwt", async () => {
  const { supabase, session: s } = await signedUp();
  const { data, error } = await supabase.auth.getUser();
  assert.equal(error, null);
  assert.equal(data.user?.id, s.user.id);
  assert.equal(data.user?.identities?.length, 1);

  const none = await raw("/user");
  assert.equal(none.status, 401);
  assert.equal(none.body?.code, "no_authorization");

  const bad = await raw("/user", { headers: { Authorization: "Bearer not.a.jwt" } });
  assert.equal(bad.status, 403);
  assert.equal(bad.body?.code, "bad_jwt");

  const anonKey = await raw("/user", { headers: { Authorization: `Bearer ${keys.anonKey}` } });
  assert.equal(anonKey.status, 403);
  assert.equal(anonKey.body?.code, "bad_jwt");
});

test("getUser for a deleted user is 403 user_not_found", async () => {
  const { session: s } = await signedUp();
  await session.query("delete from auth.users where id = $1", [s.user.id]);
  const res = await raw("/user", { headers: { Authorization: `Bearer ${s.access_token}` } });
  assert.equal(res.status, 403);
  assert.equal(res.body?.code, "user_not_found");
});

test("refreshSession rotates the refresh token; reuse is allowed only as a retry", async () => {
  const { session: s0 } = await signedUp();
  const supabase = client();
  const first = await supabase.auth.refreshSession({ refresh_token: s0.refresh_token });
  assert.equal(first.error, null);
  const s1 = first.data.session!;
  assert.notEqual(s1.refresh_token, s0.refresh_token);
  assert.equal(
    (await keys.verify(s1.access_token)).session_id,
    (await keys.verify(s0.access_token)).session_id,
  );

  // The client lost the answer and retries with the token it still has: same active token back.
  const retry = await client().auth.refreshSession({ refresh_token: s0.refresh_token });
  assert.equal(retry.error, null);
  assert.equal(retry.data.session?.refresh_token, s1.refresh_token);

  const second = await client().auth.refreshSession({ refresh_token: s1.refresh_token });
  assert.equal(second.error, null);
  const s2 = second.data.session!;

  // Past the reuse interval, presenting a revoked token that is not the active one's parent is
  // treated as theft: refused, and the whole session ends.
  clockOffsetMs = (SETTINGS.refreshTokenReuseInterval + 1) * 1000;
  try {
    const stolen = await client().auth.refreshSession({ refresh_token: s0.refresh_token });
    assert.equal(stolen.error?.status, 400);
    assert.equal(stolen.error?.code, "refresh_token_already_used");

    const afterTheft = await client().auth.refreshSession({ refresh_token: s2.refresh_token });
    assert.equal(afterTheft.error?.code, "refresh_token_not_found");
    const user = await raw("/user", { headers: { Authorization: `Bearer ${s2.access_token}` } });
    assert.equal(user.status, 403);
    assert.equal(user.body?.code, "session_not_found");
  } finally {
    clockOffsetMs = 0;
  }

  const unknown = await client().auth.refreshSession({ refresh_token: "no-such-token" });
  assert.equal(unknown.error?.status, 400);
  assert.equal(unknown.error?.code, "refresh_token_not_found");
});

test("a revoked token reused within the interval gets a new token", async () => {
  const { session: s0 } = await signedUp();
  const s1 = (await client().auth.refreshSession({ refresh_token: s0.refresh_token })).data
    .session!;
  const s2 = (await client().auth.refreshSession({ refresh_token: s1.refresh_token })).data
    .session!;
  const again = await client().auth.refreshSession({ refresh_token: s0.refresh_token });
  assert.equal(again.error, null);
  assert.notEqual(again.data.session?.refresh_token, s2.refresh_token);
});

test("signOut ends the session: its access token then gets session_not_found", async () => {
  const { supabase, session: s } = await signedUp();
  const { error } = await supabase.auth.signOut();
  assert.equal(error, null);

  const { data, error: userError } = await client().auth.getUser(s.access_token);
  assert.equal(data.user, null);
  assert.equal(userError?.name, "AuthSessionMissingError");

  const res = await raw("/user", { headers: { Authorization: `Bearer ${s.access_token}` } });
  assert.equal(res.status, 403);
  assert.equal(res.body?.code, "session_not_found");

  const refresh = await client().auth.refreshSession({ refresh_token: s.refresh_token });
  assert.equal(refresh.error?.code, "refresh_token_not_found");

  const logout = await raw("/logout", {
    method: "POST",
    headers: { Authorization: `Bearer ${(await signedUp()).session.access_token}` },
  });
  assert.equal(logout.status, 204);
  assert.equal(logout.body, null);
});

test("signOut with scope others keeps only the current session", async () => {
  const { email, password } = await signedUp();
  const a = client();
  const b = client();
  const sa = (await a.auth.signInWithPassword({ email, password })).data.session!;
  const sb = (await b.auth.signInWithPassword({ email, password })).data.session!;
  assert.equal((await a.auth.signOut({ scope: "others" })).error, null);
  assert.equal((await client().auth.getUser(sa.access_token)).error, null);
  assert.equal(
    (await client().auth.getUser(sb.access_token)).error?.name,
    "AuthSessionMissingError",
  );
});

test("updateUser merges data, changes the password and refuses the same password", async () => {
  const { supabase, email, password } = await signedUp();
  const data = await supabase.auth.updateUser({ data: { theme: "dark" } });
  assert.equal(data.error, null);
  assert.equal(data.data.user?.user_metadata.theme, "dark");
  assert.equal(data.data.user?.user_metadata.email_verified, true);

  const removed = await supabase.auth.updateUser({ data: { theme: null } });
  assert.equal("theme" in (removed.data.user?.user_metadata ?? {}), false);

  const same = await supabase.auth.updateUser({ password });
  assert.equal(same.error?.status, 422);
  assert.equal(same.error?.code, "same_password");

  const changed = await supabase.auth.updateUser({ password: "a-new-password" });
  assert.equal(changed.error, null);
  assert.equal(
    (await client().auth.signInWithPassword({ email, password })).error?.code,
    "invalid_credentials",
  );
  assert.equal(
    (await client().auth.signInWithPassword({ email, password: "a-new-password" })).error,
    null,
  );

  const pending = await supabase.auth.updateUser({ email: newEmail("changed") });
  assert.equal(pending.error, null);
  assert.equal(pending.data.user?.email, email);
  assert.ok(pending.data.user?.new_email);
});

test("admin.createUser works with the service key and is refused with the anon key", async () => {
  const admin = client(keys.serviceRoleKey).auth.admin;
  const email = newEmail("admin");
  const id = crypto.randomUUID();
  const created = await admin.createUser({
    id,
    email,
    password: "admin-set-password",
    email_confirm: true,
    user_metadata: { name: "Grace" },
    app_metadata: { plan: "pro" },
  });
  assert.equal(created.error, null);
  assert.equal(created.data.user?.id, id);
  assert.ok(created.data.user?.email_confirmed_at);
  assert.deepEqual(created.data.user?.app_metadata, {
    provider: "email",
    providers: ["email"],
    plan: "pro",
  });
  assert.equal(created.data.user?.user_metadata.name, "Grace");
  assert.equal(created.data.user?.identities?.[0]?.provider, "email");

  const signIn = await client().auth.signInWithPassword({ email, password: "admin-set-password" });
  assert.equal(signIn.error, null);

  const duplicate = await admin.createUser({ email, password: "whatever-password" });
  assert.equal(duplicate.error?.status, 422);
  assert.equal(duplicate.error?.code, "email_exists");

  const refused = await client().auth.admin.createUser({
    email: newEmail(),
    password: "x-password",
  });
  assert.equal(refused.error?.status, 403);
  assert.equal(refused.error?.code, "not_admin");

  const asUser = await client(signIn.data.session!.access_token).auth.admin.listUsers();
  assert.equal(asUser.error?.code, "not_admin");
});

test("admin can list, read, update and delete users", async () => {
  const admin = client(keys.serviceRoleKey).auth.admin;
  const { session: s } = await signedUp();

  const page = await admin.listUsers({ page: 1, perPage: 2 });
  assert.equal(page.error, null);
  assert.equal(page.data.users.length, 2);
  assert.equal((page.data as unknown as { aud: string }).aud, "authenticated");
  assert.ok(page.data.total >= 2);
  assert.equal(page.data.nextPage, 2);

  const all = await admin.listUsers();
  assert.ok(all.data.users.some((u) => u.id === s.user.id));

  const read = await admin.getUserById(s.user.id);
  assert.equal(read.data.user?.email, s.user.email);

  const updated = await admin.updateUserById(s.user.id, {
    user_metadata: { tier: "gold" },
    app_metadata: { roles: ["editor"] },
  });
  assert.equal(updated.error, null);
  assert.equal(updated.data.user?.user_metadata.tier, "gold");
  assert.deepEqual(updated.data.user?.app_metadata.roles, ["editor"]);

  const deleted = await admin.deleteUser(s.user.id);
  assert.equal(deleted.error, null);
  const gone = await admin.getUserById(s.user.id);
  assert.equal(gone.error?.status, 404);
  assert.equal(gone.error?.code, "user_not_found");

  const badId = await raw("/admin/users/not-a-uuid", {
    headers: { Authorization: `Bearer ${keys.serviceRoleKey}` },
  });
  assert.equal(badId.status, 404);
  assert.equal(badId.body?.code, "validation_failed");
});

test("a user created unconfirmed by an admin gets email_not_confirmed", async () => {
  const admin = client(keys.serviceRoleKey).auth.admin;
  const email = newEmail("unconfirmed");
  assert.equal((await admin.createUser({ email, password: "secret-password" })).error, null);
  const { error } = await client().auth.signInWithPassword({ email, password: "secret-password" });
  assert.equal(error?.status, 400);
  assert.equal(error?.code, "email_not_confirmed");
});

test("a user inserted by an SQL seed with crypt() and NULL token columns signs in", async () => {
  const email = newEmail("Seeded");
  await session.query(
    `insert into auth.users (instance_id, id, aud, role, email, encrypted_password,
       email_confirmed_at, raw_app_meta_data, raw_user_meta_data, created_at, updated_at)
     values ('00000000-0000-0000-0000-000000000000', gen_random_uuid(), 'authenticated',
       'authenticated', $1, extensions.crypt('password123', extensions.gen_salt('bf')),
       now(), '{"provider":"email","providers":["email"]}', '{}', now(), now())`,
    [email],
  );
  const { data, error } = await client().auth.signInWithPassword({
    email: email.toLowerCase(),
    password: "password123",
  });
  assert.equal(error, null);
  assert.equal(data.user?.email, email);
  assert.deepEqual(data.user?.identities, []);
});

test("auth SQL runs as supabase_auth_admin; a failing trigger is 500 and leaves no user", async () => {
  await session.exec(`
    create table public.auth_trigger_roles (role text not null);
    grant insert on public.auth_trigger_roles to supabase_auth_admin;
    create function public.record_auth_role() returns trigger language plpgsql as $$
    begin
      insert into public.auth_trigger_roles (role) values (current_user);
      return new;
    end $$;
    create function public.refuse_some_signups() returns trigger language plpgsql as $$
    begin
      if new.email like 'refused-%' then raise exception 'profile could not be created'; end if;
      return new;
    end $$;
    create trigger record_auth_role after insert on auth.users
      for each row execute function public.record_auth_role();
    create trigger on_auth_user_created after insert on auth.users
      for each row execute function public.refuse_some_signups();
    create function public.refuse_at_commit() returns trigger language plpgsql as $$
    begin
      if new.email like 'deferred-%' then raise exception 'refused at commit'; end if;
      return new;
    end $$;
    create constraint trigger refuse_at_commit after insert on auth.users
      deferrable initially deferred
      for each row execute function public.refuse_at_commit();
  `);
  try {
    await signedUp();
    const { rows } = await session.query<{ role: string }>(
      "select role from public.auth_trigger_roles",
    );
    assert.deepEqual(rows.map((r) => r.role), ["supabase_auth_admin"]);

    const email = newEmail("refused");
    const { error } = await client().auth.signUp({ email, password: "secret-password" });
    assert.equal(error?.name, "AuthRetryableFetchError");
    assert.equal(error?.status, 500);
    assert.equal(error?.message, "Database error saving new user");

    const res = await raw("/signup", {
      method: "POST",
      body: JSON.stringify({ email, password: "secret-password" }),
    });
    assert.equal(res.status, 500);
    assert.deepEqual(res.body, {
      code: "unexpected_failure",
      message: "Database error saving new user",
    });
    const left = await session.query("select 1 from auth.users where email = $1", [email]);
    assert.equal(left.rows.length, 0);

    // A deferred constraint trigger fails at COMMIT, after every statement succeeded.
    const deferred = newEmail("deferred");
    const atCommit = await raw("/signup", {
      method: "POST",
      body: JSON.stringify({ email: deferred, password: "secret-password" }),
    });
    assert.equal(atCommit.status, 500);
    assert.equal(atCommit.body?.message, "Database error saving new user");
    const none = await session.query("select 1 from auth.users where email = $1", [deferred]);
    assert.equal(none.rows.length, 0);
  } finally {
    await session.exec(`
      drop trigger record_auth_role on auth.users;
      drop trigger on_auth_user_created on auth.users;
      drop trigger refuse_at_commit on auth.users;
      drop function public.refuse_at_commit();
      drop function public.record_auth_role();
      drop function public.refuse_some_signups();
      drop table public.auth_trigger_roles;
    `);
  }
});

test("with confirmations on, signUp returns the user without a session", async () => {
  const confirming = serve({ settings: { enableConfirmations: true } });
  const supabase = client(keys.anonKey, confirming.url);
  const email = newEmail();
  const { data, error } = await supabase.auth.signUp({ email, password: "secret-password" });
  assert.equal(error, null);
  assert.equal(data.session, null);
  assert.equal(data.user?.email, email);
  assert.ok(data.user?.confirmation_sent_at);
  assert.equal(data.user?.email_confirmed_at, undefined);

  const signIn = await supabase.auth.signInWithPassword({ email, password: "secret-password" });
  assert.equal(signIn.error?.code, "email_not_confirmed");
});

test("with signups disabled, signUp is 422 signup_disabled", async () => {
  const closed = serve({ settings: { enableSignup: false } });
  const { error } = await client(keys.anonKey, closed.url).auth.signUp({
    email: newEmail(),
    password: "secret-password",
  });
  assert.equal(error?.status, 422);
  assert.equal(error?.code, "signup_disabled");

  const anonymous = await client().auth.signInAnonymously();
  assert.equal(anonymous.error?.code, "anonymous_provider_disabled");
});

test("in HS256 mode user tokens are HS256 without a kid", async () => {
  const hsKeys = await loadKeys({ userTokenAlg: "HS256" });
  const hs = serve({ keys: hsKeys });
  const supabase = client(hsKeys.anonKey, hs.url);
  const { data, error } = await supabase.auth.signUp({
    email: newEmail(),
    password: "secret-password",
  });
  assert.equal(error, null);
  const token = data.session!.access_token;
  const header = decodeProtectedHeader(token);
  assert.equal(header.alg, "HS256");
  assert.equal(header.kid, undefined);
  assert.equal((await hsKeys.verify(token)).sub, data.user!.id);
  assert.equal((await supabase.auth.getUser()).data.user?.id, data.user!.id);
});

test("settings and health answer", async () => {
  const settings = await raw("/settings");
  assert.equal(settings.status, 200);
  assert.equal(settings.body?.mailer_autoconfirm, true);
  assert.equal(settings.body?.disable_signup, false);
  const health = await raw("/health");
  assert.equal(health.status, 200);
  assert.equal(health.body?.name, "GoTrue");
});

test("teardown", async () => {
  for (const s of stacks) await s.server.shutdown();
  await session.close();
  await Deno.remove(migrationsDir, { recursive: true });
});
