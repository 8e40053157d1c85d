/**
 * The embedded local Supabase stack: what `supabase start` gives with Docker, in one process.
 * Boot order: keys; the HTTP port (answering /health with 503 while booting); the database
 * (platform, migrations, seed); Vault secrets so SQL can call functions as on hosted; the wire
 * protocol port; the function apps; the cron and pg_net workers; then ready.
 *
 * `startStack()` is what `npx deno task start` (local/main.ts) runs, and what the end-to-end tests
 * run on free ports with an in-memory database.
 */
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { createAiProvider } from "../supabase/functions/_shared/ai/mod.ts";
import { type Config, loadConfig, type LogLevel } from "../supabase/functions/_shared/config.ts";
import { createDb } from "../supabase/functions/_shared/db/mod.ts";
import { createSessionDriver } from "../supabase/functions/_shared/db/session.ts";
import type { Deps } from "../supabase/functions/_shared/deps.ts";
import { consoleSink, createLogger, type LogSink } from "../supabase/functions/_shared/logger.ts";
import { createAuthApp } from "./auth/app.ts";
import { createDumpApp } from "./dump.ts";
import { createMailboxApp, Mailbox } from "./mailbox.ts";
import { loadLocalConfig, type LocalConfig } from "./config.ts";
import { functionEnvironment, loadJobSecret } from "./function-env.ts";
import {
  defineFunctions,
  type FunctionDefinition,
  installEdgeRuntime,
  loadFunctions,
  type LocalFunction,
  settleBackgroundWork,
} from "./functions.ts";
import { createGateway, type Handler, PUBLISHABLE_KEY, SECRET_KEY } from "./gateway.ts";
import { loadKeys, type LocalKeys, type UserTokenAlg } from "./keys.ts";
import { type BootEvent, openDatabase } from "./postgres/database.ts";
import { secureDataDir } from "./data-dir.ts";
import type { Session } from "./postgres/session.ts";
import { startRealtime } from "./realtime/server.ts";
import { createRestApp } from "./rest/app.ts";
import { type FunctionSet, startHotReload } from "./hot-reload.ts";
import { edgeRuntimeEnv, type IsolatedFunction, isolateSpecs, startIsolates } from "./isolates.ts";
import { createStorageApp } from "./storage/app.ts";
import { startWireServer } from "./wire/server.ts";
import { startCronWorker } from "./workers/cron.ts";
import type { WorkerLog } from "./workers/log.ts";
import { startNetWorker } from "./workers/net.ts";

/** The repository root (the folder holding supabase/ and local/). */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");

export type StackEvent =
  | BootEvent
  | { kind: "database"; ms: number; fresh: boolean }
  | { kind: "functions"; names: string[] }
  | { kind: "workers"; names: string[] }
  | { kind: "log"; level: "debug" | "info" | "warn" | "error"; msg: string; [k: string]: unknown };

