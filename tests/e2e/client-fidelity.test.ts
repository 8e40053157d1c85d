/**
 * Where the official clients' own test suites (supabase-js: auth-js, storage-js, functions-js)
 * found the local stack differing from hosted Supabase, checked here through supabase-js:
 * verify_jwt accepts any validly signed token (no `role` claim needed), unknown auth endpoints
 * answer in GoTrue's error shape, `listV2` lists and never writes, buckets have upstream's JSON,
 * a request without a token gets Storage's message, and image transforms are refused, not dropped.
 * tests/clients/run-upstream.ts runs the upstream suites themselves when they are available.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { createClient, type SupabaseClient } from "@supabase/supabase-js";
import { SignJWT } from "jose";
import { type Stack, startStack } from "../../local/stack.ts";

const FIXTURE = fileURLToPath(new URL("../fixtures/project", import.meta.url));

function admin(stack: Stack): SupabaseClient {
  return createClient(stack.apiUrl, stack.serviceRoleKey, {
    auth: { persistSession: false, autoRefreshToken: false },
  });
}

Deno.test({
  name: "the local stack answers the official clients as hosted Supabase does",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const stack = await startStack({
      rootDir: FIXTURE,
      apiPort: 0,
      dbPort: null,
      dataDir: null,
      workers: false,
      functionLogLevel: "error",
      extraFunctions: {
        hello: { createApp: () => ({ fetch: () => Response.json({ hello: "world" }) }) },
      },
    });
    const secret = new TextEncoder().encode(stack.jwtSecret);
    const hello = (token: string) =>
      fetch(`${stack.apiUrl}/functions/v1/hello`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}` },
      });
    try {
      await t.step("verify_jwt passes a validly signed token without a role claim", async () => {
        const noRole = await new SignJWT({ sub: "someone" })
          .setProtectedHeader({ alg: "HS256", typ: "JWT" })
          .setExpirationTime("1h")
          .sign(secret);
        const ok = await hello(noRole);
        assert.equal(ok.status, 200);
        assert.deepEqual(await ok.json(), { hello: "world" });

        const forged = await new SignJWT({ role: "service_role" })
          .setProtectedHeader({ alg: "HS256", typ: "JWT" })
          .sign(new TextEncoder().encode("another-secret-of-at-least-32-characters"));
        const expired = await new SignJWT({ role: "anon" })
          .setProtectedHeader({ alg: "HS256", typ: "JWT" })
          .setExpirationTime(Math.floor(Date.now() / 1000) - 60)
          .sign(secret);
        for (const token of [forged, expired, "not-a-jwt"]) {
          const refused = await hello(token);
          assert.equal(refused.status, 401);
          assert.deepEqual(await refused.json(), { code: 401, message: "Invalid JWT" });
        }
      });

      await t.step("an unknown auth endpoint answers in GoTrue's error shape", async () => {
        const legacy = await fetch(`${stack.apiUrl}/auth/v1/factors`, {
          method: "POST",
          headers: { apikey: stack.anonKey },
        });
        assert.equal(legacy.status, 404);
        const body = await legacy.json();
        assert.equal(body.code, 404);
        assert.equal(body.error_code, "not_found");
        assert.match(body.msg, /does not emulate the auth endpoint "POST \/factors"/);

        const versioned = await fetch(`${stack.apiUrl}/auth/v1/passkeys/registration/options`, {
          method: "POST",
          headers: { apikey: stack.anonKey, "x-supabase-api-version": "2024-01-01" },
        });
        assert.equal(versioned.status, 404);
        assert.equal(versioned.headers.get("x-supabase-api-version"), "2024-01-01");
        assert.equal((await versioned.json()).code, "not_found");
      });

      const storage = admin(stack).storage;
      await t.step("buckets have upstream's fields and ISO timestamps", async () => {
        assert.equal((await storage.createBucket("docs", { public: false })).error, null);
        const { data, error } = await storage.getBucket("docs");
        assert.equal(error, null);
        assert.deepEqual(Object.keys(data!).sort(), [
          "allowed_mime_types",
          "created_at",
          "file_size_limit",
          "id",
          "name",
          "owner",
          "public",
          "updated_at",
        ]);
        assert.match(data!.created_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
        const listed = await storage.listBuckets();
        assert.deepEqual(listed.data?.find((b) => b.id === "docs"), data);
      });

      await t.step(
        "listV2 lists and never writes, even beside a bucket named list-v2",
        async () => {
          assert.equal((await storage.createBucket("list-v2")).error, null);
          for (const path of ["a.txt", "reports/q1.txt", "reports/q2.txt"]) {
            const up = await storage.from("docs").upload(path, new Blob(["x"]), {
              contentType: "text/plain",
            });
            assert.equal(up.error, null);
          }
          const flat = await storage.from("docs").listV2();
          assert.equal(flat.error, null);
          assert.deepEqual(flat.data!.objects.map((o) => o.key), [
            "a.txt",
            "reports/q1.txt",
            "reports/q2.txt",
          ]);
          const grouped = await storage.from("docs").listV2({ with_delimiter: true, limit: 1 });
          assert.deepEqual(grouped.data!.objects.map((o) => o.key), ["a.txt"]);
          assert.equal(grouped.data!.hasNext, true);
          const next = await storage.from("docs").listV2({
            with_delimiter: true,
            cursor: grouped.data!.nextCursor!,
          });
          assert.deepEqual(next.data!.folders, [{ key: "reports", name: "reports/" }]);
          assert.equal(next.data!.hasNext, false);

          const inListV2 = await storage.from("list-v2").list();
          assert.deepEqual(inListV2.data, [], "Nothing was written into the bucket list-v2");
        },
      );

      await t.step("a request without a token gets Storage's message", async () => {
        const response = await fetch(`${stack.apiUrl}/storage/v1/bucket`);
        assert.equal(response.status, 400);
        const body = await response.json();
        assert.equal(body.message, "Invalid Compact JWS");
        assert.equal(body.statusCode, "403");
      });

      await t.step(
        "a signed URL with an image transform is refused, not silently plain",
        async () => {
          const transformed = await storage.from("docs").createSignedUrl("a.txt", 60, {
            transform: { width: 100, height: 100 },
          });
          assert.equal(transformed.data, null);
          assert.match(transformed.error!.message, /Image transformations are not emulated/);
          const plain = await storage.from("docs").createSignedUrl("a.txt", 60, { transform: {} });
          assert.equal(plain.error, null);
          assert.match(plain.data!.signedUrl, /\/object\/sign\/docs\/a\.txt\?token=/);
        },
      );
    } finally {
      await stack.stop();
    }
  },
});
