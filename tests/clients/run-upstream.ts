/**
 * Runs the official clients' own integration suites (supabase-js: auth-js, storage-js,
 * functions-js, postgrest-js) against the local stack and prints their pass rates. Their code is not part of
 * this repository: point SUPABASE_JS_DIR at a checkout of github.com/supabase/supabase-js
 * (the folder holding packages/core/). Without it the script says so and exits 0.
 *
 *   SUPABASE_JS_DIR=/path/to/supabase-js npx deno run --allow-all tests/clients/run-upstream.ts
 *
 * It copies the three packages to a work folder (UPSTREAM_WORK_DIR, default a temporary one),
 * installs their test tooling with npm (jest, ts-jest; no Docker), boots the local stack on
 * 127.0.0.1:54321 (the suites hard-code the CLI's port) for each package, with the package's own
 * test project (test/supabase: config.toml, seed.sql), and runs jest with type-check diagnostics
 * off. The suites are adapted only where they assume the CLI's Docker stack (ADAPTATIONS below):
 * keys (the stack's HS256 keys instead of RS256 ones from a generated signing_keys.json), the
 * URL of the functions (the gateway's /functions/v1 instead of a Docker relay per function), and
 * the test functions' `deno.land/std` import (no network). The summary is printed and written to
 * <work>/summary.json. Not part of `deno task test`: it needs the checkout and npm.
 */
// deno-lint-ignore-file no-console
import { dirname, join } from "node:path";
import { DEFAULT_JWT_SECRET } from "../../local/keys.ts";
import { type Stack, startStack } from "../../local/stack.ts";

const PACKAGES = ["auth-js", "storage-js", "functions-js", "postgrest-js"] as const;
type Package = (typeof PACKAGES)[number];

/** Test tooling the suites need (versions of the supabase-js workspace catalog). */
const TOOLING = {
  "jest": "30.4.2",
  "ts-jest": "^29.4.9",
  "typescript": "~5.8.3",
  "@types/jest": "30.0.0",
  "@types/node": "20.19.9",
  "@faker-js/faker": "^9.9.0",
  "jsonwebtoken": "^9.0.0",
  "@types/jsonwebtoken": "^8.5.8",
  "tslib": "2.8.1",
  "iceberg-js": "^0.8.1",
  "prettier": "^3.6.2",
  "jest-mock-server": "^0.1.0",
  "nanoid": "3.3.11",
  "jest-environment-jsdom": "30.4.1",
  "zod": "^3.25.76",
  "type-fest": "^4.32.0",
};

interface Adaptation {
  file: string;
  why: string;
  apply(text: string): string;
}

/** Each must change its file; a suite that no longer matches is reported, not run half-adapted. */
const ADAPTATIONS: Record<Package, Adaptation[]> = {
  "auth-js": [{
    file: "test/lib/clients.ts",
    why:
      "keys: HS256 with the stack's JWT secret instead of RS256 from a generated signing_keys.json",
    apply: (text) =>
      text
        .replace(
          /const signingKeysPath[\s\S]*?const privateKey = [^\n]*\n/,
          "const privateKey = GOTRUE_JWT_SECRET\n",
        )
        .replaceAll(/\{ algorithm: 'RS256', keyid: rsaKey\.kid \}/g, "{ algorithm: 'HS256' }"),
  }],
  "storage-js": [],
  // postgrest-js: its test project (test/supabase: config.toml, the migration of its test schema,
  // seed.sql) boots as it is but for PostGIS; its clients send no key (the CLI's Kong passes that).
  "postgrest-js": [{
    file: "test/supabase/migrations/00000000000000_schema.sql",
    why: "no PostGIS in PGlite: shops.shop_geom as text (the GeoJSON tests fail, as they should)",
    apply: (text) =>
      text
        .replace(/create extension if not exists postgis schema extensions;/, "")
        .replace(/shop_geom extensions\.geometry\(POINT, 4326\)/, "shop_geom text"),
  }, {
    file: "test/supabase/config.toml",
    why: "grants: the suite predates auto_expose_new_tables = false (new tables granted to the " +
      "API roles, as the CLI it was written for did)",
    apply: (text) => text.replace(/\[api\]\n/, "[api]\nauto_expose_new_tables = true\n"),
  }],
  "functions-js": [
    {
      file: "test/relay/container.ts",
      why: "URL: the stack's gateway serves every test function; no Docker relay per function",
      apply: () =>
        `// Adapted by tests/clients/run-upstream.ts: the local stack serves the functions.
export class Relay {
  container = { getMappedPort: (_port: number) => '54321/functions/v1' }
  async stop(): Promise<void> {}
}
export async function runRelay(..._args: unknown[]): Promise<Relay> {
  return new Relay()
}
`,
    },
    ...["hello", "hijack", "params", "timeout"].map((
      spec,
    ) => ({
      file: `test/spec/${spec}.spec.ts`,
      why: "keys: tokens signed with the stack's JWT secret instead of a random one per relay",
      apply: (text: string) =>
        text.replace(
          /const jwtSecret = nanoid\(10\)/g,
          `const jwtSecret = '${DEFAULT_JWT_SECRET}'`,
        ),
    })),
  ],
};

