/**
 * Hot reload of the edge functions, as `supabase functions serve` does: editing a file under
 * supabase/functions (a function's own files or `_shared`) reloads the functions without
 * restarting the stack, and a new function folder is served at once.
 *
 * Deno caches a module graph by URL for the life of the process: importing `app.ts?v=2` would
 * evaluate app.ts again but keep every module it imports, `_shared` included. So each reload
 * copies supabase/functions into a fresh folder (one "generation") and imports the apps from
 * there: every module gets a new URL, hence a fresh graph. The stack's own deps (database driver,
 * logger, AI provider) keep their modules; errors crossing between the two copies are recognised
 * by shape (see `toAppError` in _shared/http/app.ts). Old generations stay in memory (V8 never
 * unloads modules), a few hundred kilobytes each, until the stack stops.
 *
 * Isolated functions (local/isolates.ts) run in their own processes: a reload restarts them from
 * the original folder.
 */
import { join, relative, sep } from "node:path";
import type { LocalFunction } from "./functions.ts";
import type { WorkerLog } from "./workers/log.ts";

export interface FunctionSet {
  functions: LocalFunction[];
  /** Stops what this set started (isolated processes); called when a newer set replaces it. */
  stop?: () => Promise<void>;
}

export interface HotReloadOptions {
  /** The folder to watch: supabase/functions. */
  functionsDir: string;
  /** Builds the complete set of functions from a folder laid out as supabase/functions. */
  load: (functionsDir: string) => Promise<FunctionSet>;
  /** The gateway's table, updated in place after each reload. */
  functions: Map<string, LocalFunction>;
  /** Functions that are not in the folder (test fixtures): kept across reloads. */
  fixed?: readonly LocalFunction[];
  /** Quiet time after the last change before reloading (editors write in bursts). */
  debounceMs?: number;
  log: WorkerLog;
  /** Watch the folder (false: load once; `reload()` still works). */
  watch?: boolean;
  /** After each load, with the functions now served. */
  onReload?: (names: string[]) => void;
}

export interface HotReloader {
  /** Loads a new generation now (what a file change triggers). */
  reload(): Promise<void>;
  /** How many times the functions were loaded (1 after boot). */
  readonly generation: number;
  stop(): Promise<void>;
}

/** Loads the functions once from `functionsDir`, then reloads them whenever a file changes. */
export async function startHotReload(options: HotReloadOptions): Promise<HotReloader> {
  const debounceMs = options.debounceMs ?? 150;
  const copies = await Deno.makeTempDir({ prefix: "local-functions-" });
  let generation = 0;
  let current: FunctionSet | null = null;
  let queue: Promise<void> = Promise.resolve();
  let stopped = false;

  const install = async (set: FunctionSet) => {
    const previous = current;
    current = set;
    options.functions.clear();
    for (const fn of [...set.functions, ...(options.fixed ?? [])]) {
      options.functions.set(fn.name, fn);
    }
    await previous?.stop?.();
    options.onReload?.([...options.functions.keys()]);
  };

  // The first generation is the folder itself: nothing to copy until something changes.
  generation = 1;
  await install(await options.load(options.functionsDir));

  const reloadNow = async () => {
    if (stopped) return;
    const started = performance.now();
    const dir = join(copies, `g${generation + 1}`);
    try {
      await copyTree(options.functionsDir, dir);
      const set = await options.load(dir);
      generation++;
      await install(set);
      options.log({
        level: "info",
        msg: "Reloaded functions",
        generation,
        functions: set.functions.map((fn) => fn.name),
        ms: Math.round(performance.now() - started),
      });
    } catch (error) {
      options.log({ level: "error", msg: "Reloading functions failed", error: String(error) });
    }
  };
  const reload = () => (queue = queue.then(reloadNow));

  const watcher = options.watch === false
    ? { close() {} }
    : watch(options.functionsDir, debounceMs, reload, options.log);
  return {
    reload,
    get generation() {
      return generation;
    },
    async stop() {
      stopped = true;
      watcher.close();
      await queue;
      await current?.stop?.();
      await Deno.remove(copies, { recursive: true }).catch(() => {});
    },
  };
}

/** Calls `onChange` once things have been quiet for `debounceMs` after a change in `dir`. */
function watch(
  dir: string,
  debounceMs: number,
  onChange: () => void,
  log: WorkerLog,
): { close(): void } {
  let fsWatcher: Deno.FsWatcher;
  try {
    fsWatcher = Deno.watchFs(dir, { recursive: true });
  } catch (error) {
    log({ level: "warn", msg: "Not watching the functions for changes", error: String(error) });
    return { close() {} };
  }
  let timer: ReturnType<typeof setTimeout> | undefined;
  (async () => {
    try {
      for await (const event of fsWatcher) {
        if (event.kind === "access" || event.paths.every((path) => ignored(dir, path))) continue;
        clearTimeout(timer);
        timer = setTimeout(onChange, debounceMs);
      }
    } catch {
      // closed
    }
  })();
  return {
    close() {
      clearTimeout(timer);
      try {
        fsWatcher.close();
      } catch {
        // already closed
      }
    },
  };
}

/** Hidden files and editors' scratch files do not change what is served. */
function ignored(dir: string, path: string): boolean {
  const parts = relative(dir, path).split(sep);
  const name = parts.at(-1) ?? "";
  return parts.some((part) => part.startsWith(".") && part !== "..") || name.endsWith("~") ||
    name.endsWith(".swp") || name.endsWith(".tmp");
}

/** Copies a folder (files and subfolders; symlinks followed), skipping hidden entries. */
async function copyTree(from: string, to: string): Promise<void> {
  await Deno.mkdir(to, { recursive: true });
  for await (const entry of Deno.readDir(from)) {
    if (entry.name.startsWith(".")) continue;
    const source = join(from, entry.name);
    const target = join(to, entry.name);
    const info = await Deno.stat(source);
    if (info.isDirectory) await copyTree(source, target);
    else if (info.isFile) await Deno.copyFile(source, target);
  }
}
