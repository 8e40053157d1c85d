/**
 * `npx deno task start [--reset]`: boots the embedded local Supabase stack and serves until Ctrl-C
 * (SIGINT) or SIGTERM, then shuts down cleanly so the next start finds the data intact.
 *
 * Environment: API_PORT, DB_PORT (override config.toml), LOCAL_DATA_DIR (default .local/data),
 * SUPABASE_JWT_SECRET (default: the Supabase CLI's local secret), LOG_LEVEL (functions' logs),
 * AUTH_JWT_ALG (ES256, the default as in the current CLI, or HS256).
 */
// deno-lint-ignore-file no-console
import { parseArgs } from "node:util";
import { z } from "zod";
import type { LogLevel } from "../supabase/functions/_shared/config.ts";
import { banner } from "./banner.ts";
import { watchParents } from "./parent-watch.ts";
import { type StackEvent, startStack } from "./stack.ts";

const Env = z.object({
  API_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  DB_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  LOCAL_DATA_DIR: z.string().min(1).optional(),
  SUPABASE_JWT_SECRET: z.string().min(32).optional(),
  LOG_LEVEL: z.enum(["debug", "info", "warn", "error"]).optional(),
  AUTH_JWT_ALG: z.enum(["ES256", "HS256"]).optional(),
  FUNCTIONS_MODE: z.enum(["in-process", "isolated"]).optional(),
  MAILBOX_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  DB_WAIT_TIMEOUT_MS: z.coerce.number().int().min(1).optional(),
  DB_IDLE_IN_TRANSACTION_TIMEOUT_MS: z.coerce.number().int().min(1).optional(),
});

async function main(): Promise<number> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      reset: { type: "boolean", default: false },
      "env-file": { type: "string" },
      help: { type: "boolean" },
    },
  });
  if (values.help) {
    console.log("Usage: npx deno task start [--reset] [--env-file <path>]\n\n" + usage());
    return 0;
  }
  const env = Env.safeParse(Deno.env.toObject());
  if (!env.success) {
    console.error(`Invalid environment: ${z.prettifyError(env.error)}`);
    return 2;
  }
  const e = env.data;

  console.log(
    values.reset
      ? "Starting the local stack from an empty database..."
      : "Starting the local stack...",
  );
  let stack;
  try {
    stack = await startStack({
      ...(e.API_PORT !== undefined ? { apiPort: e.API_PORT } : {}),
      ...(e.DB_PORT !== undefined ? { dbPort: e.DB_PORT } : {}),
      ...(e.LOCAL_DATA_DIR ? { dataDir: e.LOCAL_DATA_DIR } : {}),
      ...(e.SUPABASE_JWT_SECRET ? { jwtSecret: e.SUPABASE_JWT_SECRET } : {}),
      ...(e.AUTH_JWT_ALG ? { userTokenAlg: e.AUTH_JWT_ALG } : {}),
      ...(e.DB_WAIT_TIMEOUT_MS ? { dbWaitTimeoutMs: e.DB_WAIT_TIMEOUT_MS } : {}),
      ...(e.MAILBOX_PORT !== undefined ? { mailboxPort: e.MAILBOX_PORT } : {}),
      ...(e.DB_IDLE_IN_TRANSACTION_TIMEOUT_MS
        ? { idleInTransactionTimeoutMs: e.DB_IDLE_IN_TRANSACTION_TIMEOUT_MS }
        : {}),
      ...(e.FUNCTIONS_MODE ? { functionsMode: e.FUNCTIONS_MODE } : {}),
      functionLogLevel: (e.LOG_LEVEL ?? "info") as LogLevel,
      reset: values.reset,
      ...(values["env-file"] ? { envFile: values["env-file"] } : {}),
      watchFunctions: true,
      onEvent: printEvent,
    });
  } catch (error) {
    console.error(`\nThe local stack failed to start:\n${(error as Error).message}`);
    return 1;
  }

  console.log(`
Started the local Supabase stack in ${(stack.bootMs / 1000).toFixed(1)} s.

${banner(stack)}${e.FUNCTIONS_MODE === "isolated" ? " (isolated)" : ""}

Press Ctrl-C to stop.`);

  const stopped = Promise.withResolvers<void>();
  let stopping = false;
  const stop = (why: string) => {
    if (stopping) return;
    stopping = true;
    say(`\n${why}, stopping...`);
    stack.stop().then(() => {
      say("Stopped. The data is saved.");
      stopped.resolve();
    }, stopped.reject);
  };
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    Deno.addSignalListener(signal, () => stop(`Received ${signal}`));
  }
  // `npx` does not pass SIGTERM on to deno: stop when the processes that started us are gone.
  const parents = watchParents((reason) => stop(`The ${reason}`));
  await stopped.promise;
  parents.stop();
  return 0;
}

/** Prints a line; a terminal or pipe that went away with our parent must not stop the shutdown. */
function say(line: string): void {
  try {
    console.log(line);
  } catch {
    // stdout is gone
  }
}

function printEvent(event: StackEvent): void {
  switch (event.kind) {
    case "platform":
      console.log(`  Applied the platform schema (local/platform.sql) in ${ms(event.ms)}`);
      break;
    case "migration":
      console.log(`  Applied migration ${event.file} in ${ms(event.ms)}`);
      break;
    case "seed":
      console.log(`  Seeded data from ${event.file} in ${ms(event.ms)}`);
      break;
    case "database":
      console.log(`  Database ready in ${ms(event.ms)}${event.fresh ? " (new)" : ""}`);
      break;
    case "functions":
      console.log(`  Serving functions: ${event.names.join(", ") || "(none)"}`);
      break;
    case "workers":
      console.log(`  Started workers: ${event.names.join(", ")}`);
      break;
    case "log":
      if (event.level === "warn" || event.level === "error") {
        const { kind: _kind, ...fields } = event;
        console.error(JSON.stringify(fields));
      }
      break;
  }
}

function ms(value: number): string {
  return `${Math.round(value)} ms`;
}

function usage(): string {
  return [
    "Options:",
    "  --reset             delete the local data folder first and start from an empty database",
    "  --env-file <path>   more variables for the functions (dotenv), over supabase/functions/.env",
    "",
    "Environment:",
    "  API_PORT, DB_PORT     override the ports in supabase/config.toml",
    "  LOCAL_DATA_DIR        data folder (default .local/data)",
    "  SUPABASE_JWT_SECRET   JWT secret (default: the Supabase CLI's local secret)",
    "  AUTH_JWT_ALG          ES256 (default) or HS256 for user access tokens",
    "  LOG_LEVEL             functions' log level (debug, info, warn, error)",
    "  MAILBOX_PORT          the local mailbox's port (default: config.toml [inbucket] port)",
    "  DB_WAIT_TIMEOUT_MS    how long an API request waits for the database session held by",
    "                        another client (psql in BEGIN) before a 503 session_busy (15000)",
    "  DB_IDLE_IN_TRANSACTION_TIMEOUT_MS",
    "                        how long a psql/wire client may sit idle in a transaction (60000)",
    "  FUNCTIONS_MODE        in-process (default) or isolated: each function in its own process",
    "",
    "The functions also get the variables of supabase/functions/.env, --env-file and this",
    "environment that they read (OPENAI_API_KEY, AI_PROVIDER, JOB_SECRET, ...; see",
    "supabase/functions/.env.example).",
  ].join("\n");
}

Deno.exit(await main());
