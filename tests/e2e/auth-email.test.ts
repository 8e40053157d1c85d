/**
 * The auth flows that mail something, end to end with supabase-js and the local mailbox (its
 * Mailpit-style API): password recovery whose link signs the user in so that updateUser can set a
 * new password, magic links and email OTPs (existing and new users), signup confirmations, and
 * auth.admin.generateLink. Tokens are stored hashed as GoTrue stores them.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { fileURLToPath } from "node:url";
import { createClient, type SupabaseClient } from "@supabase/supabase-js";
import { startStack } from "../../local/stack.ts";

const FIXTURE = fileURLToPath(new URL("../fixtures/project", import.meta.url));
const stack = await startStack({
  rootDir: FIXTURE,
  apiPort: 0,
  dbPort: null,
  dataDir: null,
  workers: false,
  mailboxPort: 0,
  functionLogLevel: "error",
});

function client(key = stack.anonKey): SupabaseClient {
  return createClient(stack.apiUrl, key, {
    auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false },
  });
}

interface MailSummary {
  ID: string;
  To: Array<{ Address: string }>;
  Subject: string;
}

/** The newest message to `email` with this subject, through the mailbox's HTTP API. */
async function latestMail(email: string, subject: string): Promise<{ Text: string; HTML: string }> {
  const list = await (await fetch(`${stack.mailboxUrl}/api/v1/messages`)).json();
  const summary = (list.messages as MailSummary[]).find((m) =>
    m.To[0]?.Address === email && m.Subject === subject
  );
  assert.ok(summary, `no "${subject}" mail to ${email} in ${JSON.stringify(list.messages)}`);
  return await (await fetch(`${stack.mailboxUrl}/api/v1/message/${summary.ID}`)).json();
}

function linkIn(text: string): string {
  const link = /http\S+\/auth\/v1\/verify\?\S+/.exec(text)?.[0];
  assert.ok(link, `no verify link in: ${text}`);
  return link;
}

function codeIn(text: string): string {
  const code = /enter the code: (\d{6})/.exec(text)?.[1];
  assert.ok(code, `no code in: ${text}`);
  return code;
}

async function signUp(email: string, password: string): Promise<void> {
  const { error } = await client().auth.signUp({ email, password });
  assert.equal(error, null);
}

Deno.test("password recovery: the mailed link signs the user in and updateUser sets a new password", async () => {
  const email = "forgetful@example.test";
  await signUp(email, "the-old-password");
  const { error } = await client().auth.resetPasswordForEmail(email, {
    redirectTo: "http://127.0.0.1:3000/reset",
  });
  assert.equal(error, null);

  const mail = await latestMail(email, "Reset Your Password");
  const code = codeIn(mail.Text);
  const { rows } = await stack.session.query<{ recovery_token: string }>(
    "select recovery_token from auth.users where email = $1",
    [email],
  );
  // Stored as GoTrue stores it: hex SHA-224 of the address followed by the code.
  assert.equal(rows[0]!.recovery_token, createHash("sha224").update(email + code).digest("hex"));

  const link = linkIn(mail.Text);
  const response = await fetch(link, { redirect: "manual" });
  await response.body?.cancel();
  assert.equal(response.status, 303);
  const location = new URL(response.headers.get("location")!);
  assert.equal(`${location.origin}${location.pathname}`, "http://127.0.0.1:3000/reset");
  const fragment = new URLSearchParams(location.hash.slice(1));
  assert.equal(fragment.get("type"), "recovery");

  const user = client();
  const set = await user.auth.setSession({
    access_token: fragment.get("access_token")!,
    refresh_token: fragment.get("refresh_token")!,
  });
  assert.equal(set.error, null);
  assert.equal(set.data.user?.email, email);
  const updated = await user.auth.updateUser({ password: "the-new-password" });
  assert.equal(updated.error, null);

  const withNew = await client().auth.signInWithPassword({ email, password: "the-new-password" });
  assert.equal(withNew.error, null);
  const withOld = await client().auth.signInWithPassword({ email, password: "the-old-password" });
  assert.equal(withOld.error?.code, "invalid_credentials");

  // The link works once.
  const again = await fetch(link, { redirect: "manual" });
  await again.body?.cancel();
  const error2 = new URLSearchParams(new URL(again.headers.get("location")!).hash.slice(1));
  assert.equal(error2.get("error_code"), "otp_expired");
});

