/**
 * `/rest/v1`: the Data API with PostgREST's semantics for what supabase-js (postgrest-js) sends.
 *
 * Each request runs in one transaction of the shared session that first does what PostgREST
 * does: `set local role` from the JWT (no token: anon; the gateway already turned opaque `sb_`
 * keys into the legacy JWTs), `request.jwt.claims` (and the legacy `request.jwt.claim.*`),
 * `request.method`, `request.path`, `request.headers`, the schema's search_path; GET and HEAD
 * run read-only. RLS and grants decide; errors leave with PostgREST's statuses and bodies.
 *
 * What is not served (answered with PGRST errors, never another route): PUT, aggregates,
 * many-to-many embeds through junction tables, computed relationships, `Prefer: tx=`,
 * `application/geo+json`, `count=planned|estimated` (answered as exact), the OpenAPI root.
 */
import { Hono } from "hono";
import type { LocalKeys } from "../keys.ts";
import type { Session, SessionHandle } from "../postgres/session.ts";
import type { WorkerLog } from "../workers/log.ts";
import {
  fieldSql,
  filterSql,
  groupBySql,
  ident,
  innerJoinFilters,
  levelFilters,
  newContext,
  orderSql,
  rangeSql,
  relationOf,
  selectList,
  type Source,
  sourceOf,
  splitNullEmbedFilters,
  toArrayLiteral,
} from "./build.ts";
import { fromPostgres, RestError } from "./errors.ts";
import { type Level, type ParsedQuery, parseQuery, usesAggregates } from "./parse.ts";
import {
  type Column,
  loadSchemaCache,
  type Relation,
  relationKey,
  type RoutineInfo,
  type SchemaCache,
} from "./schema-cache.ts";

export interface RestOptions {
  session: Session;
  keys: LocalKeys;
  /** config.toml [api] schemas (the first is the default). */
  schemas: readonly string[];
  /** config.toml [api] extra_search_path. */
  extraSearchPath: readonly string[];
  /** config.toml [api] max_rows. */
  maxRows: number;
  log?: WorkerLog;
}

/** The largest request body the Data API reads (PostgREST has no limit; a gateway would). */
const MAX_BODY_BYTES = 10 * 1024 * 1024;

interface Caller {
  role: string;
  claims: Record<string, unknown>;
  authenticated: boolean;
}

interface Prefer {
  return?: "minimal" | "representation" | "headers-only";
  count?: "exact" | "planned" | "estimated";
  resolution?: "merge-duplicates" | "ignore-duplicates";
  missing?: "default";
  params?: "single-object";
  /** `handling=strict` with `max-affected=n`: more rows written (or returned by RPC) fail. */
  maxAffected?: number;
  strict?: boolean;
  tx?: "commit" | "rollback";
}

/** Carries a response out of a transaction that `Prefer: tx=rollback` rolls back. */
class RollbackWith {
  constructor(readonly response: Response) {}
}

type MediaType = "json" | "object" | "object-stripped" | "csv" | "stripped";

/** Builds the Hono app the gateway mounts at /rest/v1. */
export function createRestApp(options: RestOptions): Hono {
  const { session, keys } = options;
  const log = options.log ?? (() => {});
  let cache: SchemaCache | null = null;
  let cacheVersion = 0;
  const exposed = options.schemas.filter((s) => s !== "graphql_public");
  const schemas = exposed.length ? exposed : ["public"];

  const loadCache = async (tx: SessionHandle, force = false) => {
    if (!cache || force) {
      cache = await loadSchemaCache(tx, schemas);
      cacheVersion++;
    }
    return cache;
  };
  session.listen("pgrst", (payload) => {
    if (payload === "reload schema" || payload === "") cache = null;
  }).catch((error) => log({ level: "warn", msg: "LISTEN pgrst failed", error: String(error) }));

  const app = new Hono();

  app.all("/*", async (c) => {
    try {
      const request = c.req.raw;
      const url = new URL(request.url);
      const path = url.pathname.replace(/^\/rest\/v1/, "");
      const method = request.method.toUpperCase();
      const caller = await authenticate(request, keys);
      const schema = pickSchema(request, method, schemas);
      const prefer = parsePrefer(request.headers.get("prefer"));
      const media = mediaType(request.headers.get("accept"));

      if (path === "/" || path === "") {
        throw RestError.of(
          405,
          "PGRST117",
          "The OpenAPI root is not served by the local Data API",
        );
      }
      const rpc = /^\/rpc\/([^/]+)$/.exec(path);
      const table = /^\/([^/]+)$/.exec(path);
      if (!rpc && !table) {
        throw RestError.of(404, "PGRST125", `Invalid path specified in request URL`);
      }
      const body = ["POST", "PATCH", "PUT"].includes(method) ? await readBody(request) : undefined;

      return await session.transaction(async (tx) => {
        await setRequestContext(tx, {
          caller,
          method,
          path: url.pathname,
          request,
          schema,
          options,
        });
        if (method === "GET" || method === "HEAD") await tx.exec("set transaction read only");
        const cacheNow = await loadCache(tx);
        const run = (current: SchemaCache) =>
          rpc
            ? callRoutine(tx, current, {
              schema,
              name: decodeURIComponent(rpc[1]!),
              method,
              url,
              body,
              prefer,
              media,
              maxRows: options.maxRows,
              request,
            })
            : handleTable(tx, current, {
              schema,
              name: decodeURIComponent(table![1]!),
              method,
              url,
              body,
              prefer,
              media,
              maxRows: options.maxRows,
              request,
            });
        const respond = async (response: Response) => {
          // `Prefer: tx=rollback` as PostgREST honours it: only where the authenticator role's
          // pgrst.db_tx_end allows the override (hosted's default, commit, ignores it).
          if (prefer.tx !== "rollback" || !(await txOverrideAllowed(tx))) return response;
          response.headers.set("preference-applied", "tx=rollback");
          throw new RollbackWith(response);
        };
        try {
          return await respond(await run(cacheNow));
        } catch (error) {
          if (error instanceof RollbackWith) throw error;
          // Unknown to the cache: it may be new. Reload once (PostgREST needs a NOTIFY for that).
          if (
            error instanceof RestError &&
            ["PGRST205", "PGRST202", "PGRST204", "PGRST200"].includes(error.body.code)
          ) {
            const version = cacheVersion;
            const fresh = await loadCache(tx, true);
            if (cacheVersion !== version) return await respond(await run(fresh));
          }
          throw error;
        }
      }, `rest:${method} ${path}`);
    } catch (error) {
      if (error instanceof RollbackWith) return error.response;
      return errorResponse(error, c.req.raw, log);
    }
  });
  return app;
}