export interface StackOptions {
  /** The folder holding supabase/ (default: this repository). */
  rootDir?: string;
  hostname?: string;
  /** API gateway port; 0 picks a free one (default: config.toml [api] port). */
  apiPort?: number;
  /**
   * Postgres wire port; 0 picks a free one, null serves none (default: config.toml [db] port).
   * Isolated functions need one: with them, null picks a free one.
   */
  dbPort?: number | null;
  /** Data folder; null keeps everything in memory (default: <root>/.local/data). */
  dataDir?: string | null;
  /** Start from an empty database (deletes the data folder's contents). */
  reset?: boolean;
  jwtSecret?: string;
  userTokenAlg?: UserTokenAlg;
  /** Functions that live outside supabase/functions (test fixtures). */
  extraFunctions?: Record<string, FunctionDefinition>;
  /**
   * Variables for the functions over everything else (local/function-env.ts has the layers:
   * supabase/functions/.env, envFile, this process's environment, the stack's own).
   */
  functionEnv?: Record<string, string>;
  /** A dotenv file for the functions (`npx deno task start --env-file <path>`). */
  envFile?: string;
  /**
   * `in-process` (default): every function app in this process with the in-process driver.
   * `isolated`: each function with an index.ts in its own process, as on the edge runtime
   * (local/isolates.ts); needs the wire port. Default: the FUNCTIONS_MODE environment variable.
   */
  functionsMode?: FunctionsMode;
  /** Run the cron and pg_net workers (default true). */
  workers?: boolean;
  /**
   * Reload the functions when a file under supabase/functions changes, and serve new function
   * folders (default false; `deno task start` turns it on). See local/hot-reload.ts.
   */
  watchFunctions?: boolean;
  /**
   * How long an API request waits for the one database session before answering 503
   * session_busy (default 15 000 ms; null waits forever). See local/postgres/session.ts.
   */
  dbWaitTimeoutMs?: number | null;
  /** How long a wire client may hold the session idle in a transaction (default 60 000 ms). */
  idleInTransactionTimeoutMs?: number;
  /** Level and destination of the functions' JSON logs. */
  functionLogLevel?: LogLevel;
  functionLogSink?: LogSink;
  /**
   * The local mailbox's own port (Inbucket's in `supabase start`); 0 picks a free one, null
   * serves none (it is always at <API URL>/mailbox too). Default: config.toml [inbucket] port
   * when it is enabled and the API port also comes from config.toml, else none.
   */
  mailboxPort?: number | null;
  onEvent?: (event: StackEvent) => void;
}

export interface Stack {
  apiUrl: string;
  /** Postgres URL of the wire port (empty when none is served). */
  dbUrl: string;
  anonKey: string;
  serviceRoleKey: string;
  jwtSecret: string;
  keys: LocalKeys;
  config: LocalConfig;
  session: Session;
  /** The loaded function apps, by name. */
  functions: ReadonlyMap<string, LocalFunction>;
  /** The queue workers' credential: Vault `job_secret` and the functions' JOB_SECRET. */
  jobSecret: string;
  /** The environment the functions' config was built from. */
  functionEnv: Readonly<Record<string, string>>;
  /** The emails auth sent (recovery, magic links, OTPs, confirmations). */
  mailbox: Mailbox;
  /** Where the mailbox's page and Mailpit-style API are served. */
  mailboxUrl: string;
  /** True when this boot created the database. */
  fresh: boolean;
  bootMs: number;
  stop(): Promise<void>;
}

