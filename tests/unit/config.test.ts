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