/** Whether the authenticator role's `pgrst.db_tx_end` ends in `-allow-override`. */
async function txOverrideAllowed(tx: SessionHandle): Promise<boolean> {
  return /-allow-override$/.test(await roleSetting(tx, "pgrst.db_tx_end") ?? "");
}

/** A `pgrst.*` setting of the authenticator role (`alter role authenticator set ...`), as PostgREST reads its in-database configuration. */
async function roleSetting(tx: SessionHandle, name: string): Promise<string | null> {
  const { rows } = await tx.query<{ value: string | null }>(
    `select (select o.option_value
               from pg_db_role_setting s
               join pg_roles r on r.oid = s.setrole
               cross join lateral pg_options_to_table(s.setconfig) o
              where r.rolname = 'authenticator' and o.option_name = $1
              limit 1) as value`,
    [name],
  );
  return rows[0]?.value ?? null;
}

function errorResponse(error: unknown, request: Request, log: WorkerLog): Response {
  let rest: RestError | null = error instanceof RestError ? error : null;
  if (!rest) {
    const authenticated = (request.headers.get("authorization") ?? "") !== "";
    rest = fromPostgres(error, authenticated && !isAnonToken(request));
  }
  if (!rest) {
    log({
      level: "error",
      msg: "data api error",
      path: new URL(request.url).pathname,
      error: String(error),
    });
    rest = RestError.of(500, "PGRST000", "An unexpected error occurred in the local Data API");
  }
  return new Response(JSON.stringify(rest.body), {
    status: rest.status,
    headers: { "content-type": "application/json; charset=utf-8", ...rest.headers },
  });
}

/** Whether the bearer is the anon key (for 42501's 401 vs 403); decoded, not verified. */
function isAnonToken(request: Request): boolean {
  const token = /^Bearer\s+(\S+)$/i.exec(request.headers.get("authorization") ?? "")?.[1];
  if (!token) return true;
  try {
    const payload = JSON.parse(atob(token.split(".")[1]!.replace(/-/g, "+").replace(/_/g, "/")));
    return payload.role === undefined || payload.role === "anon";
  } catch {
    return true;
  }
}

const API_ROLES = new Set(["anon", "authenticated", "service_role"]);

async function authenticate(request: Request, keys: LocalKeys): Promise<Caller> {
  const header = request.headers.get("authorization");
  if (!header) return { role: "anon", claims: { role: "anon" }, authenticated: false };
  const token = /^Bearer\s+(\S+)$/i.exec(header)?.[1];
  if (!token) throw RestError.jwt("No suitable key or wrong key type", "PGRST301");
  let claims: Record<string, unknown>;
  try {
    claims = await keys.verify(token);
  } catch (error) {
    const message = (error as Error).message ?? "";
    if (/exp/i.test(message)) throw RestError.jwt("JWT expired", "PGRST303");
    throw RestError.jwt(`JWSError ${message}`.trim(), "PGRST301");
  }
  const role = typeof claims.role === "string" && claims.role !== "" ? claims.role : "anon";
  if (!API_ROLES.has(role)) {
    throw RestError.of(401, "PGRST301", `Role "${role}" is not allowed to use the Data API`);
  }
  return { role, claims, authenticated: role !== "anon" };
}

function pickSchema(request: Request, method: string, schemas: readonly string[]): string {
  const header = ["GET", "HEAD"].includes(method)
    ? request.headers.get("accept-profile")
    : request.headers.get("content-profile");
  if (!header) return schemas[0]!;
  if (!schemas.includes(header)) throw RestError.schema(header, schemas);
  return header;
}