export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const started = performance.now();
  const root = options.rootDir ?? REPO_ROOT;
  const emit = options.onEvent ?? (() => {});
  const log: WorkerLog = (event) => emit({ kind: "log", ...event });
  const config = await loadLocalConfig(join(root, "supabase", "config.toml"));
  const hostname = options.hostname ?? "127.0.0.1";
  const dataDir = options.dataDir === undefined ? join(root, ".local", "data") : options.dataDir;
  const cleanups: Array<() => Promise<void> | void> = [];
  const cleanup = async () => {
    for (const fn of cleanups.splice(0).reverse()) await fn();
  };

  try {
    if (dataDir) {
      if (options.reset) await Deno.remove(dataDir, { recursive: true }).catch(ignoreNotFound);
      // 0700, umask 077, and what an earlier run left tightened (local/data-dir.ts).
      await secureDataDir(dataDir);
      const release = await lockDataDir(dataDir);
      cleanups.push(release);
    }

    const keys = await loadKeys({
      ...(options.jwtSecret ? { jwtSecret: options.jwtSecret } : {}),
      ...(dataDir ? { keyDir: join(dataDir, "auth") } : {}),
      ...(options.userTokenAlg ? { userTokenAlg: options.userTokenAlg } : {}),
    });

    let handler: Handler | null = null;
    const server = serve(
      "API",
      hostname,
      options.apiPort ?? config.apiPort,
      (request) => handler ? handler(request) : booting(request),
    );
    cleanups.push(() => server.shutdown());
    const apiUrl = `http://${hostname}:${server.addr.port}`;

    const dbStarted = performance.now();
    const database = await openDatabase({
      ...(dataDir ? { dataDir: join(dataDir, "pgdata") } : {}),
      migrationsDir: join(root, "supabase", "migrations"),
      seedPaths: config.seedPaths,
      autoExposeNewTables: config.autoExposeNewTables,
      onProgress: emit,
    });
    const { session } = database;
    cleanups.push(() => session.close());
    session.setWaitPolicy({
      log,
      ...(options.dbWaitTimeoutMs !== undefined ? { waitTimeoutMs: options.dbWaitTimeoutMs } : {}),
    });
    emit({ kind: "database", ms: performance.now() - dbStarted, fresh: database.fresh });

    await setVaultSecret(session, "project_url", apiUrl);
    await setVaultSecret(session, "service_role_key", keys.serviceRoleKey);

    let dbUrl = "";
    const requestedDbPort = options.dbPort === undefined ? config.dbPort : options.dbPort;
    // Isolated functions reach the database over the wire, as on hosted: they get a free port
    // even when none was asked for.
    const dbPort = requestedDbPort === null && functionsModeOf(options) === "isolated"
      ? 0
      : requestedDbPort;
    if (dbPort !== null) {
      const wire = await startWireServer({
        session,
        hostname,
        port: dbPort,
        onLog: log,
        ...(options.idleInTransactionTimeoutMs !== undefined
          ? { idleInTransactionTimeoutMs: options.idleInTransactionTimeoutMs }
          : {}),
      });
      cleanups.push(() => wire.close());
      dbUrl = `postgresql://postgres:postgres@${hostname}:${wire.port}/postgres`;
    }

    const functionEnv = await functionEnvironment({
      dotenvPath: join(root, "supabase", "functions", ".env"),
      ...(options.envFile ? { envFile: options.envFile } : {}),
      processEnv: Deno.env.toObject(),
      stack: {
        ...edgeRuntimeEnv({
          apiUrl,
          dbUrl,
          keys,
          publishableKey: PUBLISHABLE_KEY,
          secretKey: SECRET_KEY,
        }),
        JWT_SECRET: keys.jwtSecret,
        // The stack's database, whatever DATABASE_URL the shell or a .env file has.
        DATABASE_URL: dbUrl,
        ...(options.functionLogLevel ? { LOG_LEVEL: options.functionLogLevel } : {}),
      },
      ...(options.functionEnv ? { overrides: options.functionEnv } : {}),
      jobSecret: (given) => loadJobSecret(given, dataDir),
      warn: (msg) => log({ level: "warn", msg }),
    });
    const jobSecret = functionEnv.JOB_SECRET!;
    await setVaultSecret(session, "job_secret", jobSecret);

    installEdgeRuntime();
    cleanups.push(() => settleBackgroundWork());
    const deps = localDeps({ config: loadConfig(functionEnv), keys, session, options });
    const functions = new Map<string, LocalFunction>();
    const functionsDir = join(root, "supabase", "functions");
    // Every function of supabase/functions, built from `dir`: the folder itself at boot, a fresh
    // copy on each hot reload (local/hot-reload.ts); isolated ones restart from the folder.
    const loadSet = async (dir: string): Promise<FunctionSet> => {
      let inProcessSettings = config.functions;
      const isolated: IsolatedFunction[] = [];
      if (functionsModeOf(options) === "isolated") {
        if (!dbUrl) throw new Error("Isolated functions need the database wire port (dbPort)");
        const specs = await isolateSpecs(functionsDir, join(root, "supabase"), config.functions);
        // Folders with only an app.ts (test fixtures) stay in process.
        inProcessSettings = { ...config.functions };
        for (const spec of specs) {
          inProcessSettings[spec.name] = { ...config.functions[spec.name]!, enabled: false };
        }
        const started = await startIsolates(specs, {
          cwd: REPO_ROOT, // deno.json and node_modules (the npm cache), also for fixture projects
          env: { LOG_LEVEL: "info", ...functionEnv },
          log,
          // What a function prints (its JSON logs) goes where in-process functions' logs go.
          onOutput: (_fn, stream, line) =>
            (options.functionLogSink ?? consoleSink)(line, stream === "stderr" ? "warn" : "info"),
        });
        isolated.push(...started);
      }
      return {
        functions: [...await loadFunctions(dir, inProcessSettings, deps, log), ...isolated],
        stop: () => Promise.all(isolated.map((fn) => fn.stop())).then(() => {}),
      };
    };
    const reloader = await startHotReload({
      functionsDir,
      load: loadSet,
      functions,
      fixed: defineFunctions(options.extraFunctions ?? {}, deps),
      watch: options.watchFunctions ?? false,
      log,
      onReload: (names) => emit({ kind: "functions", names }),
    });
    cleanups.push(() => reloader.stop());

    const storageDir = dataDir ? join(dataDir, "storage") : await Deno.makeTempDir();
    if (!dataDir) cleanups.push(() => Deno.remove(storageDir, { recursive: true }));
    let ready = false;
    const mailbox = new Mailbox();
    const mailboxApp = createMailboxApp(mailbox);
    let mailboxUrl = `${apiUrl}/mailbox`;
    const mailboxPort = options.mailboxPort !== undefined
      ? options.mailboxPort
      : config.inbucket.enabled && options.apiPort === undefined
      ? config.inbucket.port
      : null;
    if (mailboxPort !== null) {
      const mailServer = serve("mailbox", hostname, mailboxPort, (r) => mailboxApp.fetch(r));
      cleanups.push(() => mailServer.shutdown());
      mailboxUrl = `http://${hostname}:${mailServer.addr.port}`;
    }
    const realtime = await startRealtime({ session, keys, log });
    cleanups.push(() => realtime.stop());
    handler = createGateway({
      keys,
      functions,
      auth: createAuthApp({
        session,
        keys,
        settings: config.auth,
        issuer: `${apiUrl}/auth/v1`,
        mailer: mailbox,
        // A 500's cause, logged (the client sees only "Unexpected failure").
        onError: (error, request) =>
          log({
            level: "error",
            msg: "auth: unexpected failure",
            ...request,
            error: describeError(error),
          }),
      }),
      mailbox: mailboxApp,
      local: createDumpApp(session, keys),
      storage: createStorageApp({
        session,
        keys,
        storageDir,
        fileSizeLimit: config.storage.fileSizeLimit,
        onInternalError: (error) =>
          log({ level: "error", msg: "storage: internal error", error: describeError(error) }),
      }),
      realtime,
      openapi: () => Deno.readTextFile(join(root, "docs", "openapi.json")).catch(() => null),
      rest: createRestApp({
        session,
        keys,
        schemas: config.api.schemas,
        extraSearchPath: config.api.extraSearchPath,
        maxRows: config.api.maxRows,
        log,
      }),
      ready: () => ready,
      log,
    });

    if (options.workers !== false) {
      const cron = startCronWorker({ session, log });
      const net = startNetWorker({ session, log });
      // Stop order matters: workers before the functions they call and the session they use.
      cleanups.push(() => Promise.all([cron.stop(), net.stop()]).then(() => {}));
      emit({ kind: "workers", names: ["pg_cron", "pg_net"] });
    }
    ready = true;

    let stopping: Promise<void> | null = null;
    return {
      apiUrl,
      dbUrl,
      anonKey: keys.anonKey,
      serviceRoleKey: keys.serviceRoleKey,
      jwtSecret: keys.jwtSecret,
      keys,
      config,
      session,
      functions,
      jobSecret,
      functionEnv,
      mailbox,
      mailboxUrl,
      fresh: database.fresh,
      bootMs: performance.now() - started,
      stop() {
        ready = false;
        return stopping ??= cleanup();
      },
    };
  } catch (error) {
    await cleanup();
    throw error;
  }
}

