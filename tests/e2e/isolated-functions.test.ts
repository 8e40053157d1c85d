/**
 * Isolated functions mode: each function runs from its own index.ts in its own process with the
 * edge runtime's environment, so the hosted entry path (loadDeps, postgres.js over the wire port,
 * the import map) runs; a function that fails to boot answers the edge runtime's 503 BOOT_ERROR
 * while the other functions, auth, storage and the database keep serving.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { createClient } from "@supabase/supabase-js";
import type { IsolatedFunction } from "../../local/isolates.ts";
import { startStack } from "../../local/stack.ts";

const FIXTURE = fileURLToPath(new URL("../fixtures/isolated", import.meta.url));

Deno.test({
  name: "isolated functions: the hosted entry path runs, and a broken import stops only itself",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const stack = await startStack({
      rootDir: FIXTURE,
      apiPort: 0,
      dbPort: 0,
      dataDir: null,
      workers: false,
      functionsMode: "isolated",
      functionLogLevel: "error",
      functionLogSink: () => {},
    });
    try {
      const broken = await fetch(`${stack.apiUrl}/functions/v1/broken`, { method: "POST" });
      assert.equal(broken.status, 503);
      assert.deepEqual(await broken.json(), {
        code: "BOOT_ERROR",
        message: "Worker failed to boot (please check logs)",
      });
      const bootError = (stack.functions.get("broken") as IsolatedFunction).bootError;
      assert.match(bootError ?? "", /"croner" not a dependency and not in import map/);

      const hello = await fetch(`${stack.apiUrl}/functions/v1/hello`, {
        headers: { authorization: `Bearer ${stack.anonKey}` },
      });
      assert.equal(hello.status, 200);
      const body = await hello.json();
      assert.notEqual(body.pid, Deno.pid, "It runs in a process of its own");
      assert.equal(body.supabaseUrl, stack.apiUrl);
      assert.equal(body.dbUrl, stack.dbUrl, "SUPABASE_DB_URL is the stack's wire port");
      assert.equal(body.edgeRuntime, "object");
      assert.ok(body.jobSecret, "The functions get the job secret");
      assert.equal(body.jobSecret, stack.functionEnv.JOB_SECRET);
      assert.equal(body.role, "service_role");
      assert.equal(body.answer, 42);

      const unauthorized = await fetch(`${stack.apiUrl}/functions/v1/hello`);
      assert.equal(unauthorized.status, 401, "verify_jwt still applies at the gateway");

      const auth = await createClient(stack.apiUrl, stack.anonKey, {
        auth: { persistSession: false, autoRefreshToken: false },
      }).auth.signUp({ email: "isolated@example.test", password: "correct horse battery" });
      assert.equal(auth.error, null, "Auth keeps serving");
      const health = await fetch(`${stack.apiUrl}/health`);
      assert.equal((await health.json()).status, "ok");
    } finally {
      await stack.stop();
    }
  },
});