function parsePrefer(header: string | null): Prefer {
  const prefer: Prefer = {};
  for (const part of (header ?? "").split(",")) {
    const [key, value] = part.trim().split("=").map((s) => s.trim());
    if (!key || !value) continue;
    if (key === "return" && ["minimal", "representation", "headers-only"].includes(value)) {
      prefer.return = value as Prefer["return"];
    } else if (key === "count" && ["exact", "planned", "estimated"].includes(value)) {
      prefer.count = value as Prefer["count"];
    } else if (key === "resolution" && ["merge-duplicates", "ignore-duplicates"].includes(value)) {
      prefer.resolution = value as Prefer["resolution"];
    } else if (key === "missing" && value === "default") prefer.missing = "default";
    else if (key === "params" && value === "single-object") prefer.params = "single-object";
    else if (key === "handling") prefer.strict = value === "strict";
    else if (key === "tx" && (value === "commit" || value === "rollback")) prefer.tx = value;
    else if (key === "max-affected" && /^\d{1,9}$/.test(value)) prefer.maxAffected = Number(value);
  }
  return prefer;
}

function mediaType(accept: string | null): MediaType {
  if (!accept) return "json";
  const types = accept.split(",").map((t) => t.trim().toLowerCase());
  for (const t of types) {
    const base = t.split(";")[0]!.trim();
    if (base === "application/vnd.pgrst.object+json" || base === "application/vnd.pgrst.object") {
      return t.includes("nulls=stripped") ? "object-stripped" : "object";
    }
    if (base === "application/vnd.pgrst.array+json" && t.includes("nulls=stripped")) {
      return "stripped";
    }
    if (base === "text/csv") return "csv";
    if (
      base === "application/json" || base === "*/*" ||
      base === "application/vnd.pgrst.array+json" ||
      base === "application/*"
    ) return "json";
  }
  throw RestError.of(
    406,
    "PGRST107",
    `None of these media types are available: ${accept}`,
  );
}

async function readBody(request: Request): Promise<unknown> {
  const contentType = (request.headers.get("content-type") ?? "application/json").toLowerCase();
  const length = Number(request.headers.get("content-length") ?? "0");
  if (length > MAX_BODY_BYTES) {
    throw RestError.of(413, "PGRST102", `Request body is larger than ${MAX_BODY_BYTES} bytes`);
  }
  const text = await request.text();
  if (text.length > MAX_BODY_BYTES) {
    throw RestError.of(413, "PGRST102", `Request body is larger than ${MAX_BODY_BYTES} bytes`);
  }
  if (text.trim() === "") return undefined;
  if (contentType.startsWith("text/csv")) {
    throw RestError.of(
      415,
      "PGRST107",
      "CSV request bodies are not supported by the local Data API",
    );
  }
  if (
    !contentType.startsWith("application/json") && !contentType.startsWith("application/vnd.pgrst")
  ) {
    throw RestError.of(415, "PGRST107", `Content-Type not acceptable: ${contentType}`);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw RestError.body(`Empty or invalid json: ${(error as Error).message}`);
  }
}

async function setRequestContext(
  tx: SessionHandle,
  { caller, method, path, request, schema, options }: {
    caller: Caller;
    method: string;
    path: string;
    request: Request;
    schema: string;
    options: RestOptions;
  },
): Promise<void> {
  const headers: Record<string, string> = {};
  request.headers.forEach((value, key) => {
    headers[key.toLowerCase()] = value;
  });
  const searchPath = [schema, ...options.extraSearchPath].map(ident).join(", ");
  await tx.query(
    `select set_config('role', $1, true),
            set_config('request.jwt.claims', $2, true),
            set_config('request.jwt.claim.role', $1, true),
            set_config('request.jwt.claim.sub', $3, true),
            set_config('request.jwt.claim.email', $4, true),
            set_config('request.method', $5, true),
            set_config('request.path', $6, true),
            set_config('request.headers', $7, true),
            set_config('search_path', $8, true)`,
    [
      caller.role,
      JSON.stringify(caller.claims),
      typeof caller.claims.sub === "string" ? caller.claims.sub : "",
      typeof caller.claims.email === "string" ? caller.claims.email : "",
      method,
      path,
      JSON.stringify(headers),
      searchPath,
    ],
  );
}

interface RequestParts {
  schema: string;
  name: string;
  method: string;
  url: URL;
  body: unknown;
  prefer: Prefer;
  media: MediaType;
  maxRows: number;
  request: Request;
}

// ---------------------------------------------------------------------------------------------
// Tables and views

async function handleTable(tx: SessionHandle, cache: SchemaCache, req: RequestParts) {
  const rel = relationOf(cache, req.schema, req.name);
  const query = parseQuery(req.url.searchParams);
  if (usesAggregates(query.select)) {
    query.aggregatesEnabled = await roleSetting(tx, "pgrst.db_aggregates_enabled") === "true";
  }
  switch (req.method) {
    case "GET":
    case "HEAD":
      return await read(tx, cache, rel, query, req);
    case "POST":
      return await insert(tx, cache, rel, query, req);
    case "PATCH":
      return await update(tx, cache, rel, query, req);
    case "DELETE":
      return await remove(tx, cache, rel, query, req);
    default:
      throw RestError.of(405, "PGRST117", `Unsupported HTTP method: ${req.method}`);
  }
}

