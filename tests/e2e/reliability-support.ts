/**
 * What the reliability suites (tests/e2e/reliability-*.test.ts) share: the seed's ids, signing
 * in (with the typed client of the user), plain HTTP calls to a function as curl makes them, the
 * outcome of a typed client call, the standard error body, forged tokens
 * and a count of every row of the product's tables (to prove a refused request wrote nothing).
 */
import { SignJWT } from "jose";
import type { Stack } from "../../local/stack.ts";
import { AgentBackendError, STATUS_BY_CODE } from "../../shared/mod.ts";
export { PASSWORD, type Session, signIn } from "./client-support.ts";

export const ACME = "10000000-0000-4000-8000-000000000001";
export const GLOBEX = "10000000-0000-4000-8000-000000000002";
export const ACME_SUPPORT = "20000000-0000-4000-8000-000000000001";

export interface CallInit {
  method?: string;
  /** Path after the function's name, e.g. "/jobs" or "/summary?x=1". */
  path?: string;
  /** A body to send as JSON, or `raw` text as is. */
  body?: unknown;
  raw?: string;
  contentType?: string | null;
  headers?: Record<string, string>;
}

/** A plain HTTP call to a function through the gateway with a bearer (or none). */
export function call(
  stack: Stack,
  fn: string,
  bearer: string | null,
  init: CallInit = {},
): Promise<Response> {
  const headers = new Headers({ apikey: stack.anonKey, ...init.headers });
  const contentType = init.contentType === undefined ? "application/json" : init.contentType;
  if (contentType !== null) headers.set("content-type", contentType);
  if (bearer !== null) headers.set("authorization", `Bearer ${bearer}`);
  const method = init.method ?? "POST";
  const body = init.raw ?? (init.body === undefined ? undefined : JSON.stringify(init.body));
  return fetch(`${stack.apiUrl}/functions/v1/${fn}${init.path ?? ""}`, {
    method,
    headers,
    ...(body === undefined || method === "GET" ? {} : { body }),
  });
}

/** The response's status and parsed body (null when the body is not JSON). */
export async function read(response: Response): Promise<{ status: number; body: unknown }> {
  const text = await response.text();
  try {
    return { status: response.status, body: JSON.parse(text) };
  } catch {
    return { status: response.status, body: text.length ? text.slice(0, 200) : null };
  }
}

/**
 * A typed client call's outcome as a status and a body: 200 and the result, or the error's HTTP
 * status and the error (an AgentBackendError; anything else is rethrown).
 */
export async function outcome<T>(
  call: Promise<T>,
): Promise<{ status: number; body: T } | { status: number; error: AgentBackendError }> {
  try {
    return { status: 200, body: await call };
  } catch (error) {
    if (!(error instanceof AgentBackendError)) throw error;
    return { status: error.status, error };
  }
}

/** Why an AgentBackendError does not carry the functions' standard error body, or null. */
export function notStandardClientError(error: AgentBackendError): string | null {
  if (["network_error", "relay_error", "invalid_response"].includes(error.code)) {
    return `never reached a function: ${error.code} ${error.message}`;
  }
  const status = (STATUS_BY_CODE as Record<string, number>)[error.code];
  if (status !== error.status) return `code ${error.code} with status ${error.status}`;
  if (!error.message) return `no message: ${error.code}`;
  if (!error.requestId) return `no request_id: ${error.code} ${error.message}`;
  return null;
}

/** Why `body` is not the functions' standard error body, or null when it is. */
export function notStandardError(body: unknown): string | null {
  const b = body as { error?: { code?: unknown; message?: unknown }; request_id?: unknown } | null;
  if (!b || typeof b !== "object") return `not a JSON object: ${JSON.stringify(body)}`;
  if (typeof b.error?.code !== "string" || typeof b.error?.message !== "string") {
    return `no error.code/error.message: ${JSON.stringify(body).slice(0, 200)}`;
  }
  if (typeof b.request_id !== "string" || b.request_id.length === 0) {
    return `no request_id: ${JSON.stringify(body).slice(0, 200)}`;
  }
  return null;
}

const b64url = (value: unknown) =>
  btoa(JSON.stringify(value)).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");

/** A user token signed with the stack's secret that expired an hour ago. */
export async function expiredToken(stack: Stack, userId: string): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return await new SignJWT({ role: "authenticated", aud: "authenticated", sub: userId })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setIssuedAt(now - 7200)
    .setExpirationTime(now - 3600)
    .sign(new TextEncoder().encode(stack.jwtSecret));
}

/** The same claims as a valid user token, signed with another secret. */
export async function wrongSignatureToken(userId: string): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return await new SignJWT({ role: "authenticated", aud: "authenticated", sub: userId })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setIssuedAt(now)
    .setExpirationTime(now + 3600)
    .sign(new TextEncoder().encode("not-the-project-secret-0123456789abcdef"));
}

/** An unsigned token (`alg: none`) claiming to be the user, and one claiming service_role. */
export function algNoneToken(claims: Record<string, unknown>): string {
  const now = Math.floor(Date.now() / 1000);
  return `${b64url({ alg: "none", typ: "JWT" })}.${
    b64url({ ...claims, iat: now, exp: now + 3600 })
  }.`;
}

/** Row counts of every table in the product's schemas (public, private, storage). */
export async function rowCounts(stack: Stack): Promise<Record<string, number>> {
  const { rows: tables } = await stack.session.query<{ name: string }>(
    `select format('%I.%I', schemaname, tablename) as name from pg_tables
     where schemaname in ('public', 'private', 'storage') order by 1`,
  );
  const sql = tables.map((t) => `select '${t.name}' as t, count(*)::int as n from ${t.name}`)
    .join(" union all ");
  const { rows } = await stack.session.query<{ t: string; n: number }>(sql);
  return Object.fromEntries(rows.map((r) => [r.t, r.n]));
}

/** The tables whose row counts differ between two snapshots, with before -> after. */
export function changedTables(
  before: Record<string, number>,
  after: Record<string, number>,
): string[] {
  return Object.keys({ ...before, ...after }).filter((t) => before[t] !== after[t])
    .map((t) => `${t}: ${before[t]} -> ${after[t]}`);
}
