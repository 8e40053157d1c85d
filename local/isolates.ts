/**
 * Isolated functions mode (`functionsMode: "isolated"`): each function runs from its own
 * `index.ts` in its own Deno process, as on the edge runtime, so the hosted entry path runs:
 * `loadDeps()` from the environment, postgres.js over the stack's wire port, and only the bare
 * specifiers of `supabase/functions/import_map.json` (a function importing anything else fails
 * to boot, as on deploy). The environment is the edge runtime's (`edgeRuntimeEnv`) plus the
 * user's secrets, handed in by the stack.
 *
 * A process is started per function at boot (in parallel), listens on a free local port
 * (local/isolate-boot.ts) and receives the requests the gateway routes to the function. A function
 * that fails to boot answers every request with the edge runtime's 503 `BOOT_ERROR` while the
 * others keep serving; one that exits after booting is started again by the next request.
 */
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { FunctionSettings } from "./config.ts";
import type { LocalFunction } from "./functions.ts";
import type { LocalKeys } from "./keys.ts";
import type { WorkerLog } from "./workers/log.ts";

const BOOT_MODULE = new URL("./isolate-boot.ts", import.meta.url);
const READY = "@@local-isolate ";
/** What the function's process needs from ours to run Deno at all (not shown to it on hosted). */
const RUNTIME_VARS = [
  "HOME",
  "PATH",
  "TMPDIR",
  "DENO_DIR",
  "XDG_CACHE_HOME",
  "NPM_CONFIG_REGISTRY",
  "npm_config_registry",
  "HTTP_PROXY",
  "HTTPS_PROXY",
  "NO_PROXY",
  "NO_COLOR",
];

export interface IsolateSpec {
  name: string;
  /** Absolute path of the function's index.ts. */
  entry: string;
  /** The import map it runs with (null: none, only the project's deno.json). */
  importMap: string | null;
  verifyJwt: boolean;
}

export interface IsolateOptions {
  /** Where the processes run: the folder with deno.json and node_modules (the npm cache). */
  cwd: string;
  /** The function's environment: edgeRuntimeEnv() plus user secrets. */
  env: Record<string, string>;
  log: WorkerLog;
  /** A line the function printed (its JSON logs go to stdout or stderr). */
  onOutput?: (name: string, stream: "stdout" | "stderr", line: string) => void;
  /** How long a function may take to start listening (default 60 s: a first run fills caches). */
  bootTimeoutMs?: number;
}