/** The root level's range: `limit`/`offset` params or a `Range` header, capped by max_rows. */
function rootRange(level: Level, req: RequestParts): { limit?: number; offset?: number } {
  let limit = level.limit;
  let offset = level.offset;
  const range = req.request.headers.get("range");
  if (range) {
    const m = /^(?:items=)?(\d+)-(\d*)$/.exec(range.trim());
    if (!m) {
      throw RestError.of(
        416,
        "PGRST103",
        "Requested range not satisfiable",
        `Invalid range "${range}"`,
      );
    }
    const from = Number(m[1]);
    offset = from;
    if (m[2] !== "") {
      const to = Number(m[2]);
      if (to < from) {
        throw RestError.of(
          416,
          "PGRST103",
          "Requested range not satisfiable",
          "The lower boundary must be lower than or equal to the upper boundary in the Range header.",
        );
      }
      limit = Math.min(limit ?? Infinity, to - from + 1);
    }
  }
  if (req.maxRows > 0) limit = Math.min(limit ?? req.maxRows, req.maxRows);
  return {
    ...(limit !== undefined && Number.isFinite(limit) ? { limit } : {}),
    ...(offset !== undefined ? { offset } : {}),
  };
}

async function read(
  tx: SessionHandle,
  cache: SchemaCache,
  rel: Relation,
  query: ParsedQuery,
  req: RequestParts,
): Promise<Response> {
  const ctx = newContext(cache, req.schema, query);
  // The root aliased by its name, as PostgREST does (errors say `column users.x does not exist`).
  const source = sourceOf(rel, rel.name);
  const root = query.levels.get("")!;
  const { rest, nulls } = splitNullEmbedFilters(root.filters, query.select);
  const where = [
    ...rest.map((f) => filterSql(ctx, source, f)),
    ...innerJoinFilters(ctx, source, query.select, "", nulls),
  ];
  const whereSql = where.length ? ` where ${where.join(" and ")}` : "";
  // The count query binds only the WHERE's parameters ($1..$n, added before the select list's).
  const whereParams = ctx.params.values.length;
  const range = rootRange(root, req);
  const list = selectList(ctx, source, query.select, "").join(", ");
  const group = groupBySql(source, query.select);
  const order = orderSql(ctx, source, root.order);
  const sql = `select coalesce(json_agg(_r), '[]'::json)::text as body, count(*)::int as n
    from (select ${list} from ${source.from} as ${ident(source.alias)}${whereSql}${group}${order}${
    rangeSql(range)
  }) _r`;
  const result = (await tx.query<{ body: string; n: number }>(sql, ctx.params.values)).rows[0]!;
  let total: number | null = null;
  if (req.prefer.count) {
    const countSql = `select count(*)::int as total from ${source.from} as ${
      ident(source.alias)
    }${whereSql}`;
    total = (await tx.query<{ total: number }>(countSql, ctx.params.values.slice(0, whereParams)))
      .rows[0]!.total;
  }
  return respondRows(result.body, result.n, {
    ...req,
    offset: range.offset ?? 0,
    total,
    status: 200,
  });
}

function respondRows(
  body: string,
  n: number,
  opts: RequestParts & { offset: number; total: number | null; status: number; location?: string },
): Response {
  const headers: Record<string, string> = {};
  const rangeStart = opts.offset;
  headers["content-range"] = n > 0
    ? `${rangeStart}-${rangeStart + n - 1}/${opts.total ?? "*"}`
    : `*/${opts.total ?? "*"}`;
  if (opts.location) headers["location"] = opts.location;
  let status = opts.status;
  if (
    opts.method === "GET" && opts.total !== null && n < opts.total && status === 200 &&
    (opts.offset > 0 || n > 0)
  ) status = 206;
  if (opts.media === "object" || opts.media === "object-stripped") {
    if (n !== 1) throw RestError.singular(n);
    headers["content-type"] = "application/vnd.pgrst.object+json; charset=utf-8";
    const row = (JSON.parse(body) as unknown[])[0];
    const single = JSON.stringify(opts.media === "object-stripped" ? stripNulls(row) : row);
    return new Response(opts.method === "HEAD" ? null : single, { status, headers });
  }
  if (opts.media === "csv") {
    headers["content-type"] = "text/csv; charset=utf-8";
    return new Response(opts.method === "HEAD" ? null : toCsv(JSON.parse(body)), {
      status,
      headers,
    });
  }
  headers["content-type"] = "application/json; charset=utf-8";
  const text = opts.media === "stripped" ? JSON.stringify(stripNulls(JSON.parse(body))) : body;
  return new Response(opts.method === "HEAD" ? null : text, { status, headers });
}

function stripNulls(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(stripNulls);
  if (value && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value).filter(([, v]) => v !== null).map(([k, v]) => [k, stripNulls(v)]),
    );
  }
  return value;
}

