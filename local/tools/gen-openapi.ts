/**
 * `npx deno task gen:openapi`: the OpenAPI 3.1 document of every function route, generated from
 * the same zod contracts the functions validate with (`_shared/contracts/routes.ts`, through
 * zod's own JSON Schema output), written to `docs/openapi.json`. `--check` writes nothing and
 * exits 1 when the committed document is stale. The local stack serves it at
 * `<API URL>/docs/openapi.json`.
 */
// deno-lint-ignore-file no-console
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { z } from "zod";
import {
  type RouteAuth,
  type RouteContract,
  ROUTES,
} from "../../supabase/functions/_shared/contracts/routes.ts";
import { STATUS_BY_CODE } from "../../supabase/functions/_shared/errors.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
export const OPENAPI_FILE = join(ROOT, "docs", "openapi.json");

type Json = Record<string, unknown>;

const SECURITY: Record<RouteAuth, Array<Record<string, string[]>>> = {
  user: [{ userJwt: [] }],
  service: [{ serviceKey: [] }, { jobSecret: [] }],
  user_or_service: [{ userJwt: [] }, { serviceKey: [] }],
  job: [{ jobSecret: [] }, { serviceKey: [] }],
};

const ERRORS: Array<[number, string]> = [
  [400, "Invalid input (`invalid_request`), with the issues in `details`"],
  [401, "No or invalid credential (`unauthenticated`)"],
  [403, "Not allowed (`forbidden`)"],
  [404, "Not found, or not visible to the caller (`not_found`)"],
  [409, "Conflict (`conflict`)"],
  [413, "Too large (`payload_too_large`)"],
  [429, "Rate limited (`rate_limited`), with `Retry-After`"],
  [502, "The AI provider failed (`upstream_error`)"],
  [504, "The AI provider or the database timed out (`upstream_timeout`)"],
];

function schema(type: z.ZodType, io: "input" | "output"): Json {
  const json = z.toJSONSchema(type, { io, unrepresentable: "any" }) as Json;
  delete json.$schema;
  return json;
}

function operation(route: RouteContract): Json {
  const parameters: Json[] = [];
  for (const [name, description] of Object.entries(route.params ?? {})) {
    parameters.push({
      name,
      in: "path",
      required: true,
      description,
      schema: { type: "string", format: "uuid" },
    });
  }
  if (route.query) {
    const q = schema(route.query, "input") as {
      properties?: Record<string, Json>;
      required?: string[];
    };
    for (const [name, s] of Object.entries(q.properties ?? {})) {
      parameters.push({
        name,
        in: "query",
        required: q.required?.includes(name) ?? false,
        schema: s,
      });
    }
  }
  for (const [name, description] of Object.entries(route.headers ?? {})) {
    parameters.push({
      name,
      in: "header",
      required: false,
      description,
      schema: { type: "string" },
    });
  }
  const responses: Json = {};
  for (const [status, r] of Object.entries(route.responses)) {
    const content: Json = {};
    if (r.schema) content["application/json"] = { schema: schema(r.schema, "output") };
    if (r.eventStream) {
      content["text/event-stream"] = { schema: { type: "string", description: r.eventStream } };
    }
    responses[status] = {
      description: r.description,
      ...(Object.keys(content).length ? { content } : {}),
    };
  }
  for (const [status, description] of ERRORS) {
    responses[String(status)] = { $ref: `#/components/responses/Error${status}`, description };
  }
  const id = `${route.method}${camel(route.function)}${camel(route.path.replace(/[{}]/g, ""))}`;
  return {
    operationId: id,
    tags: [route.function],
    summary: route.summary,
    security: SECURITY[route.auth],
    ...(parameters.length ? { parameters } : {}),
    ...(route.body
      ? {
        requestBody: {
          required: true,
          content: { "application/json": { schema: schema(route.body, "input") } },
        },
      }
      : {}),
    responses,
  };
}

function camel(text: string): string {
  return text.split(/[^a-zA-Z0-9]+/).filter(Boolean)
    .map((w) => w[0]!.toUpperCase() + w.slice(1)).join("");
}

/** The document, as a JSON string (stable: the same contracts give the same bytes). */
export function generateOpenApi(): string {
  const paths: Record<string, Json> = {};
  for (const route of ROUTES) {
    const path = `/${route.function}${route.path}`;
    paths[path] = { ...(paths[path] ?? {}), [route.method]: operation(route) };
  }
  const errorBody = {
    type: "object",
    required: ["error", "request_id"],
    properties: {
      error: {
        type: "object",
        required: ["code", "message"],
        properties: {
          code: { type: "string", enum: Object.keys(STATUS_BY_CODE) },
          message: { type: "string" },
          details: {},
        },
      },
      request_id: { type: "string" },
    },
  };
  const responses: Json = {};
  for (const [status, description] of ERRORS) {
    responses[`Error${status}`] = {
      description,
      content: { "application/json": { schema: { $ref: "#/components/schemas/ErrorBody" } } },
    };
  }
  const document = {
    openapi: "3.1.0",
    info: {
      title: "Agent backend for Supabase: edge functions",
      version: "1.0.0",
      description: "The function routes, generated from the zod contracts in " +
        "supabase/functions/_shared/contracts. Client apps call them with " +
        "`supabase.functions.invoke(<function>, { body })` or the typed client in shared/.",
    },
    servers: [
      { url: "http://127.0.0.1:54321/functions/v1", description: "The local stack" },
      {
        url: "https://{project_ref}.supabase.co/functions/v1",
        description: "A hosted Supabase project",
        variables: { project_ref: { default: "your-project-ref" } },
      },
    ],
    tags: [...new Set(ROUTES.map((r) => r.function))].map((name) => ({ name })),
    paths,
    components: {
      securitySchemes: {
        userJwt: {
          type: "http",
          scheme: "bearer",
          bearerFormat: "JWT",
          description: "A signed-in user's access token (supabase.auth)",
        },
        serviceKey: {
          type: "http",
          scheme: "bearer",
          description: "The service_role key or an sb_secret_ key (servers only)",
        },
        jobSecret: {
          type: "http",
          scheme: "bearer",
          description: "JOB_SECRET, the dedicated credential of the queue's dispatcher",
        },
      },
      schemas: { ErrorBody: errorBody },
      responses,
    },
  };
  return JSON.stringify(document, null, 2) + "\n";
}

if (import.meta.main) {
  const text = generateOpenApi();
  const current = await Deno.readTextFile(OPENAPI_FILE).catch(() => null);
  if (Deno.args.includes("--check")) {
    if (current !== text) {
      console.error(`stale: ${OPENAPI_FILE} (run npx deno task gen:openapi)`);
      Deno.exit(1);
    }
  } else if (current !== text) {
    await Deno.writeTextFile(OPENAPI_FILE, text);
    console.error(`wrote ${OPENAPI_FILE}`);
  } else {
    console.error("docs/openapi.json is up to date");
  }
}
