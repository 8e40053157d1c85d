/**
 * The dependencies every function app receives in one object, so the local stack and the tests
 * can hand in theirs: `createApp(deps)`. `loadDeps()` builds the hosted set from the environment
 * and is called by each function's index.ts, outside `Deno.serve`, once per isolate.
 */
import { createAiProvider } from "./ai/mod.ts";
import type { AiProvider } from "./ai/types.ts";
import { createJwtVerifier, type VerifyJwt } from "./auth.ts";
import { type Config, ConfigError, loadConfig } from "./config.ts";
import { createDb, type Db } from "./db/mod.ts";
import { createPostgresDriver } from "./db/postgres.ts";
import { createLogger, type Logger } from "./logger.ts";

export interface Deps {
  config: Config;
  db: Db;
  verifyJwt: VerifyJwt;
  logger: Logger;
  /** Embeddings, chat and summaries (`openai` or `local`, as the config says). */
  ai: AiProvider;
  /** The clock; tests hand in a fixed one. */
  now: () => Date;
}

/** Builds the hosted dependencies from the environment; throws ConfigError naming what is missing. */
export function loadDeps(env?: Record<string, string | undefined>): Deps {
  const config = loadConfig(env);
  if (!config.databaseUrl) {
    throw new ConfigError(
      "Invalid function configuration: DATABASE_URL or SUPABASE_DB_URL is required",
    );
  }
  return {
    config,
    db: createDb(createPostgresDriver(config.databaseUrl, { max: config.dbPoolSize })),
    verifyJwt: verifierFor(config),
    logger: createLogger({}, { level: config.logLevel }),
    ai: createAiProvider(config),
    now: () => new Date(),
  };
}

/** HS256 with the secret when it is configured, else by the auth server; JWKS for the rest. */
export function verifierFor(config: Config): VerifyJwt {
  return createJwtVerifier({
    jwtSecret: config.jwtSecret,
    ...(config.jwks ? { jwks: config.jwks } : {}),
    jwksUrl: new URL(`${config.supabaseUrl}/auth/v1/.well-known/jwks.json`),
    authServer: { url: `${config.supabaseUrl}/auth/v1`, apiKey: config.anonKey },
  });
}