function toCsv(rows: Array<Record<string, unknown>>): string {
  if (!rows.length) return "";
  const keys = Object.keys(rows[0]!);
  // As PostgREST's CSV: JSON as Postgres prints jsonb, quoted when it holds a separator,
  // a quote, a line break or a space.
  const cell = (v: unknown) => {
    if (v === null || v === undefined) return "";
    const s = typeof v === "object" ? jsonbText(v) : String(v);
    return /[",\n\r ]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
  };
  return [keys.join(","), ...rows.map((r) => keys.map((k) => cell(r[k])).join(","))].join("\n");
}

/** JSON as Postgres's jsonb output spells it (`{"a": 1, "b": [1, 2]}`). */
function jsonbText(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(jsonbText).join(", ")}]`;
  if (value !== null && typeof value === "object") {
    return `{${
      Object.entries(value).map(([k, v]) => `${JSON.stringify(k)}: ${jsonbText(v)}`).join(", ")
    }}`;
  }
  return JSON.stringify(value);
}

function writableColumns(
  rel: Relation,
  body: unknown,
  columnsParam: string | undefined,
): { rows: Array<Record<string, unknown>>; columns: string[] } {
  if (body === undefined || body === null || typeof body !== "object") {
    throw RestError.body("Empty or invalid json");
  }
  const rows = (Array.isArray(body) ? body : [body]) as unknown[];
  if (rows.some((r) => r === null || typeof r !== "object" || Array.isArray(r))) {
    throw RestError.body("All object keys must match");
  }
  const objects = rows as Array<Record<string, unknown>>;
  let columns: string[];
  if (columnsParam) {
    columns = columnsParam.split(",").map((c) => c.trim().replace(/^"(.*)"$/, "$1")).filter(
      Boolean,
    );
  } else {
    columns = Object.keys(objects[0] ?? {});
    if (objects.length > 1) {
      const first = [...columns].sort().join(",");
      if (objects.some((o) => Object.keys(o).sort().join(",") !== first)) {
        throw RestError.body("All object keys must match");
      }
    }
  }
  for (const c of columns) {
    if (!rel.columns.has(c)) throw RestError.columnNotFound(c, rel.name);
  }
  return { rows: objects, columns };
}

/** Writes return rows through a CTE; the select list and embeds apply to them as to a read. */
async function writeAndRespond(
  tx: SessionHandle,
  cache: SchemaCache,
  rel: Relation,
  query: ParsedQuery,
  req: RequestParts,
  write: {
    sql: string;
    params: unknown[];
    status: number;
    ctes?: string;
    returning?: string;
    /** The number of rows an upsert updated: 200 instead of `status` when any. */
    updatedSql?: string;
  },
): Promise<Response> {
  const wantsRows = req.prefer.return === "representation" || req.prefer.return === "headers-only";
  if (!wantsRows && !write.ctes) {
    const result = await tx.query(write.sql, write.params);
    const affected = result.affectedRows ?? 0;
    checkMaxAffected(req.prefer, affected);
    const headers: Record<string, string> = {
      "content-range": `*/${req.prefer.count ? affected : "*"}`,
    };
    if ((req.media === "object" || req.media === "object-stripped") && affected !== 1) {
      throw RestError.singular(affected);
    }
    return new Response(null, { status: req.method === "POST" ? 201 : 204, headers });
  }
  const ctx = newContext(cache, req.schema, query);
  for (const v of write.params) ctx.params.add(v);
  const source: Source = { ...sourceOf(rel, "t0"), from: "pgrst_source" };
  const list = selectList(ctx, source, query.select, "").join(", ");
  const ctes = write.ctes ?? `pgrst_source as (${write.sql} returning ${write.returning ?? "*"})`;
  const sql = `with ${ctes}
    select coalesce(json_agg(_r), '[]'::json)::text as body, count(*)::int as n,
           (select coalesce(json_agg(json_build_object(${
    rel.primaryKey.map((k) => `${lit(k)}, pk.${ident(k)}`).join(", ") || "'_', null"
  })), '[]'::json)::text from pgrst_source pk) as keys,
           ${write.updatedSql ?? "0"} as updated
    from (select ${list} from pgrst_source as ${ident("t0")}) _r`;
  const result = (await tx.query<{ body: string; n: number; keys: string; updated: number }>(
    sql,
    ctx.params.values,
  )).rows[0]!;
  checkMaxAffected(req.prefer, result.n);
  let location: string | undefined;
  if (req.method === "POST" && rel.primaryKey.length) {
    const first = (JSON.parse(result.keys) as Array<Record<string, unknown>>)[0];
    if (first) {
      location = `/${rel.name}?` +
        rel.primaryKey.map((k) => `${k}=eq.${encodeURIComponent(String(first[k]))}`).join("&");
    }
  }
  if (req.prefer.return === "headers-only") {
    const headers: Record<string, string> = {
      "content-range": `*/${req.prefer.count ? result.n : "*"}`,
    };
    if (location) headers.location = location;
    return new Response(null, { status: 201, headers });
  }
  return respondRows(result.body, result.n, {
    ...req,
    method: req.method,
    offset: 0,
    total: req.prefer.count ? result.n : null,
    status: result.updated > 0 ? 200 : write.status,
    ...(location ? { location } : {}),
  });
}

/** PGRST124 (the transaction rolls back) when a strict max-affected is exceeded. */
function checkMaxAffected(prefer: Prefer, affected: number): void {
  if (prefer.strict && prefer.maxAffected !== undefined && affected > prefer.maxAffected) {
    throw RestError.of(
      400,
      "PGRST124",
      "Query result exceeds max-affected preference constraint",
      `The query affects ${affected} rows`,
    );
  }
}

const lit = (text: string) => `'${text.replaceAll("'", "''")}'`;