Deno.test("recovery for an unknown address answers the same and mails nothing", async () => {
  const before = (await (await fetch(`${stack.mailboxUrl}/api/v1/messages`)).json()).total;
  const { error } = await client().auth.resetPasswordForEmail("nobody@example.test");
  assert.equal(error, null);
  const after = (await (await fetch(`${stack.mailboxUrl}/api/v1/messages`)).json()).total;
  assert.equal(after, before);
});

Deno.test("email OTP: an existing user signs in with the mailed code, a wrong code is refused", async () => {
  const email = "otp-user@example.test";
  await signUp(email, "a-long-password");
  const sent = await client().auth.signInWithOtp({ email });
  assert.equal(sent.error, null);
  const mail = await latestMail(email, "Your Magic Link");
  const wrong = await client().auth.verifyOtp({ email, token: "000000", type: "email" });
  if (codeIn(mail.Text) !== "000000") assert.equal(wrong.error?.code, "otp_expired");
  const verified = await client().auth.verifyOtp({
    email,
    token: codeIn(mail.Text),
    type: "email",
  });
  assert.equal(verified.error, null);
  assert.equal(verified.data.user?.email, email);
  assert.ok(verified.data.session?.access_token);
});

Deno.test("magic link for a new address creates the user, confirmed when the link is followed", async () => {
  const email = "newcomer@example.test";
  const sent = await client().auth.signInWithOtp({
    email,
    options: { emailRedirectTo: "http://127.0.0.1:3000/welcome" },
  });
  assert.equal(sent.error, null);
  const mail = await latestMail(email, "Confirm Your Signup");
  const response = await fetch(linkIn(mail.Text), { redirect: "manual" });
  await response.body?.cancel();
  const location = new URL(response.headers.get("location")!);
  assert.equal(location.pathname, "/welcome");
  const fragment = new URLSearchParams(location.hash.slice(1));
  const { data, error } = await client().auth.getUser(fragment.get("access_token")!);
  assert.equal(error, null);
  assert.equal(data.user?.email, email);
  assert.ok(data.user?.email_confirmed_at);

  const refused = await client().auth.signInWithOtp({
    email: "stranger@example.test",
    options: { shouldCreateUser: false },
  });
  assert.equal(refused.error?.code, "otp_disabled");
});

Deno.test("auth.admin.generateLink returns the link and OTP without mailing them", async () => {
  const email = "linked@example.test";
  await signUp(email, "a-long-password");
  const admin = client(stack.serviceRoleKey);
  const before = (await (await fetch(`${stack.mailboxUrl}/api/v1/messages`)).json()).total;
  const { data, error } = await admin.auth.admin.generateLink({ type: "magiclink", email });
  assert.equal(error, null);
  assert.equal(data.user?.email, email);
  assert.equal(data.properties?.verification_type, "magiclink");
  assert.match(
    data.properties!.action_link,
    /\/auth\/v1\/verify\?token=[0-9a-f]{56}&type=magiclink/,
  );
  assert.match(data.properties!.email_otp, /^\d{6}$/);
  const after = (await (await fetch(`${stack.mailboxUrl}/api/v1/messages`)).json()).total;
  assert.equal(after, before);

  const verified = await client().auth.verifyOtp({
    token_hash: data.properties!.hashed_token,
    type: "magiclink",
  });
  assert.equal(verified.error, null);
  assert.equal(verified.data.user?.email, email);

  const missing = await admin.auth.admin.generateLink({
    type: "recovery",
    email: "no@example.test",
  });
  assert.equal(missing.error?.status, 404);
});

Deno.test("the mailbox page lists the messages, on its own port and under the API URL", async () => {
  for (const url of [`${stack.mailboxUrl}/`, `${stack.apiUrl}/mailbox`]) {
    const response = await fetch(url);
    assert.equal(response.status, 200);
    assert.match(response.headers.get("content-type") ?? "", /text\/html/);
    assert.match(await response.text(), /Reset Your Password/);
  }
});

Deno.test("teardown", async () => {
  await stack.stop();
});
