/**
 * Hot reload of the functions (local/hot-reload.ts) on a throwaway project: an edit to a
 * function's own file, an edit to a `_shared` module it imports, a new function folder, and a
 * function that fails to load, all picked up by a running stack without a restart, the other
 * functions serving throughout.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { startStack } from "../../local/stack.ts";

const root = await Deno.makeTempDir({ prefix: "hot-reload-" });
const functionsDir = join(root, "supabase", "functions");
await Deno.mkdir(join(functionsDir, "_shared"), { recursive: true });
await Deno.mkdir(join(functionsDir, "hello"), { recursive: true });
await Deno.mkdir(join(root, "supabase", "migrations"), { recursive: true });
await Deno.writeTextFile(
  join(root, "supabase", "config.toml"),
  'project_id = "hot-reload"\n\n[functions.hello]\nverify_jwt = false\n',
);
await writeShared("shared v1");
await writeHello("hello v1");

function writeShared(text: string): Promise<void> {
  return Deno.writeTextFile(
    join(functionsDir, "_shared", "greeting.ts"),
    `export const shared = ${JSON.stringify(text)};\n`,
  );
}

function writeHello(text: string): Promise<void> {
  return Deno.writeTextFile(
    join(functionsDir, "hello", "app.ts"),
    `import { Hono } from "hono";
import { shared } from "../_shared/greeting.ts";
export function createApp() {
  return new Hono().get("/hello", (c) => c.text(${JSON.stringify(text)} + " / " + shared));
}
`,
  );
}

const stack = await startStack({
  rootDir: root,
  apiPort: 0,
  dbPort: null,
  dataDir: null,
  workers: false,
  watchFunctions: true,
  functionLogLevel: "error",
});

async function call(name: string): Promise<{ status: number; text: string }> {
  const response = await fetch(`${stack.apiUrl}/functions/v1/${name}`, {
    headers: { authorization: `Bearer ${stack.serviceRoleKey}` },
  });
  return { status: response.status, text: await response.text() };
}

/** Polls until the function answers `expected` (a reload takes a moment after the write). */
async function until(name: string, expected: string, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  let last = { status: 0, text: "" };
  while (Date.now() < deadline) {
    last = await call(name);
    if (last.text === expected) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`/functions/v1/${name} still answers ${last.status} ${last.text}, not "${expected}"`);
}

Deno.test("an edited function is served without a restart", async () => {
  assert.deepEqual(await call("hello"), { status: 200, text: "hello v1 / shared v1" });
  await writeHello("hello v2");
  await until("hello", "hello v2 / shared v1");
});

Deno.test("an edited _shared module reaches the functions that import it", async () => {
  await writeShared("shared v2");
  await until("hello", "hello v2 / shared v2");
});

Deno.test("a new function folder is served without a restart", async () => {
  assert.equal((await call("bye")).status, 404);
  await Deno.mkdir(join(functionsDir, "bye"));
  await Deno.writeTextFile(
    join(functionsDir, "bye", "app.ts"),
    `import { Hono } from "hono";
export const createApp = () => new Hono().get("/bye", (c) => c.text("bye"));
`,
  );
  await until("bye", "bye");
});

Deno.test("a function that fails to load answers 503 BOOT_ERROR while the others serve", async () => {
  await Deno.mkdir(join(functionsDir, "broken"));
  await Deno.writeTextFile(
    join(functionsDir, "broken", "app.ts"),
    `import { missing } from "./nowhere.ts";\nexport const createApp = () => missing;\n`,
  );
  await until(
    "broken",
    JSON.stringify({
      code: "BOOT_ERROR",
      message: "Worker failed to boot (please check logs)",
    }),
  );
  assert.equal((await call("broken")).status, 503);
  assert.deepEqual(await call("hello"), { status: 200, text: "hello v2 / shared v2" });
  assert.deepEqual(await call("bye"), { status: 200, text: "bye" });
});

Deno.test("teardown", async () => {
  await stack.stop();
  await Deno.remove(root, { recursive: true });
});