async function insert(
  tx: SessionHandle,
  cache: SchemaCache,
  rel: Relation,
  query: ParsedQuery,
  req: RequestParts,
): Promise<Response> {
  const { rows, columns } = writableColumns(rel, req.body, query.other.get("columns"));
  const table = `${ident(rel.schema)}.${ident(rel.name)}`;
  const params: unknown[] = [];
  const groups = req.prefer.missing === "default"
    ? groupByKeys(rows, columns)
    : [{ columns, rows }];
  let conflict = "";
  if (req.prefer.resolution) {
    const onConflict = query.other.get("on_conflict");
    const keys = onConflict
      ? onConflict.split(",").map((c) => c.trim().replace(/^"(.*)"$/, "$1"))
      : rel.primaryKey;
    for (const k of keys) if (!rel.columns.has(k)) throw RestError.columnNotFound(k, rel.name);
    if (!keys.length) {
      throw RestError.of(400, "PGRST100", `Table '${rel.name}' has no primary key for an upsert`);
    }
    if (req.prefer.resolution === "ignore-duplicates") {
      conflict = ` on conflict (${keys.map(ident).join(", ")}) do nothing`;
    } else {
      const sets = columns.length ? columns : keys;
      conflict = ` on conflict (${keys.map(ident).join(", ")}) do update set ${
        sets.map((c) => `${ident(c)} = excluded.${ident(c)}`).join(", ")
      }`;
    }
  }
  const statements = groups.map((g) => {
    params.push(JSON.stringify(g.rows));
    const p = `$${params.length}`;
    if (!g.columns.length) {
      return `insert into ${table} select from json_array_elements(${p}::json)`;
    }
    const cols = g.columns.map(ident).join(", ");
    return `insert into ${table} (${cols}) select ${cols} from json_populate_recordset(null::${table}, ${p}::json)${conflict}`;
  });
  if (statements.length === 0) {
    return new Response(req.prefer.return === "representation" ? "[]" : null, {
      status: 201,
      headers: { "content-type": "application/json; charset=utf-8", "content-range": "*/0" },
    });
  }
  // A merging upsert that returns rows answers 200 when it updated a row, 201 when it only
  // inserted (PostgREST's statuses); the rows say which through xmax.
  const wantsRows = req.prefer.return === "representation" || req.prefer.return === "headers-only";
  const status = 201;
  if (req.prefer.resolution === "merge-duplicates" && wantsRows) {
    const parts = statements.map((s, i) =>
      `i${i} as (${s} returning *, (xmax::text <> '0') as pgrst_updated)`
    );
    const union = statements.map((_, i) => `select * from i${i}`).join(" union all ");
    const cols = [...rel.columns.keys()].map(ident).join(", ");
    return await writeAndRespond(tx, cache, rel, query, req, {
      sql: "",
      params,
      status,
      ctes: `${parts.join(", ")}, pgrst_write as (${union}), ` +
        `pgrst_source as (select ${cols} from pgrst_write)`,
      updatedSql: "(select count(*)::int from pgrst_write where pgrst_updated)",
    });
  }
  if (statements.length === 1) {
    return await writeAndRespond(tx, cache, rel, query, req, {
      sql: statements[0]!,
      params,
      status,
    });
  }
  // Several key sets with missing=default: one insert each, results unioned.
  if (!wantsRows) {
    let affected = 0;
    for (const [i, s] of statements.entries()) {
      const renumbered = s.replace(/\$\d+/g, "$1");
      affected += (await tx.query(renumbered, [params[i]])).affectedRows ?? 0;
    }
    return new Response(null, {
      status: 201,
      headers: { "content-range": `*/${req.prefer.count ? affected : "*"}` },
    });
  }
  const parts = statements.map((s, i) => `i${i} as (${s} returning *)`);
  const union = statements.map((_, i) => `select * from i${i}`).join(" union all ");
  return await writeAndRespond(tx, cache, rel, query, req, {
    sql: "",
    params,
    status,
    ctes: `${parts.join(", ")}, pgrst_source as (${union})`,
  });
}

function groupByKeys(rows: Array<Record<string, unknown>>, columns: string[]) {
  const groups = new Map<string, { columns: string[]; rows: Array<Record<string, unknown>> }>();
  for (const row of rows) {
    const present = columns.filter((c) => Object.hasOwn(row, c));
    const key = present.join("\u0000");
    const g = groups.get(key) ?? { columns: present, rows: [] };
    g.rows.push(row);
    groups.set(key, g);
  }
  return [...groups.values()];
}

function writeFilters(
  cache: SchemaCache,
  rel: Relation,
  query: ParsedQuery,
  req: RequestParts,
  params: unknown[],
): string {
  const ctx = newContext(cache, req.schema, query);
  for (const v of params) ctx.params.add(v);
  const source = sourceOf(rel, "t0");
  const where = levelFilters(ctx, source, query.levels.get(""), "");
  params.splice(0, params.length, ...ctx.params.values);
  return where.length ? ` where ${where.join(" and ")}` : "";
}

