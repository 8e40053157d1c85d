/**
 * The typed client from a plain Node 20 script, as a client app would use it: compiled with
 * `build:client` (ESM + .d.ts), a TypeScript consumer type-checked against the declarations, and
 * a Node program calling routes through supabase-js against the local stack. And the same client
 * from Deno (shared/mod.ts), with errors as AgentBackendError.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { createClient } from "@supabase/supabase-js";
import ts from "typescript";
// The Node program below imports ws (Node 20 has no WebSocket); importing it here makes Deno
// install it into node_modules on a fresh clone.
import "ws";
import { buildClient } from "../../local/tools/build-client.ts";
import { REPO_ROOT, type Stack, startStack } from "../../local/stack.ts";
import { AgentBackendError, createAgentClient } from "../../shared/mod.ts";

const CONSUMER = `
import { createClient } from "@supabase/supabase-js";
import WebSocket from "ws";
import { AgentBackendError, createAgentClient, type Database } from "./index.js";

// Node 20 has no global WebSocket; supabase-js's Realtime takes one (Node 22+ needs nothing).
const supabase = createClient<Database>(process.env.SUPABASE_URL!, process.env.SUPABASE_ANON_KEY!, {
  realtime: { transport: WebSocket as unknown as typeof globalThis.WebSocket },
});
await supabase.auth.signInWithPassword({ email: "alice@acme.test", password: "password123" });
const agents = createAgentClient(supabase);
const me = await agents.whoami();
const { data: agent } = await supabase.from("agents").select("id, name").limit(1).single();
const answer = await agents.executeAgent({ agent_id: agent!.id, input: "What does the warranty cover?" });
const streamed: string[] = [];
let done: string | undefined;
for await (const event of agents.streamAgent({ agent_id: agent!.id, input: "Warranty?" })) {
  if (event.type === "delta") streamed.push(event.text);
  else done = event.execution_id;
}
const tracked = await agents.trackEvents({ events: [{ name: "client.node_test" }] });
let refused: { code: string; status: number; requestId: string | null } | undefined;
try {
  await agents.executeAgent({ agent_id: "00000000-0000-0000-0000-000000000000", input: "hi" });
} catch (error) {
  if (error instanceof AgentBackendError) {
    refused = { code: error.code, status: error.status, requestId: error.requestId };
  }
}
console.log(JSON.stringify({
  user: me.user.email,
  status: answer.status,
  sources: answer.sources.length,
  deltas: streamed.length,
  done,
  accepted: tracked.accepted,
  refused,
}));
`;

Deno.test("the typed client compiles for Node and runs there, and from Deno", async (t) => {
  const workDir = join(REPO_ROOT, ".local", `client-node-${crypto.randomUUID().slice(0, 8)}`);
  let stack: Stack | undefined;
  try {
    await t.step(
      "build:client emits ESM with declarations, and a consumer type-checks",
      async () => {
        await buildClient(workDir);
        await Deno.writeTextFile(join(workDir, "consumer.ts"), CONSUMER);
        const program = ts.createProgram([join(workDir, "consumer.ts")], {
          target: ts.ScriptTarget.ES2022,
          module: ts.ModuleKind.NodeNext,
          moduleResolution: ts.ModuleResolutionKind.NodeNext,
          lib: ["lib.es2022.d.ts", "lib.dom.d.ts", "lib.dom.iterable.d.ts"],
          strict: true,
          noEmit: true,
          skipLibCheck: true,
          types: [],
        });
        // Node's own types (process) and ws's (no @types here) are not what this checks.
        const diagnostics = ts.getPreEmitDiagnostics(program).filter((d) =>
          !/process|module 'ws'/.test(ts.flattenDiagnosticMessageText(d.messageText, "\n"))
        );
        assert.deepEqual(
          diagnostics.map((d) => ts.flattenDiagnosticMessageText(d.messageText, "\n")),
          [],
        );
        const js = ts.transpileModule(CONSUMER, {
          compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
        }).outputText;
        await Deno.writeTextFile(join(workDir, "consumer.js"), js);
      },
    );

    stack = await startStack({
      apiPort: 0,
      dbPort: null,
      dataDir: null,
      workers: false,
      functionLogLevel: "error",
    });

    await t.step("a Node 20 program calls the functions through the compiled client", async () => {
      const { code, stdout, stderr } = await new Deno.Command("node", {
        args: [join(workDir, "consumer.js")],
        cwd: workDir,
        env: { SUPABASE_URL: stack!.apiUrl, SUPABASE_ANON_KEY: stack!.anonKey },
        stdout: "piped",
        stderr: "piped",
      }).output();
      const err = new TextDecoder().decode(stderr);
      assert.equal(code, 0, err.slice(-2000));
      const out = JSON.parse(new TextDecoder().decode(stdout).trim().split("\n").at(-1)!);
      assert.equal(out.user, "alice@acme.test");
      assert.equal(out.status, "completed");
      assert.ok(out.deltas > 0, "the stream yields deltas");
      assert.match(out.done, /^[0-9a-f-]{36}$/);
      assert.equal(out.accepted, 1);
      assert.equal(out.refused.code, "not_found");
      assert.equal(out.refused.status, 404);
      assert.match(out.refused.requestId, /.+/);
    });

    await t.step("from Deno: typed results and AgentBackendError with the error body", async () => {
      const supabase = createClient(stack!.apiUrl, stack!.anonKey, {
        auth: { persistSession: false, autoRefreshToken: false },
      });
      await supabase.auth.signInWithPassword({ email: "bob@acme.test", password: "password123" });
      const agents = createAgentClient(supabase);
      const me = await agents.whoami();
      assert.equal(me.user.email, "bob@acme.test");
      const { data: acme } = await supabase.from("organizations").select("id").eq("slug", "acme")
        .single();
      await assert.rejects(
        agents.analyticsSummary({ granularity: "hour", organization_id: acme!.id }),
        (error) =>
          error instanceof AgentBackendError && error.code === "forbidden" &&
          error.status === 403,
        "bob is a member, not an admin: 403",
      );
      await assert.rejects(
        agents.trackEvents({ events: [] }),
        (error) =>
          error instanceof AgentBackendError && error.code === "invalid_request" &&
          error.status === 400 && Array.isArray(error.details),
      );
      const openapi = await fetch(`${stack!.apiUrl}/docs/openapi.json`);
      assert.equal(openapi.status, 200);
      const document = await openapi.json();
      assert.equal(document.openapi, "3.1.0");
      assert.ok(document.paths["/execute-agent"].post.requestBody);
      const anonymous = createAgentClient(
        createClient(stack!.apiUrl, stack!.anonKey, { auth: { persistSession: false } }),
      );
      await assert.rejects(
        anonymous.whoami(),
        (error) => error instanceof AgentBackendError && error.status === 401,
      );
    });
  } finally {
    await stack?.stop();
    await Deno.remove(workDir, { recursive: true }).catch(() => {});
  }
});
