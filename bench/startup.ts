/**
 * Scenario `startup`: time from process start to the first answered request, per function
 * module, as the isolated functions mode (local/isolates.ts) starts them: a Deno process per
 * function running local/isolate-boot.ts with the function's index.ts and the functions' import
 * map, in the edge runtime's environment. The first request is a POST without a token (each
 * function answers it, 401, after loading its whole module graph and Deps). Baseline: a bare
 * `Deno.serve(() => new Response("ok"))` module started the same way.
 *
 * The module cache is warm (one unmeasured start of each first), as on a deployed runtime; the
 * figure is the median of a few starts. ratio = bare median / the functions' median of medians.
 *
 *   npx deno run -A bench/startup.ts [--quick]
 */
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { QUICK, REPO_ROOT, report, round } from "./lib.ts";

const RUNS = QUICK ? 1 : 3;
const FUNCTIONS = [
  "whoami",
  "execute-agent",
  "message-preprocess",
  "conversation-summarize",
  "file-processor",
  "analytics-tracker",
  "cleanup-old",
];
const BOOT = join(REPO_ROOT, "local", "isolate-boot.ts");
const IMPORT_MAP = join(REPO_ROOT, "supabase", "functions", "import_map.json");
const READY = "@@local-isolate ";

// The edge runtime's variables; nothing listens at these addresses (the first request needs none).
const ENV: Record<string, string> = {
  SUPABASE_URL: "http://127.0.0.1:9",
  SUPABASE_ANON_KEY: "bench-anon-key",
  SUPABASE_SERVICE_ROLE_KEY: "bench-service-role-key",
  SUPABASE_DB_URL: "postgresql://postgres:postgres@127.0.0.1:9/postgres",
  SUPABASE_JWKS: JSON.stringify({
    keys: [{ kty: "oct", k: btoa("bench-jwt-secret-0123456789abcdef0123"), alg: "HS256" }],
  }),
};

/** Starts `entry` like isolates.ts does; ms until its first request is answered. */
async function start(entry: string, name: string): Promise<number> {
  const started = performance.now();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", `--import-map=${IMPORT_MAP}`, BOOT, pathToFileURL(entry).href],
    cwd: REPO_ROOT,
    env: ENV,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  try {
    const port = await readyPort(child.stdout);
    const response = await fetch(`http://127.0.0.1:${port}/${name}`, { method: "POST" });
    await response.body?.cancel();
    if (response.status >= 500) throw new Error(`${name}: first answer ${response.status}`);
    return performance.now() - started;
  } finally {
    child.kill("SIGKILL");
    await child.status;
    await child.stderr.cancel().catch(() => {});
  }
}

async function readyPort(stream: ReadableStream<Uint8Array>): Promise<number> {
  const decoder = new TextDecoder();
  let buffer = "";
  const reader = stream.getReader();
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) throw new Error("The function exited before listening");
      buffer += decoder.decode(value, { stream: true });
      const line = buffer.split("\n").find((l) => l.startsWith(READY));
      if (line) return (JSON.parse(line.slice(READY.length)) as { port: number }).port;
    }
  } finally {
    reader.releaseLock();
    stream.cancel().catch(() => {});
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const bareDir = await Deno.makeTempDir({ prefix: "bench-startup-" });
try {
  const bare = join(bareDir, "index.ts");
  await Deno.writeTextFile(bare, 'Deno.serve(() => new Response("ok"));\n');
  const entries: Array<[string, string]> = [
    ["bare_deno_serve", bare],
    ...FUNCTIONS.map((f): [string, string] => [
      f,
      join(REPO_ROOT, "supabase", "functions", f, "index.ts"),
    ]),
  ];
  const figures: Record<string, { median_ms: number; runs_ms: number[] }> = {};
  for (const [name, entry] of entries) {
    await start(entry, name); // warm the module cache
    const runs: number[] = [];
    for (let i = 0; i < RUNS; i++) runs.push(await start(entry, name));
    figures[name] = { median_ms: round(median(runs), 0), runs_ms: runs.map((r) => round(r, 0)) };
  }
  const functions = FUNCTIONS.map((f) => figures[f]!.median_ms);
  await report({
    startup: {
      ratio: round(figures.bare_deno_serve!.median_ms / median(functions), 2),
      quick: QUICK,
      runs: RUNS,
      bare_deno_serve_ms: figures.bare_deno_serve!.median_ms,
      functions_median_ms: median(functions),
      per_function_ms: Object.fromEntries(FUNCTIONS.map((f) => [f, figures[f]!.median_ms])),
    },
  });
} finally {
  await Deno.remove(bareDir, { recursive: true });
}
