/**
 * Nothing a caller sends causes a 500: a sweep of malformed requests across the gateway, auth,
 * storage and a function of the local stack. Each must get a 4xx with a JSON body.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { startStack } from "../../local/stack.ts";

const FIXTURE = fileURLToPath(new URL("../fixtures/project", import.meta.url));

interface Probe {
  name: string;
  method?: string;
  path: string;
  headers?: Record<string, string>;
  body?: BodyInit;
  /** Use the service_role key instead of the anon key. */
  service?: boolean;
}

const json = { "content-type": "application/json" };

const PROBES: Probe[] = [
  {
    name: "signup with malformed JSON",
    method: "POST",
    path: "/auth/v1/signup",
    headers: json,
    body: "{",
  },
  {
    name: "signup with a JSON array",
    method: "POST",
    path: "/auth/v1/signup",
    headers: json,
    body: "[1]",
  },
  {
    name: "signup with wrong types",
    method: "POST",
    path: "/auth/v1/signup",
    headers: json,
    body: JSON.stringify({ email: 42, password: { a: 1 } }),
  },
  {
    name: "signup with a NUL byte",
    method: "POST",
    path: "/auth/v1/signup",
    headers: json,
    body: JSON.stringify({ email: "a\u0000@b.test", password: "password123" }),
  },
  {
    name: "token without grant type",
    method: "POST",
    path: "/auth/v1/token",
    headers: json,
    body: "{}",
  },
  {
    name: "token with unknown grant type",
    method: "POST",
    path: "/auth/v1/token?grant_type=magic",
    headers: json,
    body: "{}",
  },
  {
    name: "refresh with a garbage token",
    method: "POST",
    path: "/auth/v1/token?grant_type=refresh_token",
    headers: json,
    body: JSON.stringify({ refresh_token: "x".repeat(5000) }),
  },
  {
    name: "user with a garbage bearer",
    path: "/auth/v1/user",
    headers: { authorization: "Bearer a.b.c" },
  },
  {
    name: "admin user with a malformed id",
    path: "/auth/v1/admin/users/not-a-uuid",
    service: true,
  },
  {
    name: "admin create with bad JSON",
    method: "POST",
    path: "/auth/v1/admin/users",
    headers: json,
    body: "{{",
    service: true,
  },
  { name: "storage: unknown bucket", path: "/storage/v1/object/nope/file.txt" },
  {
    name: "storage: traversal in the object name",
    method: "POST",
    path: "/storage/v1/object/private-files/..%2F..%2Fetc%2Fpasswd",
    headers: { "content-type": "text/plain" },
    body: "x",
  },
  {
    name: "storage: list with malformed JSON",
    method: "POST",
    path: "/storage/v1/object/list/private-files",
    headers: json,
    body: "{",
  },
  {
    name: "storage: list with wrong types",
    method: "POST",
    path: "/storage/v1/object/list/private-files",
    headers: json,
    body: JSON.stringify({ prefix: 1, limit: "many", sortBy: { column: "evil; drop table x" } }),
  },
  {
    name: "storage: remove with no prefixes",
    method: "DELETE",
    path: "/storage/v1/object/private-files",
    headers: json,
    body: JSON.stringify({ prefixes: "a" }),
  },
  {
    name: "storage: sign with a negative expiry",
    method: "POST",
    path: "/storage/v1/object/sign/private-files/a.txt",
    headers: json,
    body: JSON.stringify({ expiresIn: -5 }),
  },
  {
    name: "storage: signed URL with a garbage token",
    path: "/storage/v1/object/sign/private-files/a.txt?token=zzz",
  },
  {
    name: "storage: create a bucket with a bad name",
    method: "POST",
    path: "/storage/v1/bucket",
    headers: json,
    body: JSON.stringify({ id: "../x", name: "../x" }),
    service: true,
  },
  {
    name: "storage: move with missing fields",
    method: "POST",
    path: "/storage/v1/object/move",
    headers: json,
    body: "{}",
  },
  {
    name: "function: malformed JSON to a verify_jwt function without a token",
    method: "POST",
    path: "/functions/v1/echo-claims",
    headers: json,
    body: "{",
  },
  { name: "function: unknown function", method: "POST", path: "/functions/v1/..%2F..%2Fauth" },
  { name: "gateway: unknown route", path: "/rest/v1/organizations" },
];

Deno.test("malformed requests get a 4xx JSON error, never a 500", async () => {
  const stack = await startStack({
    rootDir: FIXTURE,
    apiPort: 0,
    dbPort: null,
    dataDir: null,
    workers: false,
    functionLogLevel: "error",
  });
  try {
    const failures: string[] = [];
    for (const probe of PROBES) {
      const key = probe.service ? stack.serviceRoleKey : stack.anonKey;
      const response = await fetch(`${stack.apiUrl}${probe.path}`, {
        method: probe.method ?? "GET",
        headers: {
          apikey: key,
          ...(probe.headers?.authorization ? {} : { authorization: `Bearer ${key}` }),
          ...probe.headers,
        },
        ...(probe.body !== undefined ? { body: probe.body } : {}),
      });
      const text = await response.text();
      const isJson = (() => {
        try {
          JSON.parse(text);
          return true;
        } catch {
          return false;
        }
      })();
      if (response.status < 400 || response.status >= 500 || !isJson) {
        failures.push(`${probe.name}: ${response.status} ${text.slice(0, 200)}`);
      }
    }
    assert.deepEqual(failures, []);
    const { rows } = await stack.session.query<{ n: number }>(
      "select count(*)::int as n from auth.users",
    );
    assert.equal(rows[0]!.n, 0, "no bad signup created a user");
  } finally {
    await stack.stop();
  }
});
