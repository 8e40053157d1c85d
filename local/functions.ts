/**
 * Loads the edge functions into the local stack. Each `supabase/functions/<name>/` folder (not
 * `_shared`, not hidden) with an `app.ts` exporting `createApp(deps)` is served at
 * `/functions/v1/<name>`, with verify_jwt from `[functions.<name>]` in config.toml (default true,
 * as the CLI). The app receives the same `Deps` shape as on hosted, built for the local stack:
 * the in-process database driver, the stack's keys and URLs.
 *
 * `index.ts` (the hosted entrypoint) is not used locally: it only wires `loadDeps()` into
 * `Deno.serve(createApp(deps).fetch)`, and the stack does the wiring itself.
 */
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import type { Deps } from "../supabase/functions/_shared/deps.ts";
import type { FunctionSettings } from "./config.ts";
import type { WorkerLog } from "./workers/log.ts";

export interface LocalFunction {
  name: string;
  verifyJwt: boolean;
  fetch(request: Request): Response | Promise<Response>;
}

/** A function defined outside supabase/functions (test fixtures). */
export interface FunctionDefinition {
  createApp(deps: Deps): { fetch(request: Request): Response | Promise<Response> };
  verifyJwt?: boolean;
}

type AppModule = { createApp?: FunctionDefinition["createApp"] };

/**
 * Finds and builds every function app under `functionsDir`. A function that fails to load (a
 * syntax error, a bad import, a throwing createApp) is logged and answers the edge runtime's
 * 503 `BOOT_ERROR`; the others are served.
 */
export async function loadFunctions(
  functionsDir: string,
  settings: Record<string, FunctionSettings>,
  deps: Deps,
  log: WorkerLog = () => {},
): Promise<LocalFunction[]> {
  const loaded: LocalFunction[] = [];
  for (const name of await functionFolders(functionsDir)) {
    const config = settings[name];
    if (config?.enabled === false) continue;
    const verifyJwt = config?.verify_jwt ?? true;
    const entry = join(functionsDir, name, "app.ts");
    try {
      const module = (await import(pathToFileURL(entry).href)) as AppModule;
      if (typeof module.createApp !== "function") {
        throw new Error(`${entry} must export createApp(deps)`);
      }
      const app = module.createApp(deps);
      loaded.push({ name, verifyJwt, fetch: (r) => app.fetch(r) });
    } catch (error) {
      log({ level: "error", msg: "Function failed to boot", fn: name, error: String(error) });
      loaded.push({ name, verifyJwt, fetch: bootError });
    }
  }
  return loaded;
}

/** What the edge runtime answers for a function whose worker could not start. */
function bootError(): Response {
  return Response.json(
    { code: "BOOT_ERROR", message: "Worker failed to boot (please check logs)" },
    { status: 503 },
  );
}

/** Builds the extra (test fixture) functions. */
export function defineFunctions(
  definitions: Record<string, FunctionDefinition>,
  deps: Deps,
): LocalFunction[] {
  return Object.entries(definitions).map(([name, definition]) => {
    const app = definition.createApp(deps);
    return { name, verifyJwt: definition.verifyJwt ?? true, fetch: (r) => app.fetch(r) };
  });
}

async function functionFolders(dir: string): Promise<string[]> {
  const names: string[] = [];
  try {
    for await (const entry of Deno.readDir(dir)) {
      if (!entry.isDirectory || entry.name.startsWith("_") || entry.name.startsWith(".")) continue;
      try {
        await Deno.stat(join(dir, entry.name, "app.ts"));
        names.push(entry.name);
      } catch {
        // A folder without app.ts is not a function of this project's shape.
      }
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  return names.sort();
}

const background = new Set<Promise<unknown>>();

/**
 * `EdgeRuntime.waitUntil` for functions running in the local stack: the edge runtime keeps a
 * worker alive until such promises settle; here the stack waits for them when it stops.
 */
export function installEdgeRuntime(): void {
  const global = globalThis as { EdgeRuntime?: { waitUntil<T>(p: T): T } };
  if (global.EdgeRuntime) return;
  global.EdgeRuntime = {
    waitUntil<T>(value: T): T {
      if (value instanceof Promise) {
        const tracked: Promise<unknown> = value.catch(() => {}).finally(() =>
          background.delete(tracked)
        );
        background.add(tracked);
      }
      return value;
    },
  };
}

/** Resolves when all background work registered with EdgeRuntime.waitUntil has settled. */
export async function settleBackgroundWork(): Promise<void> {
  while (background.size > 0) await Promise.allSettled([...background]);
}
