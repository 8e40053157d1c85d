import assert from "node:assert/strict";
import { ConfigError, loadConfig } from "../../supabase/functions/_shared/config.ts";
import { createLogger } from "../../supabase/functions/_shared/logger.ts";

const BASE = {
  SUPABASE_URL: "https://abc.supabase.co/",
  SUPABASE_ANON_KEY: "anon",
  SUPABASE_SERVICE_ROLE_KEY: "service",
};

Deno.test("loadConfig() reads the injected Supabase variables and applies defaults", () => {
  const config = loadConfig({ ...BASE, SUPABASE_DB_URL: "postgresql://db" });
  assert.equal(config.supabaseUrl, "https://abc.supabase.co");
  assert.equal(config.databaseUrl, "postgresql://db");
  assert.equal(config.dbPoolSize, 3);
  assert.equal(config.logLevel, "info");
  assert.deepEqual(config.corsOrigins, ["*"]);
  assert.deepEqual(config.serviceKeys, ["service"]);
  assert.equal(config.jwtSecret, undefined);
});

Deno.test("loadConfig() prefers DATABASE_URL (the pooler) and accepts opaque secret keys", () => {
  const config = loadConfig({
    ...BASE,
    SUPABASE_DB_URL: "postgresql://direct",
    DATABASE_URL: "postgresql://pooler:6543",
    SUPABASE_SECRET_KEYS: JSON.stringify({ default: "sb_secret_x" }),
    CORS_ALLOWED_ORIGINS: "https://a.example, https://b.example",
  });
  assert.equal(config.databaseUrl, "postgresql://pooler:6543");
  assert.deepEqual(config.serviceKeys, ["service", "sb_secret_x"]);
  assert.deepEqual(config.corsOrigins, ["https://a.example", "https://b.example"]);
});

Deno.test("loadConfig() names every missing or malformed variable", () => {
  assert.throws(
    () => loadConfig({ SUPABASE_URL: "not a url", JWT_SECRET: "short" }),
    (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      for (
        const name of [
          "SUPABASE_URL",
          "SUPABASE_ANON_KEY",
          "SUPABASE_SERVICE_ROLE_KEY",
          "JWT_SECRET",
        ]
      ) {
        assert.match(error.message, new RegExp(name));
      }
      return true;
    },
  );
  assert.throws(() => loadConfig({ ...BASE, SUPABASE_JWKS: "{bad" }), /SUPABASE_JWKS/);
});

Deno.test("the logger masks credentials and content, and respects the level", () => {
  const lines: string[] = [];
  const logger = createLogger({ fn: "demo" }, { level: "info", sink: (l) => lines.push(l) });
  logger.debug("hidden");
  logger.info("call", { authorization: "Bearer eyJ", apikey: "k", prompt: "hi", user_id: "u1" });
  logger.child({ request_id: "r1" }).warn("slow", { ms: 5 });
  assert.equal(lines.length, 2);
  const first = JSON.parse(lines[0]!);
  assert.deepEqual(first, {
    level: "info",
    msg: "call",
    fn: "demo",
    authorization: "[redacted]",
    apikey: "[redacted]",
    prompt: "[redacted]",
    user_id: "u1",
  });
  assert.deepEqual(JSON.parse(lines[1]!), {
    level: "warn",
    msg: "slow",
    fn: "demo",
    request_id: "r1",
    ms: 5,
  });
});

Deno.test("loadConfig() picks the local AI provider without a key and openai with one", () => {
  const local = loadConfig(BASE);
  assert.equal(local.ai.provider, "local");
  assert.equal(local.ai.chatModel, "gpt-4o-mini");
  assert.equal(local.ai.embeddingModel, "text-embedding-3-small");
  assert.equal(local.ai.timeoutMs, 60_000);
  assert.equal(local.ai.maxRetries, 2);
  assert.equal(local.maxInputChars, 32_000);
  assert.equal(local.jobSecret, undefined);

  const remote = loadConfig({
    ...BASE,
    OPENAI_API_KEY: "sk-test",
    OPENAI_BASE_URL: "http://127.0.0.1:9999/v1/",
    AI_TIMEOUT_MS: "500",
    AI_MAX_RETRIES: "0",
  });
  assert.equal(remote.ai.provider, "openai");
  assert.equal(remote.ai.openaiBaseUrl, "http://127.0.0.1:9999/v1");
  assert.equal(remote.ai.timeoutMs, 500);
  assert.equal(remote.ai.maxRetries, 0);

  assert.equal(
    loadConfig({ ...BASE, OPENAI_API_KEY: "sk-test", AI_PROVIDER: "local" }).ai.provider,
    "local",
  );
  // An empty value in a .env file means unset.
  assert.equal(loadConfig({ ...BASE, OPENAI_API_KEY: "" }).ai.provider, "local");
});

Deno.test("loadConfig() refuses a short JOB_SECRET and openai without a key", () => {
  assert.throws(() => loadConfig({ ...BASE, JOB_SECRET: "short" }), /JOB_SECRET/);
  assert.equal(loadConfig({ ...BASE, JOB_SECRET: "j".repeat(32) }).jobSecret, "j".repeat(32));
  assert.throws(() => loadConfig({ ...BASE, AI_PROVIDER: "openai" }), /OPENAI_API_KEY/);
  assert.throws(() => loadConfig({ ...BASE, AI_PROVIDER: "gemini" }), /AI_PROVIDER/);
});
