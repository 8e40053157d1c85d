/**
 * The functions' configuration, parsed once from the environment with zod. This is the only
 * module that reads `Deno.env`; a missing or malformed variable fails at cold start, naming it.
 *
 * Hosted Supabase injects SUPABASE_URL, SUPABASE_ANON_KEY, SUPABASE_SERVICE_ROLE_KEY and
 * SUPABASE_DB_URL. Secrets set with `supabase secrets set` cannot start with SUPABASE_, hence
 * DATABASE_URL (the transaction pooler, preferred) and JWT_SECRET.
 */
import { z } from "zod";

const LOG_LEVELS = ["debug", "info", "warn", "error"] as const;
const AI_PROVIDERS = ["local", "openai"] as const;

const JwksSchema = z.object({ keys: z.array(z.looseObject({ kty: z.string() })) });

const EnvSchema = z.object({
  SUPABASE_URL: z.url(),
  SUPABASE_ANON_KEY: z.string().min(1),
  SUPABASE_SERVICE_ROLE_KEY: z.string().min(1),
  /** Transaction pooler URL (port 6543); falls back to SUPABASE_DB_URL. */
  DATABASE_URL: z.string().min(1).optional(),
  SUPABASE_DB_URL: z.string().min(1).optional(),
  /** The project's legacy JWT secret, to verify HS256 tokens without a network call. */
  JWT_SECRET: z.string().min(32).optional(),
  SUPABASE_JWT_SECRET: z.string().min(32).optional(),
  /** JWKS JSON (the CLI injects it); without it the JWKS is fetched from the auth server. */
  SUPABASE_JWKS: z.string().optional(),
  /** JSON `{"default":"sb_secret_..."}`: opaque secret keys also accepted as service credentials. */
  SUPABASE_SECRET_KEYS: z.string().optional(),
  DB_POOL_SIZE: z.coerce.number().int().min(1).max(20).default(3),
  LOG_LEVEL: z.enum(LOG_LEVELS).default("info"),
  /** Comma-separated origins allowed by CORS; `*` by default, as Supabase's examples. */
  CORS_ALLOWED_ORIGINS: z.string().default("*"),
  /** `openai` or `local`; by default `openai` when OPENAI_API_KEY is set, else `local`. */
  AI_PROVIDER: z.enum(AI_PROVIDERS).optional(),
  OPENAI_API_KEY: z.string().min(1).optional(),
  /** Any OpenAI-compatible server (Azure, vLLM, Ollama, a test fake); the SDK's default if unset. */
  OPENAI_BASE_URL: z.url().optional(),
  OPENAI_CHAT_MODEL: z.string().min(1).default("gpt-4o-mini"),
  OPENAI_EMBEDDING_MODEL: z.string().min(1).default("text-embedding-3-small"),
  AI_TIMEOUT_MS: z.coerce.number().int().min(1).max(600_000).default(60_000),
  AI_MAX_RETRIES: z.coerce.number().int().min(0).max(10).default(2),
  /** The dedicated credential of the queue workers' `/jobs` routes (Vault `job_secret` holds the same). */
  JOB_SECRET: z.string().min(32).optional(),
  /** Upper bound of user-supplied text (agent input, message content), in characters. */
  MAX_INPUT_CHARS: z.coerce.number().int().min(1).max(1_000_000).default(32_000),
  /** file-processor: largest file (bytes), most PDF pages, most characters of extracted text. */
  FILE_MAX_BYTES: z.coerce.number().int().min(1).max(1024 * 1024 * 1024).default(20 * 1024 * 1024),
  FILE_MAX_PAGES: z.coerce.number().int().min(1).max(100_000).default(500),
  FILE_MAX_CHARACTERS: z.coerce.number().int().min(1).max(100_000_000).default(2_000_000),
});

/** Every variable the functions read (the local stack passes these on from its environment). */
export const FUNCTION_ENV_NAMES: readonly string[] = Object.keys(EnvSchema.shape);

export type LogLevel = (typeof LOG_LEVELS)[number];
export type AiProviderName = (typeof AI_PROVIDERS)[number];

