/**
 * `npx deno task start` stopped the way process managers and IDEs stop it: SIGTERM to the npx
 * process only (npx does not pass it on). The stack must notice that its parents are gone and
 * stop cleanly: the API port closed, the stack's process gone and the data folder's lock free.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

async function eventually(
  what: string,
  probe: () => Promise<boolean>,
  ms: number,
  output: () => string,
) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await probe()) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`Timed out waiting for ${what}. Output:\n${output()}`);
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

Deno.test("SIGTERM to the npx process stops the stack and frees the port and the data folder", async () => {
  const apiPort = freePort();
  const dataDir = await Deno.makeTempDir({ prefix: "start-sigterm-" });
  const apiUrl = `http://127.0.0.1:${apiPort}`;
  const npx = new Deno.Command("npx", {
    args: ["deno", "task", "start"],
    cwd: ROOT,
    env: { API_PORT: String(apiPort), DB_PORT: String(freePort()), LOCAL_DATA_DIR: dataDir },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let text = "";
  const decoder = new TextDecoder();
  const collect = async (stream: ReadableStream<Uint8Array>) => {
    for await (const chunk of stream) text += decoder.decode(chunk);
  };
  const collecting = Promise.all([collect(npx.stdout), collect(npx.stderr)]);
  const output = () => text;
  const lock = join(dataDir, "stack.lock");
  let stackPid = 0;
  try {
    await eventually(
      "/health",
      async () => {
        const response = await fetch(`${apiUrl}/health`).catch(() => null);
        await response?.body?.cancel();
        return response?.status === 200;
      },
      120_000,
      output,
    );
    stackPid = Number((await Deno.readTextFile(lock)).trim());
    assert.ok(stackPid > 0 && stackPid !== npx.pid, "the lock names the stack's own process");

    npx.kill("SIGTERM");
    await npx.status;

    await eventually(
      "the API port to close",
      async () => {
        const response = await fetch(`${apiUrl}/health`).catch(() => null);
        await response?.body?.cancel();
        return response === null;
      },
      30_000,
      output,
    );
    await eventually(
      "the data folder's lock to be released",
      async () => !(await exists(lock)),
      30_000,
      output,
    );
    await eventually(
      "the stack's process to exit",
      async () => !(await exists(`/proc/${stackPid}`)),
      30_000,
      output,
    );
    assert.match(text, /parent process \d+ exited, stopping\.\.\.\n/);
    assert.match(text, /Stopped\. The data is saved\./);
  } finally {
    if (stackPid && await exists(`/proc/${stackPid}`)) Deno.kill(stackPid, "SIGKILL");
    try {
      npx.kill("SIGKILL");
    } catch {
      // already gone
    }
    await collecting;
    await Deno.remove(dataDir, { recursive: true });
  }
});