/** supabase/config.toml for the functions-js test project (it has none: it used relays). */
const FUNCTIONS_CONFIG = `project_id = "functions-js-tests"
[functions.hello]
verify_jwt = true
[functions.mirror]
verify_jwt = true
[functions.hijack]
verify_jwt = true
[functions.slow]
verify_jwt = true
`;

async function main(): Promise<number> {
  const source = Deno.env.get("SUPABASE_JS_DIR");
  if (!source || !await exists(join(source, "packages/core/auth-js"))) {
    console.log(
      "Skipped: set SUPABASE_JS_DIR to a checkout of github.com/supabase/supabase-js " +
        "(the folder holding packages/core/) to run its client suites against the local stack.",
    );
    return 0;
  }
  const work = Deno.env.get("UPSTREAM_WORK_DIR") ??
    await Deno.makeTempDir({ prefix: "supabase-js-suites-" });
  const only = Deno.args.length > 0 ? Deno.args : [...PACKAGES];
  console.log(`Work folder: ${work}`);
  await prepare(source, work);

  const summary: Record<string, unknown> = {};
  for (const pkg of PACKAGES.filter((p) => only.includes(p))) {
    const dir = join(work, "packages/core", pkg);
    const problems = await adapt(pkg, dir);
    if (problems.length > 0) {
      summary[pkg] = { skipped: problems };
      console.log(`${pkg}: not run, the suite changed:\n  ${problems.join("\n  ")}`);
      continue;
    }
    const stack = await bootFor(pkg, dir);
    let result: JestSummary;
    try {
      result = await runJest(pkg, dir, work);
    } finally {
      await stack.stop();
    }
    summary[pkg] = result;
    console.log(
      `${pkg}: ${result.passed} passed, ${result.failed} failed, ${result.skipped} skipped ` +
        `(${result.total} tests)`,
    );
    for (const name of result.failures) console.log(`  failed: ${name}`);
  }
  await Deno.writeTextFile(join(work, "summary.json"), JSON.stringify(summary, null, 2));
  console.log(`Summary: ${join(work, "summary.json")}`);
  return 0;
}

async function prepare(source: string, work: string): Promise<void> {
  for (const pkg of PACKAGES) {
    const target = join(work, "packages/core", pkg);
    await Deno.remove(target, { recursive: true }).catch(() => {});
    await Deno.mkdir(dirname(target), { recursive: true });
    await run("cp", ["-R", join(source, "packages/core", pkg), target]);
  }
  await Deno.copyFile(join(source, "tsconfig.base.json"), join(work, "tsconfig.base.json"))
    .catch(() => {});
  const manifest = JSON.stringify({
    name: "supabase-js-suites",
    private: true,
    devDependencies: TOOLING,
  });
  const installed = await Deno.readTextFile(join(work, "package.json")).catch(() => "");
  if (installed !== manifest || !await exists(join(work, "node_modules/jest"))) {
    await Deno.writeTextFile(join(work, "package.json"), manifest);
    console.log("Installing the suites' test tooling with npm...");
    await run("npm", ["install", "--no-audit", "--no-fund", "--loglevel=error"], work);
  }
}

