/**
 * docs/openapi.json is generated from the contracts (`npx deno task gen:openapi`): it must be
 * fresh, and every route the function apps serve must be in the route contracts it comes from.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { generateOpenApi, OPENAPI_FILE } from "../../local/tools/gen-openapi.ts";
import { REPO_ROOT } from "../../local/stack.ts";
import { loadConfig } from "../../supabase/functions/_shared/config.ts";
import { ROUTES } from "../../supabase/functions/_shared/contracts/routes.ts";
import type { Deps } from "../../supabase/functions/_shared/deps.ts";
import { createLogger } from "../../supabase/functions/_shared/logger.ts";

Deno.test("docs/openapi.json is fresh (run `npx deno task gen:openapi`)", async () => {
  assert.equal(await Deno.readTextFile(OPENAPI_FILE), generateOpenApi());
});

Deno.test("every route the function apps serve has a contract in the OpenAPI document", async () => {
  const deps = {
    config: loadConfig({
      SUPABASE_URL: "http://127.0.0.1:1",
      SUPABASE_ANON_KEY: "anon",
      SUPABASE_SERVICE_ROLE_KEY: "service",
    }),
    db: {},
    verifyJwt: () => Promise.reject(new Error("unused")),
    logger: createLogger({}, { level: "error" }),
    now: () => new Date(),
  } as unknown as Deps;
  const documented = new Set(
    ROUTES.map((r) =>
      `${r.method.toUpperCase()} /${r.function}${r.path.replace(/\{(\w+)\}/g, ":$1")}`
    ),
  );
  const served = new Set<string>();
  const functionsDir = join(REPO_ROOT, "supabase", "functions");
  for await (const entry of Deno.readDir(functionsDir)) {
    if (!entry.isDirectory || entry.name.startsWith("_")) continue;
    const module = await import(pathToFileURL(join(functionsDir, entry.name, "app.ts")).href);
    const app = module.createApp(deps) as { routes: Array<{ method: string; path: string }> };
    for (const route of app.routes) {
      if (route.method === "ALL" || route.path.endsWith("*")) continue; // middleware
      const method = route.method === "GET" || route.method === "POST" ? route.method : null;
      if (!method) continue;
      served.add(`${method} ${route.path.replace(/\/$/, "")}`);
    }
  }
  const missing = [...served].filter((r) => !documented.has(r));
  assert.deepEqual(missing, [], "served routes without a contract");
  const stale = [...documented].filter((r) => !served.has(r));
  assert.deepEqual(stale, [], "contracts of routes no app serves");
  const openapi = JSON.parse(generateOpenApi());
  for (const route of ROUTES) {
    const op = openapi.paths[`/${route.function}${route.path}`]?.[route.method];
    assert.ok(op, `${route.method} ${route.function}${route.path} in the document`);
    if (route.body) assert.ok(op.requestBody.content["application/json"].schema);
    assert.ok(Object.values(op.responses).some((r) => (r as { content?: unknown }).content));
  }
});
