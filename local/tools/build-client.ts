/**
 * `npx deno task build:client [outDir]`: compiles the typed client (`shared/mod.ts` and the
 * contracts it re-exports) to ESM JavaScript with `.d.ts` declarations, default `shared/dist/`,
 * so Node 20+ and bundlers can import it: no `.ts` specifiers (TypeScript rewrites relative
 * imports to `.js`), no Deno APIs. Its runtime dependencies are `zod` and, for the types,
 * `@supabase/supabase-js`.
 *
 *   import { createAgentClient } from "<this repo>/shared/dist/index.js";
 */
// deno-lint-ignore-file no-console
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** Compiles the client into `outDir`; throws with the compiler's diagnostics on failure. */
export async function buildClient(outDir = join(ROOT, "shared", "dist")): Promise<string> {
  const options: ts.CompilerOptions = {
    target: ts.ScriptTarget.ES2022,
    // ESM whatever the nearest package.json says; relative imports get their .js extension.
    module: ts.ModuleKind.ES2022,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    lib: ["lib.es2022.d.ts", "lib.dom.d.ts", "lib.dom.iterable.d.ts"],
    declaration: true,
    strict: true,
    skipLibCheck: true,
    allowImportingTsExtensions: true,
    rewriteRelativeImportExtensions: true,
    rootDir: ROOT,
    outDir,
    noEmitOnError: true,
    types: [],
  };
  const program = ts.createProgram([join(ROOT, "shared", "mod.ts")], options);
  const result = program.emit();
  const diagnostics = [...ts.getPreEmitDiagnostics(program), ...result.diagnostics];
  if (diagnostics.length || result.emitSkipped) {
    const host: ts.FormatDiagnosticsHost = {
      getCanonicalFileName: (f) => f,
      getCurrentDirectory: () => ROOT,
      getNewLine: () => "\n",
    };
    throw new Error(`The client does not compile:\n${ts.formatDiagnostics(diagnostics, host)}`);
  }
  // Node needs "type": "module" to load .js files as ESM; the entry point re-exports shared/.
  await Deno.writeTextFile(join(outDir, "package.json"), '{ "type": "module" }\n');
  await Deno.writeTextFile(join(outDir, "index.js"), 'export * from "./shared/mod.js";\n');
  await Deno.writeTextFile(join(outDir, "index.d.ts"), 'export * from "./shared/mod.js";\n');
  return outDir;
}

if (import.meta.main) {
  const out = await buildClient(Deno.args[0]);
  console.error(`built the client into ${out} (import ${join(out, "index.js")})`);
}