/** The functions' Deps in this process: their config, the in-process driver, the stack's keys. */
function localDeps(
  { config, keys, session, options }: {
    config: Config;
    keys: LocalKeys;
    session: Session;
    options: StackOptions;
  },
): Deps {
  return {
    config,
    db: createDb(createSessionDriver(session)),
    verifyJwt: keys.verify,
    logger: createLogger({}, {
      level: config.logLevel,
      ...(options.functionLogSink ? { sink: options.functionLogSink } : {}),
    }),
    ai: createAiProvider(config),
    now: () => new Date(),
  };
}

/** Creates or updates a Vault secret by name (the platform's `project_url`, `service_role_key`). */
async function setVaultSecret(session: Session, name: string, value: string): Promise<void> {
  await session.query(
    `select case
       when exists (select 1 from vault.secrets where name = $1)
         then (select vault.update_secret(id, $2) from vault.secrets where name = $1)::text
       else vault.create_secret($2, $1)::text
     end`,
    [name, value],
  );
}

function booting(request: Request): Response {
  const status = new URL(request.url).pathname === "/health" ? "starting" : "booting";
  return Response.json({ status, message: "The local stack is starting" }, { status: 503 });
}

/**
 * One stack per data folder: PGlite would corrupt files written by two processes. The lock file
 * holds the owner's pid; a lock left by a dead process (crash, kill -9) is taken over.
 */
