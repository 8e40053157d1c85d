/**
 * What the auth emulator is built from, and the transaction every piece of its SQL runs in.
 */
import type { LocalConfig } from "../config.ts";
import type { LocalKeys } from "../keys.ts";
import type { Session, SessionHandle } from "../postgres/session.ts";
import { databaseError, isPgError } from "./errors.ts";
import type { Mailer } from "./otp.ts";

export interface AuthDeps {
  session: Session;
  keys: LocalKeys;
  settings: LocalConfig["auth"];
  /** The `iss` claim of access tokens, e.g. http://127.0.0.1:54321/auth/v1. */
  issuer: string;
  /** The clock; tests move it to cross the refresh-token reuse interval. */
  now?: () => Date;
  /** Where recovery, magic-link, OTP and confirmation emails go (the local mailbox). */
  mailer?: Mailer;
  /** Told about unexpected failures (answered as a generic 500); never about caller errors. */
  onError?: (error: unknown, request: { method: string; path: string }) => void;
}

/** AuthDeps with the defaults filled in. */
export interface AuthContext extends Omit<AuthDeps, "now" | "onError"> {
  now: () => Date;
  onError: (error: unknown, request: { method: string; path: string }) => void;
}

export function resolveDeps(deps: AuthDeps): AuthContext {
  return {
    ...deps,
    now: deps.now ?? (() => new Date()),
    onError: deps.onError ?? (() => {}),
  };
}

export type Tx = SessionHandle;

/** What a request tells about its client, kept on the session it starts. */
export interface RequestMeta {
  userAgent: string | null;
}

/**
 * Runs `fn` in one transaction as GoTrue runs its SQL on hosted Supabase: as the role
 * supabase_auth_admin with search_path `auth` (that role's own setting). Triggers that a
 * migration puts on auth.users therefore run with hosted privileges: a trigger function that
 * writes to public tables needs `security definer`, and one that names tables without a schema
 * fails, exactly as it would after `supabase db push`.
 *
 * A Postgres error that escapes `fn` or is raised by COMMIT (a deferred constraint or trigger)
 * becomes a 500 `unexpected_failure` with `failure` as its message.
 */
export async function authTransaction<T>(
  ctx: AuthContext,
  fn: (tx: Tx) => Promise<T>,
  failure = "Database error",
): Promise<T> {
  try {
    return await ctx.session.transaction(async (tx) => {
      await tx.exec("set local role supabase_auth_admin; set local search_path = auth");
      return await fn(tx);
    }, "auth");
  } catch (error) {
    if (isPgError(error)) throw databaseError(failure, error);
    throw error;
  }
}
