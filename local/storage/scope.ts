/**
 * Who is calling, and the one transaction each request runs in.
 *
 * As upstream (supabase/storage `src/http/plugins/jwt.ts`, `src/internal/database/pg-connection`),
 * the JWT decides the Postgres role and every request starts with one SELECT of set_config(...,
 * true) calls, so the RLS policies a project puts on storage.objects and storage.buckets decide
 * what the caller may do. What the real server does as its own superuser (bucket lookups, public
 * and signed reads, writing the row after the policies said yes) runs here as
 * supabase_storage_admin, the owner of the storage tables, which RLS does not apply to.
 */
import type { LocalKeys } from "../keys.ts";
import type { Session, SessionHandle } from "../postgres/session.ts";
import { bearerToken } from "../../supabase/functions/_shared/auth.ts";
import { ERRORS } from "./errors.ts";

/** The owner of the storage schema: what upstream's superuser connection amounts to. */
const ADMIN_ROLE = "supabase_storage_admin";

/**
 * Roles a token may switch to. Upstream switches to any role its login may assume; locally the
 * session is a superuser, so only the API roles are let through.
 */
const API_ROLES = new Set(["anon", "authenticated", "service_role"]);

export interface Caller {
  role: string;
  claims: Record<string, unknown>;
  /** The raw JWT ("" when none was sent). */
  jwt: string;
  /** False when the request carried no valid JWT and runs as anon. */
  authenticated: boolean;
  /** The JWT's `sub`: recorded as the owner of what this caller writes. */
  sub: string | undefined;
}

const ANON: Caller = {
  role: "anon",
  claims: { role: "anon" },
  jwt: "",
  authenticated: false,
  sub: undefined,
};

/**
 * The caller of a request: the JWT from `Authorization: Bearer`, or from `apikey` when there is
 * no Authorization header. With `allowAnon` (upstream's allowInvalidJwt routes), a missing or
 * invalid token means anon; otherwise it is refused with AccessDenied.
 */
export async function authenticate(
  request: Request,
  keys: LocalKeys,
  options: { allowAnon: boolean },
): Promise<Caller> {
  const authorization = request.headers.get("authorization");
  const token = authorization === null
    ? request.headers.get("apikey") ?? ""
    : bearerToken(authorization) ?? "";
  const refuse = (message: string, cause?: unknown) => {
    if (options.allowAnon) return ANON;
    throw ERRORS.accessDenied(message, cause);
  };
  // Upstream verifies the empty token and reports jose's message for it.
  if (!token) return refuse("Invalid Compact JWS");
  let claims: Record<string, unknown> & { role: string };
  try {
    claims = await keys.verify(token);
  } catch (error) {
    return refuse((error as Error).message, error);
  }
  if (!API_ROLES.has(claims.role)) {
    return refuse(`Invalid JWT: role "${claims.role}" cannot use Storage`);
  }
  const sub = typeof claims.sub === "string" && claims.sub !== "" ? claims.sub : undefined;
  return { role: claims.role, claims, jwt: token, authenticated: true, sub };
}

/** The request as the scope settings describe it. */
export interface Call {
  caller: Caller;
  /** Upstream's operation name, e.g. "storage.object.upload" (storage.operation()). */
  operation: string;
  method: string;
  /** The path below the Storage API root, as upstream sees it behind the gateway. */
  path: string;
  headers: Headers;
}

/** The transaction of one request, with the caller's role set. */
export class Scope {
  constructor(readonly tx: SessionHandle, readonly caller: Caller) {}

  /**
   * Runs `fn` as supabase_storage_admin (RLS does not apply), then returns to the caller's role.
   * An error inside ends the request: the role is not restored, the transaction rolls back.
   */
  async asAdmin<T>(fn: (tx: SessionHandle) => Promise<T>): Promise<T> {
    await this.tx.exec(`set local role ${ADMIN_ROLE}`);
    const result = await fn(this.tx);
    await this.tx.query("select set_config('role', $1, true)", [this.caller.role]);
    return result;
  }

  /**
   * Upstream's testPermission: runs `fn` as the caller inside a savepoint that is always rolled
   * back, so the policies (and triggers) give their verdict without leaving anything behind. A
   * refusal is thrown and ends the request.
   */
  async testPermission(fn: (tx: SessionHandle) => Promise<unknown>): Promise<void> {
    await this.tx.exec("savepoint storage_permission_test");
    await fn(this.tx);
    await this.tx.exec(
      "rollback to savepoint storage_permission_test; release savepoint storage_permission_test",
    );
  }
}

/** Runs `fn` in one transaction that first applies the caller's role and request settings. */
export function withScope<T>(
  session: Session,
  call: Call,
  fn: (scope: Scope) => Promise<T>,
): Promise<T> {
  return session.transaction(async (tx) => {
    const { caller } = call;
    await tx.query(
      `select set_config('role', $1, true),
              set_config('request.jwt.claim.role', $1, true),
              set_config('request.jwt', $2, true),
              set_config('request.jwt.claim.sub', $3, true),
              set_config('request.jwt.claims', $4, true),
              set_config('request.headers', $5, true),
              set_config('request.method', $6, true),
              set_config('request.path', $7, true),
              set_config('storage.operation', $8, true),
              set_config('storage.allow_delete_query', 'true', true)`,
      [
        caller.role,
        caller.jwt,
        caller.sub ?? "",
        JSON.stringify(caller.claims),
        JSON.stringify(Object.fromEntries(call.headers)),
        call.method,
        call.path,
        call.operation,
      ],
    );
    return await fn(new Scope(tx, caller));
  }, `storage:${call.operation}`);
}
