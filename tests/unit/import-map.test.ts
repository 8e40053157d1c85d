/**
 * supabase/functions/import_map.json is what the Supabase CLI resolves the functions' imports with
 * when it deploys them (it cannot see the root deno.json). It must name exactly the versions
 * deno.json pins, and cover every bare specifier the functions import.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const readJson = async (path: string) => JSON.parse(await Deno.readTextFile(join(ROOT, path)));

async function sourceFiles(dir: string): Promise<string[]> {
  const files: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    const path = join(dir, entry.name);
    if (entry.isDirectory) files.push(...await sourceFiles(path));
    else if (entry.name.endsWith(".ts")) files.push(path);
  }
  return files;
}

Deno.test("the functions' import map pins the same versions as deno.json", async () => {
  const functionsMap: Record<string, string> =
    (await readJson("supabase/functions/import_map.json")).imports;
  const denoImports: Record<string, string> = (await readJson("deno.json")).imports;
  for (const [specifier, target] of Object.entries(functionsMap)) {
    assert.equal(
      target,
      denoImports[specifier],
      `import_map.json "${specifier}" differs from deno.json`,
    );
  }
});

Deno.test("every bare specifier imported under supabase/functions is in the import map", async () => {
  const functionsMap: Record<string, string> =
    (await readJson("supabase/functions/import_map.json")).imports;
  const missing = new Set<string>();
  for (const file of await sourceFiles(join(ROOT, "supabase/functions"))) {
    const text = await Deno.readTextFile(file);
    for (const [, specifier] of text.matchAll(/(?:from|import)\s*\(?\s*["']([^"'.][^"']*)["']/g)) {
      if (/^(node:|npm:|jsr:|https?:)/.test(specifier!)) continue;
      const mapped = specifier! in functionsMap ||
        Object.keys(functionsMap).some((k) => k.endsWith("/") && specifier!.startsWith(k));
      if (!mapped) missing.add(`${specifier} (${file.slice(ROOT.length)})`);
    }
  }
  assert.deepEqual([...missing], [], "add these to supabase/functions/import_map.json");
});

Deno.test("functions import nothing from outside supabase/functions", async () => {
  const escapes: string[] = [];
  const base = join(ROOT, "supabase/functions");
  for (const file of await sourceFiles(base)) {
    const text = await Deno.readTextFile(file);
    for (const [, specifier] of text.matchAll(/(?:from|import)\s*\(?\s*["'](\.[^"']*)["']/g)) {
      const target = join(file, "..", specifier!);
      if (!target.startsWith(base)) escapes.push(`${file.slice(ROOT.length)} -> ${specifier}`);
    }
  }
  assert.deepEqual(escapes, []);
});
