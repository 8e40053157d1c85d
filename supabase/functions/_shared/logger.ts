/**
 * One JSON line per event: `{ level, msg, fn, request_id?, ...fields }`. The only module that
 * touches `console`. Fields whose names look like credentials or content are masked, so a token,
 * a key, a password or a prompt never reaches the logs by accident.
 */
import type { LogLevel } from "./config.ts";

export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  /** A logger that adds `fields` to every line. */
  child(fields: LogFields): Logger;
}

export type LogSink = (line: string, level: LogLevel) => void;

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

const SENSITIVE = /authorization|apikey|api_key|password|secret|token|cookie|prompt|content|body/i;

/** Writes errors to stderr and the rest to stdout. */
export const consoleSink: LogSink = (line, level) => {
  // deno-lint-ignore no-console
  if (level === "error" || level === "warn") console.error(line);
  // deno-lint-ignore no-console
  else console.log(line);
};

export function createLogger(
  base: LogFields,
  options: { level?: LogLevel; sink?: LogSink } = {},
): Logger {
  const minimum = RANK[options.level ?? "info"];
  const sink = options.sink ?? consoleSink;

  const write = (level: LogLevel, msg: string, fields: LogFields = {}) => {
    if (RANK[level] < minimum) return;
    sink(JSON.stringify({ level, msg, ...base, ...mask(fields) }, replacer), level);
  };

  return {
    debug: (msg, fields) => write("debug", msg, fields),
    info: (msg, fields) => write("info", msg, fields),
    warn: (msg, fields) => write("warn", msg, fields),
    error: (msg, fields) => write("error", msg, fields),
    child: (fields) => createLogger({ ...base, ...mask(fields) }, options),
  };
}

function mask(fields: LogFields): LogFields {
  const out: LogFields = {};
  for (const [key, value] of Object.entries(fields)) {
    out[key] = SENSITIVE.test(key) && value !== undefined && value !== null ? "[redacted]" : value;
  }
  return out;
}

/** Errors serialise to their name and message (and SQLSTATE), never their whole object. */
function replacer(_key: string, value: unknown): unknown {
  if (value instanceof Error) {
    const code = (value as { code?: unknown }).code;
    return { name: value.name, message: value.message, ...(code ? { code } : {}) };
  }
  if (typeof value === "bigint") return value.toString();
  return value;
}