async function lockDataDir(dataDir: string): Promise<() => Promise<void>> {
  const path = join(dataDir, "stack.lock");
  try {
    const pid = Number((await Deno.readTextFile(path)).trim());
    if (pid && pid !== Deno.pid && await processAlive(pid)) {
      throw new Error(
        `The data folder ${dataDir} is in use by another local stack (pid ${pid}). ` +
          "Stop it first, or set LOCAL_DATA_DIR to use another folder.",
      );
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  await Deno.writeTextFile(path, String(Deno.pid));
  return () => Deno.remove(path).catch(ignoreNotFound);
}

async function processAlive(pid: number): Promise<boolean> {
  try {
    await Deno.stat(`/proc/${pid}`);
    return true;
  } catch {
    return Deno.build.os !== "linux"; // without /proc, assume the worst and refuse
  }
}

function ignoreNotFound(error: unknown): void {
  if (!(error instanceof Deno.errors.NotFound)) throw error;
}

export type FunctionsMode = "in-process" | "isolated";

/** The option, else FUNCTIONS_MODE (so CI can run the end-to-end suite with isolated functions). */
function functionsModeOf(options: StackOptions): FunctionsMode {
  const mode = options.functionsMode ?? Deno.env.get("FUNCTIONS_MODE") ?? "in-process";
  if (mode !== "in-process" && mode !== "isolated") {
    throw new Error(`FUNCTIONS_MODE must be "in-process" or "isolated", not "${mode}"`);
  }
  return mode;
}

/** Serves HTTP on a port; "address in use" names the port, the service and how to change it. */
function serve(
  what: string,
  hostname: string,
  port: number,
  handler: (request: Request) => Response | Promise<Response>,
): Deno.HttpServer<Deno.NetAddr> {
  try {
    return Deno.serve({ hostname, port, onListen: () => {} }, handler);
  } catch (error) {
    if (error instanceof Deno.errors.AddrInUse) {
      throw new Error(
        `Cannot serve the ${what} on ${hostname}:${port}: the address is in use ` +
          "(another local stack or `supabase start`?). Stop it or choose another port in " +
          "supabase/config.toml or the environment (API_PORT, DB_PORT, MAILBOX_PORT).",
        { cause: error },
      );
    }
    throw error;
  }
}

/** An error as a log field: its message, SQLSTATE when it has one, and its stack. */
function describeError(error: unknown): Record<string, unknown> {
  if (!(error instanceof Error)) return { message: String(error) };
  const code = (error as { code?: unknown }).code;
  return { message: error.message, ...(code ? { code } : {}), stack: error.stack };
}
