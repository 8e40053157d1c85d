/**
 * `deno task bench`: runs every scenario in bench/ (each a script printing one JSON object, with
 * its figures as ratios against a baseline measured in the same run) one after another, so they
 * do not compete for the two cores, and prints one JSON document:
 * `{ "machine": {...}, "scenarios": { "<name>": {...} } }`. Pass names to run only some:
 * `deno task bench wire`. The document is also written to bench/out/<timestamp>.json.
 */
// deno-lint-ignore-file no-console
import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = fileURLToPath(new URL(".", import.meta.url));
const wanted = new Set(Deno.args);
const scenarios: string[] = [];
for await (const entry of Deno.readDir(here)) {
  const name = basename(entry.name, ".ts");
  if (!entry.isFile || !entry.name.endsWith(".ts") || name === "run") continue;
  if (wanted.size === 0 || wanted.has(name)) scenarios.push(name);
}
scenarios.sort();

const results: Record<string, unknown> = {};
let failed = false;
for (const name of scenarios) {
  console.error(`bench: ${name}...`);
  const started = performance.now();
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", join(here, `${name}.ts`)],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(stdout).trim();
  try {
    if (code !== 0) throw new Error(`exit code ${code}`);
    results[name] = JSON.parse(text.slice(text.indexOf("{")));
  } catch (error) {
    failed = true;
    results[name] = {
      error: String(error),
      stderr: new TextDecoder().decode(stderr).slice(-2000),
    };
  }
  console.error(`bench: ${name} done in ${((performance.now() - started) / 1000).toFixed(1)} s`);
}

const document = {
  at: new Date().toISOString(),
  machine: {
    deno: Deno.version.deno,
    os: Deno.build.os,
    arch: Deno.build.arch,
    cores: navigator.hardwareConcurrency,
  },
  scenarios: results,
};
const json = JSON.stringify(document, null, 2);
await Deno.mkdir(join(here, "out"), { recursive: true });
await Deno.writeTextFile(join(here, "out", `${document.at.replaceAll(":", "-")}.json`), json);
console.log(json);
Deno.exit(failed ? 1 : 0);
