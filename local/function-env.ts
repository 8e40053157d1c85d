/**
 * The environment the local stack gives its functions, as `supabase functions serve` does, built
 * in one place for both ways of running them (in process: `loadConfig(env)` builds their Deps;
 * isolated: the process environment of each function).
 *
 * Layers, later ones win:
 *   1. `supabase/functions/.env` (git-ignored; `.env.example` documents every variable)
 *   2. `--env-file <path>` of `npx deno task start`
 *   3. the environment of the `npx deno task start` process, only the variables the functions'
 *      config reads (FUNCTION_ENV_NAMES), so `OPENAI_API_KEY=... npx deno task start` works and
 *      PATH, HOME and the like stay out
 *   4. the stack's own: SUPABASE_URL, the keys, SUPABASE_DB_URL, JWKS, JWT_SECRET, JOB_SECRET
 *   5. `functionEnv` of startStack() (tests)
 * As with the CLI, names starting with SUPABASE_ are the platform's: layers 1 to 3 cannot set
 * them (they are skipped, with a warning).
 */
import { FUNCTION_ENV_NAMES } from "../supabase/functions/_shared/config.ts";

export interface FunctionEnvOptions {
  /** Path of supabase/functions/.env (a missing file is fine). */
  dotenvPath?: string;
  /** Path given with --env-file (must exist). */
  envFile?: string;
  /** The starting process's environment (Deno.env.toObject()). */
  processEnv?: Record<string, string>;
  /** The stack's own variables (layer 4). */
  stack: Record<string, string>;
  /** Highest precedence (tests). */
  overrides?: Record<string, string>;
  /** Told about skipped names. */
  warn?: (message: string) => void;
  /**
   * Decides JOB_SECRET from the one the user layers or overrides give (if any), e.g.
   * `(given) => loadJobSecret(given, dataDir)`; the result goes in the stack's layer.
   */
  jobSecret?: (given: string | undefined) => Promise<string>;
}

/** The functions' environment, from the layers above. */
export async function functionEnvironment(
  options: FunctionEnvOptions,
): Promise<Record<string, string>> {
  const warn = options.warn ?? (() => {});
  const user: Record<string, string> = {};
  const add = (source: string, vars: Record<string, string>) => {
    for (const [name, value] of Object.entries(vars)) {
      if (name.startsWith("SUPABASE_")) {
        warn(`${source}: ${name} is skipped (names starting with SUPABASE_ are reserved)`);
        continue;
      }
      user[name] = value;
    }
  };

  if (options.dotenvPath) {
    const text = await readOptional(options.dotenvPath);
    if (text !== null) add(options.dotenvPath, parseDotenv(text, options.dotenvPath));
  }
  if (options.envFile) {
    add(options.envFile, parseDotenv(await Deno.readTextFile(options.envFile), options.envFile));
  }
  const known = new Set(FUNCTION_ENV_NAMES);
  const fromProcess = Object.fromEntries(
    Object.entries(options.processEnv ?? {}).filter(([name]) =>
      known.has(name) && !name.startsWith("SUPABASE_")
    ),
  );
  add("environment", fromProcess);
  const stack = { ...options.stack };
  if (options.jobSecret) {
    stack.JOB_SECRET = await options.jobSecret(options.overrides?.JOB_SECRET || user.JOB_SECRET);
  }
  return { ...user, ...stack, ...options.overrides };
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Parses a dotenv file as the Supabase CLI reads one: `NAME=value` lines, optional `export `,
 * `#` comments, single quotes literal, double quotes with \n \t \" \\ escapes (and may span
 * lines), unquoted values trimmed and cut at ` #`. A malformed line is an error naming it.
 */
export function parseDotenv(text: string, source = ".env"): Record<string, string> {
  const vars: Record<string, string> = {};
  const lines = text.replace(/^\uFEFF/, "").split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    const line = lines[i]!.trim();
    if (line === "" || line.startsWith("#")) continue;
    const match = /^(?:export\s+)?([^=\s]+)\s*=\s*(.*)$/.exec(line);
    if (!match || !NAME.test(match[1]!)) {
      throw new Error(`${source}:${lineNo}: expected NAME=value`);
    }
    const name = match[1]!;
    let raw = match[2]!;
    let value: string;
    if (raw.startsWith('"')) {
      // A double-quoted value may continue over the next lines until its closing quote.
      while (!/^"(?:[^"\\]|\\.)*"/.test(raw) && i + 1 < lines.length) raw += "\n" + lines[++i];
      const quoted = /^"((?:[^"\\]|\\.)*)"\s*(?:#.*)?$/.exec(raw);
      if (!quoted) throw new Error(`${source}:${lineNo}: unterminated double-quoted value`);
      value = quoted[1]!.replace(
        /\\(.)/g,
        (_, c: string) => c === "n" ? "\n" : c === "t" ? "\t" : c === "r" ? "\r" : c,
      );
    } else if (raw.startsWith("'")) {
      const quoted = /^'([^']*)'\s*(?:#.*)?$/.exec(raw);
      if (!quoted) throw new Error(`${source}:${lineNo}: unterminated single-quoted value`);
      value = quoted[1]!;
    } else {
      value = raw.replace(/\s+#.*$/, "").trim();
    }
    vars[name] = value;
  }
  return vars;
}

/** The job secret: given, else kept in the data folder, else new (and kept there when possible). */
export async function loadJobSecret(
  given: string | undefined,
  dataDir: string | null,
): Promise<string> {
  if (given) return given;
  const path = dataDir ? `${dataDir}/job-secret` : null;
  if (path) {
    const kept = (await readOptional(path))?.trim();
    if (kept && kept.length >= 32) return kept;
  }
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  const secret = "job_" + btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-")
    .replace(/\//g, "_").replace(/=+$/, "");
  if (path) await Deno.writeTextFile(path, secret + "\n", { mode: 0o600 });
  return secret;
}

async function readOptional(path: string): Promise<string | null> {
  try {
    return await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return null;
    throw error;
  }
}