async function update(
  tx: SessionHandle,
  cache: SchemaCache,
  rel: Relation,
  query: ParsedQuery,
  req: RequestParts,
): Promise<Response> {
  if (
    req.body === undefined || Array.isArray(req.body) || typeof req.body !== "object" ||
    req.body === null
  ) {
    throw RestError.body("Empty or invalid json");
  }
  const { columns } = writableColumns(rel, req.body, query.other.get("columns"));
  const table = `${ident(rel.schema)}.${ident(rel.name)}`;
  if (!columns.length) {
    return new Response(req.prefer.return === "representation" ? "[]" : null, {
      status: req.prefer.return === "representation" ? 200 : 204,
      headers: { "content-range": "*/*", "content-type": "application/json; charset=utf-8" },
    });
  }
  const params: unknown[] = [JSON.stringify(req.body)];
  const where = writeFilters(cache, rel, query, req, params);
  const sets = columns.map((c) => `${ident(c)} = _b.${ident(c)}`).join(", ");
  const sql = `update ${table} as ${
    ident("t0")
  } set ${sets} from json_populate_record(null::${table}, $1::json) as _b${where}`;
  return await writeAndRespond(tx, cache, rel, query, req, {
    sql,
    params,
    status: 200,
    returning: `${ident("t0")}.*`,
  });
}

async function remove(
  tx: SessionHandle,
  cache: SchemaCache,
  rel: Relation,
  query: ParsedQuery,
  req: RequestParts,
): Promise<Response> {
  const table = `${ident(rel.schema)}.${ident(rel.name)}`;
  const params: unknown[] = [];
  const where = writeFilters(cache, rel, query, req, params);
  return await writeAndRespond(tx, cache, rel, query, req, {
    sql: `delete from ${table} as ${ident("t0")}${where}`,
    params,
    status: 200,
  });
}

// ---------------------------------------------------------------------------------------------
// RPC

async function callRoutine(
  tx: SessionHandle,
  cache: SchemaCache,
  req: RequestParts,
): Promise<Response> {
  if (!["GET", "HEAD", "POST"].includes(req.method)) {
    throw RestError.of(405, "PGRST101", "Only GET and POST are allowed for functions");
  }
  const overloads = cache.routines.get(relationKey(req.schema, req.name)) ?? [];
  let args: Record<string, unknown>;
  const argNames = new Set(overloads.flatMap((o) => o.args.map((a) => a.name)));
  if (req.method === "POST") {
    if (req.body !== undefined && (typeof req.body !== "object" || req.body === null)) {
      throw RestError.body("Empty or invalid json");
    }
    args = (req.body ?? {}) as Record<string, unknown>;
  } else {
    args = {};
    for (const [k, v] of req.url.searchParams) if (argNames.has(k)) args[k] = v;
  }
  const { routine, wholeBody } = findRoutine(overloads, args, req);
  const query = parseQuery(req.url.searchParams, new Set(routine.args.map((a) => a.name)));
  if (usesAggregates(query.select)) {
    query.aggregatesEnabled = await roleSetting(tx, "pgrst.db_aggregates_enabled") === "true";
  }
  const params: unknown[] = [];
  const fn = `${ident(routine.schema)}.${ident(routine.name)}`;
  let call: string;
  if (wholeBody) {
    params.push(JSON.stringify(args));
    call = `${fn}($1::${routine.args[0]!.type})`;
  } else {
    const given = routine.args.filter((a) => Object.hasOwn(args, a.name));
    const items = given.map((a) => {
      params.push(argValue(args[a.name], a.isArray, a.type));
      const p = `$${params.length}`;
      // A row type takes a JSON object (PostgREST: json_populate_record), not a record literal.
      const value = a.composite && !a.isArray && args[a.name] !== null &&
          typeof args[a.name] === "object"
        ? `json_populate_record(null::${a.type}, ${p}::json)`
        : `${p}::${a.type}`;
      // An unnamed parameter (the single json/jsonb/text one) is passed by position.
      return a.name === "" ? value : `${ident(a.name)} => ${value}`;
    });
    call = `${fn}(${items.join(", ")})`;
  }

  if (routine.returnsVoid) {
    await tx.query(`select ${call}`, params);
    return new Response(null, { status: 204, headers: { "content-range": "*/*" } });
  }
  if (!routine.returnsRows) {
    if (routine.returnsSet) {
      const sql =
        `select coalesce(json_agg(_v), '[]'::json)::text as body, count(*)::int as n from ${call} _v`;
      const r = (await tx.query<{ body: string; n: number }>(sql, params)).rows[0]!;
      checkMaxAffected(req.prefer, r.n);
      return respondRows(r.body, r.n, {
        ...req,
        offset: 0,
        total: req.prefer.count ? r.n : null,
        status: 200,
      });
    }
    const sql = `select to_json(${call})::text as body`;
    const r = (await tx.query<{ body: string }>(sql, params)).rows[0]!;
    return new Response(req.method === "HEAD" ? null : r.body ?? "null", {
      status: 200,
      headers: {
        "content-type": "application/json; charset=utf-8",
        "content-range": `0-0/${req.prefer.count ? 1 : "*"}`,
      },
    });
  }
  // Rows: filter, order and limit them like a table.
  const ctx = newContext(cache, req.schema, query);
  for (const v of params) ctx.params.add(v);
  // Rows of a table or view: embeds follow its foreign keys, as PostgREST allows.
  const returned = routine.returnRelation ? cache.relations.get(routine.returnRelation) : undefined;
  const source: Source = returned ? { ...sourceOf(returned, "t0"), from: call } : {
    from: call,
    alias: "t0",
    name: routine.name,
    schema: routine.schema,
    columns: routine.columns as Map<string, Column>,
  };
  const root = query.levels.get("")!;
  const { rest, nulls } = returned
    ? splitNullEmbedFilters(root.filters, query.select)
    : { rest: root.filters, nulls: new Map<string, boolean>() };
  const where = [
    ...rest.map((f) => filterSql(ctx, source, f)),
    ...(returned ? innerJoinFilters(ctx, source, query.select, "", nulls) : []),
  ];
  const whereSql = where.length ? ` where ${where.join(" and ")}` : "";
  const whereParams = ctx.params.values.length;
  const range = rootRange(root, req);
  if (!returned && query.select.some((s) => s.kind === "aggregate")) {
    throw RestError.aggregatesDisabled();
  }
  const items = query.select.filter((s) => s.kind !== "embed");
  const list = returned
    ? selectList(ctx, source, query.select, "").join(", ")
    : items.length
    ? items.map((s) =>
      s.kind === "star"
        ? `${ident("t0")}.*`
        : s.kind === "column"
        ? `${s.cast ? `(${fieldSql("t0", s.field)})::${s.cast}` : fieldSql("t0", s.field)} as ${
          ident(s.alias ?? (s.field.path.at(-1)?.key ?? s.field.name))
        }`
        : ""
    ).join(", ")
    : `${ident("t0")}.*`;
  const order = orderSql(ctx, source, root.order);
  const sql = `select coalesce(json_agg(_r), '[]'::json)::text as body, count(*)::int as n
    from (select ${list} from ${call} as ${ident("t0")}${whereSql}${
    returned ? groupBySql(source, query.select) : ""
  }${order}${rangeSql(range)}) _r`;
  const r = (await tx.query<{ body: string; n: number }>(sql, ctx.params.values)).rows[0]!;
  checkMaxAffected(req.prefer, r.n);
  let total: number | null = null;
  if (req.prefer.count) {
    total = (await tx.query<{ total: number }>(
      `select count(*)::int as total from ${call} as ${ident("t0")}${whereSql}`,
      ctx.params.values.slice(0, whereParams),
    )).rows[0]!.total;
  }
  if (!routine.returnsSet) {
    // A function returning one composite: an object, not an array.
    const rows = JSON.parse(r.body) as unknown[];
    return new Response(req.method === "HEAD" ? null : JSON.stringify(rows[0] ?? null), {
      status: 200,
      headers: { "content-type": "application/json; charset=utf-8" },
    });
  }
  return respondRows(r.body, r.n, { ...req, offset: range.offset ?? 0, total, status: 200 });
}

