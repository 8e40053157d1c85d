import assert from "node:assert/strict";
import { join } from "node:path";
import { functionEnvironment, loadJobSecret, parseDotenv } from "../../local/function-env.ts";

Deno.test("parseDotenv() reads NAME=value lines as the Supabase CLI does", () => {
  const vars = parseDotenv([
    "# a comment",
    "",
    "PLAIN=value with spaces  # trailing comment",
    "export EXPORTED=yes",
    "EMPTY=",
    "SINGLE='literal \\n #not a comment'",
    'DOUBLE="line one\\nline \\"two\\""',
    'MULTI="first',
    'second"',
    "URL=http://127.0.0.1:9999/v1#fragment",
  ].join("\n"));
  assert.deepEqual(vars, {
    PLAIN: "value with spaces",
    EXPORTED: "yes",
    EMPTY: "",
    SINGLE: "literal \\n #not a comment",
    DOUBLE: 'line one\nline "two"',
    MULTI: "first\nsecond",
    URL: "http://127.0.0.1:9999/v1#fragment",
  });
});

Deno.test("parseDotenv() names the file and line of a malformed line", () => {
  assert.throws(
    () => parseDotenv("OK=1\nnot a pair\n", "x/.env"),
    /x\/\.env:2: expected NAME=value/,
  );
  assert.throws(() => parseDotenv('A="open', "f"), /f:1: unterminated/);
  assert.throws(() => parseDotenv("1BAD=x", "f"), /f:1/);
});

Deno.test("functionEnvironment() layers .env < --env-file < environment < stack < overrides", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const dotenv = join(dir, ".env");
    const envFile = join(dir, "extra.env");
    await Deno.writeTextFile(
      dotenv,
      "OPENAI_API_KEY=from-dotenv\nOPENAI_CHAT_MODEL=dotenv-model\nMY_SECRET=kept\n" +
        "SUPABASE_URL=http://evil.example\nAI_TIMEOUT_MS=1000\n",
    );
    await Deno.writeTextFile(envFile, "OPENAI_CHAT_MODEL=file-model\nAI_TIMEOUT_MS=2000\n");
    const warnings: string[] = [];
    const env = await functionEnvironment({
      dotenvPath: dotenv,
      envFile,
      processEnv: {
        AI_TIMEOUT_MS: "3000",
        PATH: "/usr/bin",
        SUPABASE_ANON_KEY: "from-shell",
        HOME: "/root",
      },
      stack: { SUPABASE_URL: "http://127.0.0.1:54321", SUPABASE_ANON_KEY: "stack-anon" },
      overrides: { OPENAI_API_KEY: "from-test" },
      warn: (message) => warnings.push(message),
    });
    assert.deepEqual(env, {
      OPENAI_API_KEY: "from-test",
      OPENAI_CHAT_MODEL: "file-model",
      MY_SECRET: "kept",
      AI_TIMEOUT_MS: "3000",
      SUPABASE_URL: "http://127.0.0.1:54321",
      SUPABASE_ANON_KEY: "stack-anon",
    });
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /SUPABASE_URL is skipped/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("functionEnvironment() works without a .env file and fails on a missing --env-file", async () => {
  const env = await functionEnvironment({
    dotenvPath: "/nonexistent/.env",
    stack: { SUPABASE_URL: "http://x" },
  });
  assert.deepEqual(env, { SUPABASE_URL: "http://x" });
  await assert.rejects(
    functionEnvironment({ envFile: "/nonexistent/extra.env", stack: {} }),
    Deno.errors.NotFound,
  );
});

Deno.test("the job secret is the one given, else kept in the data folder across boots", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const given = "g".repeat(40);
    assert.equal(await loadJobSecret(given, dir), given);
    const first = await loadJobSecret(undefined, dir);
    assert.ok(first.length >= 32);
    assert.equal(await loadJobSecret(undefined, dir), first);
    assert.equal((await Deno.stat(join(dir, "job-secret"))).mode! & 0o777, 0o600);
    const inMemory = await loadJobSecret(undefined, null);
    assert.notEqual(inMemory, first);

    const env = await functionEnvironment({
      stack: {},
      overrides: { JOB_SECRET: given },
      jobSecret: (value) => loadJobSecret(value, dir),
    });
    assert.equal(env.JOB_SECRET, given);
    const generated = await functionEnvironment({
      stack: {},
      jobSecret: (value) => loadJobSecret(value, dir),
    });
    assert.equal(generated.JOB_SECRET, first);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