export interface IsolatedFunction extends LocalFunction {
  /** Why the function failed to boot, or null while it serves. */
  readonly bootError: string | null;
  /** Stops the process and boots the function again (for reloads). */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/** The variables the edge runtime injects (docs/platform.md section 6.1), pointing at this stack. */
export function edgeRuntimeEnv(
  stack: {
    apiUrl: string;
    dbUrl: string;
    keys: LocalKeys;
    publishableKey: string;
    secretKey: string;
  },
): Record<string, string> {
  const secret = btoa(stack.keys.jwtSecret).replace(/\+/g, "-").replace(/\//g, "_").replace(
    /=+$/,
    "",
  );
  return {
    SUPABASE_URL: stack.apiUrl,
    SUPABASE_ANON_KEY: stack.keys.anonKey,
    SUPABASE_SERVICE_ROLE_KEY: stack.keys.serviceRoleKey,
    SUPABASE_DB_URL: stack.dbUrl,
    SUPABASE_PUBLISHABLE_KEYS: JSON.stringify({ default: stack.publishableKey }),
    SUPABASE_SECRET_KEYS: JSON.stringify({ default: stack.secretKey }),
    // As the CLI: the public signing keys plus an `oct` key holding the JWT secret.
    SUPABASE_JWKS: JSON.stringify({
      keys: [...stack.keys.jwks.keys, { kty: "oct", k: secret, alg: "HS256" }],
    }),
  };
}

/**
 * The functions of `functionsDir` that have an entrypoint (`index.ts`, or `entrypoint` in
 * config.toml, relative to the supabase folder as the CLI reads it), with their import map
 * (`import_map` in config.toml, else `functions/import_map.json`). Disabled ones are left out.
 */
export async function isolateSpecs(
  functionsDir: string,
  supabaseDir: string,
  settings: Record<string, FunctionSettings>,
): Promise<IsolateSpec[]> {
  const specs: IsolateSpec[] = [];
  const sharedMap = join(functionsDir, "import_map.json");
  for (const name of await folders(functionsDir)) {
    const config = settings[name];
    if (config?.enabled === false) continue;
    const entry = config?.entrypoint
      ? resolve(supabaseDir, config.entrypoint)
      : join(functionsDir, name, "index.ts");
    if (!await exists(entry)) continue;
    const importMap = config?.import_map
      ? resolve(supabaseDir, config.import_map)
      : await exists(sharedMap)
      ? sharedMap
      : null;
    specs.push({ name, entry, importMap, verifyJwt: config?.verify_jwt ?? true });
  }
  return specs;
}

async function folders(dir: string): Promise<string[]> {
  const names: string[] = [];
  try {
    for await (const entry of Deno.readDir(dir)) {
      if (entry.isDirectory && !/^[_.]/.test(entry.name)) names.push(entry.name);
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  return names.sort();
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

/** Boots every function in its own process, in parallel; failures do not stop the others. */
export async function startIsolates(
  specs: readonly IsolateSpec[],
  options: IsolateOptions,
): Promise<IsolatedFunction[]> {
  const isolates = specs.map((spec) => new Isolate(spec, options));
  await Promise.all(isolates.map((isolate) => isolate.boot()));
  return isolates.map((isolate) => isolate.asFunction());
}

class Isolate {
  #child: Deno.ChildProcess | null = null;
  #port: number | null = null;
  #bootError: string | null = null;
  #booting: Promise<void> | null = null;
  #stopped = false;

  constructor(readonly spec: IsolateSpec, readonly options: IsolateOptions) {}

  asFunction(): IsolatedFunction {
    const bootError = () => this.#bootError;
    return {
      name: this.spec.name,
      verifyJwt: this.spec.verifyJwt,
      get bootError() {
        return bootError();
      },
      fetch: (request) => this.fetch(request),
      restart: async () => {
        await this.#kill();
        this.#stopped = false;
        await this.boot();
      },
      stop: () => {
        this.#stopped = true;
        return this.#kill();
      },
    };
  }

  boot(): Promise<void> {
    return this.#booting ??= this.#start().finally(() => {
      this.#booting = null;
    });
  }

  async fetch(request: Request): Promise<Response> {
    if (this.#booting) await this.#booting;
    if (this.#port === null && this.#bootError === null && !this.#stopped) await this.boot();
    if (this.#port === null) {
      return Response.json(
        { code: "BOOT_ERROR", message: "Worker failed to boot (please check logs)" },
        { status: 503 },
      );
    }
    const incoming = new URL(request.url);
    const headers = new Headers(request.headers);
    headers.delete("host");
    const hasBody = request.body !== null && !["GET", "HEAD"].includes(request.method);
    return await fetch(`http://127.0.0.1:${this.#port}${incoming.pathname}${incoming.search}`, {
      method: request.method,
      headers,
      ...(hasBody ? { body: request.body, duplex: "half" } : {}),
      redirect: "manual",
    } as RequestInit);
  }

  async #start(): Promise<void> {
    const { spec, options } = this;
    this.#bootError = null;
    this.#port = null;
    const inherited = Object.fromEntries(
      RUNTIME_VARS.flatMap((k) => {
        const v = Deno.env.get(k);
        return v === undefined ? [] : [[k, v]];
      }),
    );
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--allow-all",
        ...(spec.importMap ? [`--import-map=${spec.importMap}`] : []),
        BOOT_MODULE.pathname,
        pathToFileURL(spec.entry).href,
      ],
      cwd: options.cwd,
      clearEnv: true,
      env: { ...inherited, ...options.env },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.#child = child;

    const stderrTail: string[] = [];
    const listening = Promise.withResolvers<number>();
    const output = this.options.onOutput ?? (() => {});
    const readers = [
      readLines(child.stdout, (line) => {
        if (line.startsWith(READY)) {
          listening.resolve((JSON.parse(line.slice(READY.length)) as { port: number }).port);
        } else output(spec.name, "stdout", line);
      }),
      readLines(child.stderr, (line) => {
        stderrTail.push(line);
        if (stderrTail.length > 40) stderrTail.shift();
        output(spec.name, "stderr", line);
      }),
    ];
    const exited = child.status.then(async (status) => {
      await Promise.allSettled(readers);
      if (this.#child === child) {
        this.#child = null;
        this.#port = null;
      }
      return status;
    });

    const timeoutMs = options.bootTimeoutMs ?? 60_000;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const outcome = await Promise.race([
      listening.promise.then((port) => ({ port })),
      exited.then((status) => ({ exited: status.code })),
      new Promise<{ timedOut: true }>((resolve) => {
        timer = setTimeout(() => resolve({ timedOut: true }), timeoutMs);
      }),
    ]);
    clearTimeout(timer);
    if ("port" in outcome) {
      this.#port = outcome.port;
      exited.then((status) => {
        if (!this.#stopped) {
          options.log({
            level: "warn",
            msg: "function process exited; the next request starts it again",
            fn: spec.name,
            code: status.code,
          });
        }
      });
      return;
    }
    if ("timedOut" in outcome) {
      await this.#kill();
      stderrTail.push(`Did not start listening within ${timeoutMs} ms`);
    }
    this.#bootError = stderrTail.join("\n").trim() || "The function exited while booting";
    options.log({
      level: "error",
      msg: "function failed to boot",
      fn: spec.name,
      error: this.#bootError,
    });
  }

  async #kill(): Promise<void> {
    const child = this.#child;
    if (!child) return;
    this.#child = null;
    this.#port = null;
    try {
      child.kill("SIGTERM");
    } catch {
      return; // already gone
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    const forced = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        try {
          child.kill("SIGKILL");
        } catch {
          // already gone
        }
        resolve();
      }, 5_000);
    });
    await Promise.race([child.status.then(() => {}), forced]);
    clearTimeout(timer);
    await child.status;
  }
}

async function readLines(
  stream: ReadableStream<Uint8Array>,
  onLine: (line: string) => void,
): Promise<void> {
  let buffered = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    buffered += chunk;
    let newline: number;
    while ((newline = buffered.indexOf("\n")) >= 0) {
      onLine(buffered.slice(0, newline));
      buffered = buffered.slice(newline + 1);
    }
  }
  if (buffered) onLine(buffered);
}