/**
 * PostgREST's overload resolution (findProc): an overload matches when the argument keys are all
 * its parameters' names and cover its required ones; with no match, a function whose single
 * unnamed parameter is json/jsonb takes the whole body; several matches are PGRST203 (300).
 * `Prefer: params=single-object` picks the single json/jsonb parameter.
 */
function findRoutine(
  overloads: RoutineInfo[],
  args: Record<string, unknown>,
  req: RequestParts,
): { routine: RoutineInfo; wholeBody: boolean } {
  const keys = Array.isArray(args) ? [] : Object.keys(args);
  const isJson = (o: RoutineInfo) =>
    o.args.length === 1 && ["json", "jsonb"].includes(o.args[0]!.type);
  if (req.prefer.params === "single-object" || Array.isArray(args)) {
    const single = overloads.filter(isJson);
    if (single.length === 1) return { routine: single[0]!, wholeBody: true };
    if (single.length > 1) throw RestError.ambiguousFunction(single);
    throw RestError.functionNotFound(req.schema, req.name, keys);
  }
  const given = new Set(keys);
  const matches = overloads.filter((o) =>
    o.args.length === 0 ? keys.length === 0 : keys.every((k) => o.args.some((a) => a.name === k)) &&
      o.args.every((a) => a.hasDefault || given.has(a.name))
  );
  if (matches.length === 1) return { routine: matches[0]!, wholeBody: false };
  if (matches.length > 1) throw RestError.ambiguousFunction(matches);
  const fallback = req.method === "POST"
    ? overloads.filter((o) => isJson(o) && o.args[0]!.name === "")
    : [];
  if (fallback.length === 1) return { routine: fallback[0]!, wholeBody: true };
  if (fallback.length > 1) throw RestError.ambiguousFunction(fallback);
  throw RestError.functionNotFound(req.schema, req.name, keys);
}

/** A JSON argument as the text Postgres casts to the parameter's type. */
function argValue(value: unknown, isArray: boolean, type: string): unknown {
  if (value === null || value === undefined) return null;
  if (isArray && Array.isArray(value)) {
    return toArrayLiteral(
      value.map((v) => (v === null ? null : typeof v === "object" ? JSON.stringify(v) : String(v))),
    );
  }
  if (typeof value === "object") return JSON.stringify(value);
  if (type === "json" || type === "jsonb") return JSON.stringify(value);
  return String(value);
}
