/**
 * Reads supabase/config.toml (the Supabase CLI's file) for what the local stack uses: ports, auth
 * and storage settings, seed paths and each function's verify_jwt. Unknown keys are ignored, as
 * the embedded stack emulates only part of what the CLI configures.
 */
import { dirname, resolve } from "node:path";
import { parse } from "smol-toml";
import { z } from "zod";

const FunctionConfig = z.looseObject({
  enabled: z.boolean().default(true),
  verify_jwt: z.boolean().default(true),
  import_map: z.string().optional(),
  entrypoint: z.string().optional(),
});

const ConfigToml = z.looseObject({
  project_id: z.string().default("local"),
  api: z.looseObject({
    port: z.number().int().default(54321),
    auto_expose_new_tables: z.boolean().default(false),
    schemas: z.array(z.string().min(1)).default(["public", "graphql_public"]),
    extra_search_path: z.array(z.string().min(1)).default(["public", "extensions"]),
    max_rows: z.number().int().nonnegative().default(1000),
  }).prefault({}),
  db: z.looseObject({
    port: z.number().int().default(54322),
    major_version: z.number().int().default(17),
    seed: z.looseObject({
      enabled: z.boolean().default(true),
      sql_paths: z.array(z.string()).default(["./seed.sql"]),
    }).prefault({}),
  }).prefault({}),
  auth: z.looseObject({
    site_url: z.string().default("http://127.0.0.1:3000"),
    jwt_expiry: z.number().int().positive().default(3600),
    enable_refresh_token_rotation: z.boolean().default(true),
    refresh_token_reuse_interval: z.number().int().nonnegative().default(10),
    enable_signup: z.boolean().default(true),
    enable_anonymous_sign_ins: z.boolean().default(false),
    minimum_password_length: z.number().int().nonnegative().default(6),
    additional_redirect_urls: z.array(z.string()).default([]),
    email: z.looseObject({
      enable_signup: z.boolean().default(true),
      enable_confirmations: z.boolean().default(false),
      otp_expiry: z.number().int().positive().default(3600),
    }).prefault({}),
  }).prefault({}),
  inbucket: z.looseObject({
    enabled: z.boolean().default(true),
    port: z.number().int().default(54324),
  }).prefault({}),
  storage: z.looseObject({
    file_size_limit: z.string().default("50MiB"),
  }).prefault({}),
  functions: z.record(z.string(), FunctionConfig).default({}),
});

export type FunctionSettings = z.infer<typeof FunctionConfig>;

export interface LocalConfig {
  projectId: string;
  /** The folder holding config.toml (supabase/). */
  supabaseDir: string;
  apiPort: number;
  dbPort: number;
  autoExposeNewTables: boolean;
  /** [api]: what the Data API exposes and how (schemas, extra_search_path, max_rows). */
  api: { schemas: string[]; extraSearchPath: string[]; maxRows: number };
  seedPaths: string[];
  auth: {
    siteUrl: string;
    jwtExpiry: number;
    refreshTokenRotation: boolean;
    refreshTokenReuseInterval: number;
    enableSignup: boolean;
    enableAnonymousSignIns: boolean;
    minimumPasswordLength: number;
    enableConfirmations: boolean;
    /** Where mailed links may lead besides siteUrl (`additional_redirect_urls`). */
    additionalRedirectUrls?: string[];
    /** How long a mailed token is valid, in seconds ([auth.email] otp_expiry; default 3600). */
    otpExpiry?: number;
  };
  /** [inbucket]: the local mailbox's own port (it is also served at <API URL>/mailbox). */
  inbucket: { enabled: boolean; port: number };
  storage: { fileSizeLimit: number };
  functions: Record<string, FunctionSettings>;
}

/** Loads config.toml; throws with the file name when it is not valid. */
export async function loadLocalConfig(configPath: string): Promise<LocalConfig> {
  const text = await Deno.readTextFile(configPath);
  let raw: unknown;
  try {
    raw = parse(text);
  } catch (error) {
    throw new Error(`${configPath} is not valid TOML: ${(error as Error).message}`);
  }
  const parsed = ConfigToml.safeParse(raw);
  if (!parsed.success) {
    throw new Error(
      `${configPath} is not a valid Supabase config: ${z.prettifyError(parsed.error)}`,
    );
  }
  const c = parsed.data;
  const supabaseDir = dirname(resolve(configPath));
  return {
    projectId: c.project_id,
    supabaseDir,
    apiPort: c.api.port,
    dbPort: c.db.port,
    autoExposeNewTables: c.api.auto_expose_new_tables,
    api: {
      schemas: c.api.schemas,
      extraSearchPath: c.api.extra_search_path,
      maxRows: c.api.max_rows,
    },
    seedPaths: c.db.seed.enabled ? c.db.seed.sql_paths.map((p) => resolve(supabaseDir, p)) : [],
    auth: {
      siteUrl: c.auth.site_url,
      jwtExpiry: c.auth.jwt_expiry,
      refreshTokenRotation: c.auth.enable_refresh_token_rotation,
      refreshTokenReuseInterval: c.auth.refresh_token_reuse_interval,
      enableSignup: c.auth.enable_signup && c.auth.email.enable_signup,
      enableAnonymousSignIns: c.auth.enable_anonymous_sign_ins,
      minimumPasswordLength: c.auth.minimum_password_length,
      enableConfirmations: c.auth.email.enable_confirmations,
      additionalRedirectUrls: c.auth.additional_redirect_urls,
      otpExpiry: c.auth.email.otp_expiry,
    },
    inbucket: { enabled: c.inbucket.enabled, port: c.inbucket.port },
    storage: { fileSizeLimit: parseSize(c.storage.file_size_limit) },
    functions: c.functions,
  };
}

const UNITS: Record<string, number> = {
  "": 1,
  b: 1,
  kb: 1e3,
  kib: 1024,
  mb: 1e6,
  mib: 1024 ** 2,
  gb: 1e9,
  gib: 1024 ** 3,
};

/** Parses a size such as "50MiB" or "10MB" into bytes. */
export function parseSize(size: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(size);
  const unit = UNITS[match?.[2]?.toLowerCase() ?? "x"];
  if (!match || unit === undefined) throw new Error(`Invalid size: "${size}"`);
  return Math.floor(Number(match[1]) * unit);
}
