/**
 * What `deno task start` prints (local/banner.ts) is what the stack does: every printed URL
 * answers as its service, the printed DB URL (with sslmode=disable) is accepted by psql and
 * postgres.js, and every printed key works for what it is. A line added to the banner without a
 * check here fails the test.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { createClient } from "@supabase/supabase-js";
import { jwtVerify } from "jose";
import postgres from "postgres";
import { banner } from "../../local/banner.ts";
import { startStack } from "../../local/stack.ts";

const FIXTURE = fileURLToPath(new URL("../fixtures/project", import.meta.url));
const stack = await startStack({
  rootDir: FIXTURE,
  apiPort: 0,
  dbPort: 0,
  mailboxPort: 0,
  dataDir: null,
  workers: false,
  functionLogLevel: "error",
});

/** The banner parsed back into label -> value, as a reader of the terminal would. */
const printed = new Map(
  banner(stack).split("\n").map((line) => {
    const at = line.indexOf(": ");
    return [line.slice(0, at).trim(), line.slice(at + 2)] as [string, string];
  }),
);
const value = (label: string) => {
  const text = printed.get(label);
  assert.ok(text, `"${label}" is printed`);
  return text;
};

Deno.test("every line of the banner is checked below", () => {
  assert.deepEqual([...printed.keys()].sort(), [
    "API URL",
    "DB URL",
    "Functions",
    "Functions URL",
    "JWT secret",
    "Mailbox URL",
    "Publishable key",
    "REST URL",
    "Realtime URL",
    "Secret key",
    "anon key",
    "service_role key",
  ]);
});

Deno.test("the printed URLs answer", async () => {
  const health = await fetch(`${value("API URL")}/health`);
  assert.equal((await health.json()).status, "ok");

  const rows = await fetch(`${value("REST URL")}/pings?select=source`, {
    headers: { apikey: value("Secret key") },
  });
  assert.equal(rows.status, 200);
  assert.ok(Array.isArray(await rows.json()));

  const refused = await fetch(`${value("Functions URL")}/echo-claims`, { method: "POST" });
  assert.equal(refused.status, 401);
  assert.equal((await refused.json()).message, "Missing authorization header");

  const mail = await fetch(`${value("Mailbox URL")}/api/v1/messages`);
  assert.equal(typeof (await mail.json()).total, "number");

  const socket = new WebSocket(
    `${value("Realtime URL")}/websocket?apikey=${value("anon key")}&vsn=1.0.0`,
  );
  await new Promise<void>((resolve, reject) => {
    socket.onopen = () => resolve();
    socket.onerror = () => reject(new Error("the realtime socket did not open"));
  });
  const closed = new Promise((resolve) => (socket.onclose = resolve));
  socket.close();
  await closed;
});

Deno.test("the printed DB URL works with psql and postgres.js as printed", async () => {
  const url = value("DB URL");
  assert.match(url, /\?sslmode=disable$/);
  const output = await new Deno.Command("psql", {
    args: ["-X", "-At", url, "-c", "select 42"],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(new TextDecoder().decode(output.stdout).trim(), "42");
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    const [row] = await sql`select 42 as n`;
    assert.equal(row!.n, 42);
  } finally {
    await sql.end();
  }
});

Deno.test("the printed keys work for what they are", async () => {
  const options = { auth: { persistSession: false, autoRefreshToken: false } };
  const { payload } = await jwtVerify(
    value("anon key"),
    new TextEncoder().encode(value("JWT secret")),
  );
  assert.equal(payload.role, "anon");

  const anon = createClient(value("API URL"), value("anon key"), options);
  const signUp = await anon.auth.signUp({
    email: "banner@example.test",
    password: "a-long-password",
  });
  assert.equal(signUp.error, null);

  const publishable = createClient(value("API URL"), value("Publishable key"), options);
  const signIn = await publishable.auth.signInWithPassword({
    email: "banner@example.test",
    password: "a-long-password",
  });
  assert.equal(signIn.error, null);

  for (const key of [value("service_role key"), value("Secret key")]) {
    const admin = createClient(value("API URL"), key, options);
    const { data, error } = await admin.auth.admin.listUsers();
    assert.equal(error, null);
    assert.ok(data.users.some((user) => user.email === "banner@example.test"));
  }

  assert.deepEqual(value("Functions").split(", "), [...stack.functions.keys()]);
});

Deno.test("a port in use is named in the error", async () => {
  const taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (taken.addr as Deno.NetAddr).port;
  try {
    await assert.rejects(
      startStack({ rootDir: FIXTURE, apiPort: port, dbPort: null, dataDir: null, workers: false }),
      new RegExp(`Cannot serve the API on 127\\.0\\.0\\.1:${port}: the address is in use`),
    );
  } finally {
    taken.close();
  }
});

Deno.test("teardown", async () => {
  await stack.stop();
});