export interface AiConfig {
  provider: AiProviderName;
  openaiApiKey: string | undefined;
  openaiBaseUrl: string | undefined;
  chatModel: string;
  embeddingModel: string;
  timeoutMs: number;
  maxRetries: number;
}

export interface Config {
  supabaseUrl: string;
  anonKey: string;
  serviceRoleKey: string;
  /** Every credential accepted as the service role's (legacy JWT and opaque secret keys). */
  serviceKeys: string[];
  databaseUrl: string | undefined;
  dbPoolSize: number;
  jwtSecret: string | undefined;
  jwks: { keys: Array<Record<string, unknown> & { kty: string }> } | undefined;
  logLevel: LogLevel;
  corsOrigins: string[];
  ai: AiConfig;
  /** The queue workers' dedicated credential; unset means only service keys reach `/jobs`. */
  jobSecret: string | undefined;
  maxInputChars: number;
  /** file-processor's limits on one file (its defaults when absent). */
  files?: { maxBytes: number; maxPages: number; maxCharacters: number };
}

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}

/** Parses the configuration from `env` (the process environment by default). */
export function loadConfig(env: Record<string, string | undefined> = Deno.env.toObject()): Config {
  // An empty value (`OPENAI_API_KEY=` in a .env file) means unset, as in the Supabase CLI.
  const present = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== ""));
  const parsed = EnvSchema.safeParse(present);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
    throw new ConfigError(`Invalid function configuration: ${problems.join("; ")}`);
  }
  const e = parsed.data;
  if (e.AI_PROVIDER === "openai" && !e.OPENAI_API_KEY) {
    throw new ConfigError(
      'Invalid function configuration: OPENAI_API_KEY is required when AI_PROVIDER is "openai"',
    );
  }
  return {
    supabaseUrl: e.SUPABASE_URL.replace(/\/+$/, ""),
    anonKey: e.SUPABASE_ANON_KEY,
    serviceRoleKey: e.SUPABASE_SERVICE_ROLE_KEY,
    serviceKeys: [e.SUPABASE_SERVICE_ROLE_KEY, ...parseSecretKeys(e.SUPABASE_SECRET_KEYS)],
    databaseUrl: e.DATABASE_URL ?? e.SUPABASE_DB_URL,
    dbPoolSize: e.DB_POOL_SIZE,
    jwtSecret: e.JWT_SECRET ?? e.SUPABASE_JWT_SECRET,
    jwks: e.SUPABASE_JWKS ? parseJwks(e.SUPABASE_JWKS) : undefined,
    logLevel: e.LOG_LEVEL,
    corsOrigins: e.CORS_ALLOWED_ORIGINS.split(",").map((o) => o.trim()).filter(Boolean),
    ai: {
      provider: e.AI_PROVIDER ?? (e.OPENAI_API_KEY ? "openai" : "local"),
      openaiApiKey: e.OPENAI_API_KEY,
      openaiBaseUrl: e.OPENAI_BASE_URL?.replace(/\/+$/, ""),
      chatModel: e.OPENAI_CHAT_MODEL,
      embeddingModel: e.OPENAI_EMBEDDING_MODEL,
      timeoutMs: e.AI_TIMEOUT_MS,
      maxRetries: e.AI_MAX_RETRIES,
    },
    jobSecret: e.JOB_SECRET,
    maxInputChars: e.MAX_INPUT_CHARS,
    files: {
      maxBytes: e.FILE_MAX_BYTES,
      maxPages: e.FILE_MAX_PAGES,
      maxCharacters: e.FILE_MAX_CHARACTERS,
    },
  };
}

function parseJwks(text: string): Config["jwks"] {
  const parsed = JwksSchema.safeParse(safeJson(text));
  if (!parsed.success) throw new ConfigError("Invalid function configuration: SUPABASE_JWKS");
  return parsed.data;
}

function parseSecretKeys(text: string | undefined): string[] {
  if (!text) return [];
  const parsed = z.record(z.string(), z.string()).safeParse(safeJson(text));
  if (!parsed.success) {
    throw new ConfigError("Invalid function configuration: SUPABASE_SECRET_KEYS");
  }
  return Object.values(parsed.data);
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