async function adapt(pkg: Package, dir: string): Promise<string[]> {
  const problems: string[] = [];
  for (const { file, why, apply } of ADAPTATIONS[pkg]) {
    const path = join(dir, file);
    const before = await Deno.readTextFile(path).catch(() => "");
    const after = apply(before);
    if (after === before) problems.push(`${file}: the adaptation (${why}) no longer applies`);
    else await Deno.writeTextFile(path, after);
  }
  if (pkg === "functions-js") {
    // The test functions as a project: config.toml, and each function without its deno.land import.
    const project = join(dir, "test/supabase");
    await Deno.mkdir(join(project, "functions"), { recursive: true });
    await Deno.writeTextFile(join(project, "config.toml"), FUNCTIONS_CONFIG);
    for await (const entry of Deno.readDir(join(dir, "test/functions"))) {
      const text = await Deno.readTextFile(join(dir, "test/functions", entry.name, "index.ts"));
      await Deno.mkdir(join(project, "functions", entry.name), { recursive: true });
      await Deno.writeTextFile(
        join(project, "functions", entry.name, "index.ts"),
        text.replace(
          /import \{ serve \} from 'https:\/\/deno\.land\/std\/http\/server\.ts'/,
          "const serve = (handler: (request: Request) => Response | Promise<Response>) =>\n" +
            "  Deno.serve(handler)",
        ),
      );
    }
  }
  return problems;
}

function bootFor(pkg: Package, dir: string): Promise<Stack> {
  return startStack({
    rootDir: join(dir, "test"),
    apiPort: 54321,
    dbPort: 0,
    dataDir: null,
    workers: false,
    functionLogLevel: "error",
    functionLogSink: () => {},
    ...(pkg === "functions-js" ? { functionsMode: "isolated" as const } : {}),
  });
}

interface JestSummary {
  total: number;
  passed: number;
  failed: number;
  skipped: number;
  failures: string[];
}

async function runJest(pkg: Package, dir: string, work: string): Promise<JestSummary> {
  const config = {
    rootDir: dir,
    testEnvironment: "node",
    transform: {
      "^.+\\.tsx?$": ["ts-jest", { tsconfig: join(dir, "tsconfig.test.json"), diagnostics: false }],
    },
    testPathIgnorePatterns: ["/node_modules/", "/docker-tests/", "/example/"],
    testTimeout: 60_000,
    ...(pkg === "functions-js"
      ? { setupFilesAfterEnv: ["./test/utils/jest-custom-reporter.ts"], maxWorkers: 1 }
      : {}),
    // postgrest-js: its own order (the files share the database) and one worker.
    ...(pkg === "postgrest-js"
      ? { testSequencer: join(dir, "test/testSequencer.js"), maxWorkers: 1 }
      : {}),
  };
  const configPath = join(work, `jest.${pkg}.json`);
  const outputPath = join(work, `jest.${pkg}.result.json`);
  await Deno.writeTextFile(configPath, JSON.stringify(config));
  await run(
    join(work, "node_modules/.bin/jest"),
    [
      "--config",
      configPath,
      "--json",
      "--outputFile",
      outputPath,
      "--silent",
      "--forceExit",
      // postgrest-js asserts with inline snapshots: --ci compares them, never writes new ones.
      ...(pkg === "postgrest-js" ? ["--ci"] : []),
    ],
    dir,
    { allowFailure: true },
  );
  const report = JSON.parse(await Deno.readTextFile(outputPath)) as {
    numTotalTests: number;
    numPassedTests: number;
    numFailedTests: number;
    numPendingTests: number;
    testResults: Array<
      { name: string; assertionResults: Array<{ fullName: string; status: string }> }
    >;
  };
  return {
    total: report.numTotalTests,
    passed: report.numPassedTests,
    failed: report.numFailedTests,
    skipped: report.numPendingTests,
    failures: report.testResults.flatMap((file) =>
      file.assertionResults.filter((a) => a.status === "failed").map((a) =>
        `${file.name.slice(dir.length + 1)}: ${a.fullName}`
      )
    ),
  };
}

async function run(
  command: string,
  args: string[],
  cwd?: string,
  options: { allowFailure?: boolean } = {},
): Promise<void> {
  const { code } = await new Deno.Command(command, {
    args,
    ...(cwd ? { cwd } : {}),
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  if (code !== 0 && !options.allowFailure) {
    throw new Error(`${command} ${args.join(" ")} exited with ${code}`);
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

if (import.meta.main) Deno.exit(await main());
