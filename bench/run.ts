/**
 * `npx deno task bench [--quick] [scenario ...]`: runs the scenarios one after another (so they
 * do not compete for the two cores), each in its own process, prints a progress line per
 * scenario on stderr and a table on stdout, and writes one JSON document to
 * `bench/results/<timestamp>.json`:
 *
 *   { "at", "machine": {...}, "quick", "scenarios": { "<name>": { "ratio": ..., ... } } }
 *
 * Every scenario measures the product's way and a baseline in the same run; `ratio` is product
 * speed / baseline speed (above 1: the product is faster). `--quick` runs a tenth of the sizes.
 * Scenarios not in the default set (`vector_storage`, `wire`) run when named.
 */
// deno-lint-ignore-file no-console
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const here = fileURLToPath(new URL(".", import.meta.url));

/** Scenario name -> the script that measures it (one script may measure several). */
const SCENARIOS: Record<string, string> = {
  vector_search: "vector-search.ts",
  filtered_search: "vector-search.ts",
  ingest: "ingest.ts",
  function_overhead: "function-overhead.ts",
  rollup_incremental: "rollup-incremental.ts",
  cleanup: "cleanup.ts",
  startup: "startup.ts",
  agent_roundtrip: "agent-roundtrip.ts",
  embedding_pipeline: "embedding-pipeline.ts",
};
const EXTRA: Record<string, string> = {
  vector_storage: "vector-storage.ts",
  wire: "wire.ts",
};

const quick = Deno.args.includes("--quick");
const named = Deno.args.filter((a) => !a.startsWith("--"));
for (const name of named) {
  if (!SCENARIOS[name] && !EXTRA[name]) {
    console.error(
      `Unknown scenario "${name}". Known: ${
        [...Object.keys(SCENARIOS), ...Object.keys(EXTRA)].join(", ")
      }`,
    );
    Deno.exit(2);
  }
}
const wanted = named.length ? named : Object.keys(SCENARIOS);
// Scripts to run, in order, each once even when it measures several wanted scenarios.
const scripts = [...new Set(wanted.map((n) => SCENARIOS[n] ?? EXTRA[n]!))];

const results: Record<string, Record<string, unknown>> = {};
let failed = false;
for (const [i, script] of scripts.entries()) {
  const names = wanted.filter((n) => (SCENARIOS[n] ?? EXTRA[n]) === script);
  const label = names.join(", ");
  const started = performance.now();
  console.error(`[${i + 1}/${scripts.length}] ${label}...`);
  const exists = await Deno.stat(join(here, script)).then(() => true, () => false);
  if (!exists) {
    for (const n of names) results[n] = { error: `bench/${script} does not exist yet` };
    failed = true;
    console.error(`[${i + 1}/${scripts.length}] ${label}: missing bench/${script}`);
    continue;
  }
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", join(here, script), ...(quick ? ["--quick"] : [])],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  const lines = new TextDecoder().decode(stdout).trim().split("\n");
  try {
    if (code !== 0) throw new Error(`exit code ${code}`);
    const parsed = JSON.parse(lines.at(-1) ?? "") as Record<string, unknown>;
    // A script prints `{ "<scenario>": {...}, ... }`, or one scenario's figures directly.
    const byName = names.every((n) => n in parsed) ? parsed : { [names[0]!]: parsed };
    for (const n of names) results[n] = byName[n] as Record<string, unknown>;
    console.error(`[${i + 1}/${scripts.length}] ${label} done in ${seconds} s`);
  } catch (error) {
    failed = true;
    const tail = new TextDecoder().decode(stderr).split("\n").filter((l) =>
      !/wasm-function/.test(l)
    )
      .slice(-15).join("\n");
    for (const n of names) results[n] = { error: String(error), stderr: tail };
    console.error(`[${i + 1}/${scripts.length}] ${label} FAILED after ${seconds} s: ${error}`);
  }
}

const document = {
  at: new Date().toISOString(),
  machine: {
    deno: Deno.version.deno,
    os: Deno.build.os,
    arch: Deno.build.arch,
    cores: navigator.hardwareConcurrency,
    memory_gib: Math.round(Deno.systemMemoryInfo().total / 2 ** 30),
  },
  quick,
  scenarios: results,
};
await Deno.mkdir(join(here, "results"), { recursive: true });
const file = join(here, "results", `${document.at.replaceAll(":", "-")}.json`);
await Deno.writeTextFile(file, JSON.stringify(document, null, 2) + "\n");

console.log(table(results));
console.log(`\nJSON: ${file}`);
Deno.exit(failed ? 1 : 0);

/** One row per scenario: its ratio and its headline figures. */
function table(rows: Record<string, Record<string, unknown>>): string {
  const lines = [["scenario", "ratio", "figures"]];
  for (const [name, figures] of Object.entries(rows)) {
    const ratio = figures.ratio === undefined ? "-" : String(figures.ratio);
    const rest = figures.error
      ? `error: ${figures.error}`
      : Object.entries(figures).filter(([k]) => k !== "ratio").map(([k, v]) =>
        `${k}=${typeof v === "object" ? JSON.stringify(v) : v}`
      ).join(" ");
    lines.push([name, ratio, rest.length > 160 ? rest.slice(0, 157) + "..." : rest]);
  }
  const w0 = Math.max(...lines.map((l) => l[0]!.length));
  const w1 = Math.max(...lines.map((l) => l[1]!.length));
  return lines.map((l) => `${l[0]!.padEnd(w0)}  ${l[1]!.padStart(w1)}  ${l[2]}`).join("\n");
}
