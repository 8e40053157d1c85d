/**
 * The Postgres wire protocol on the config.toml DB port, so psql, postgres.js and other tools can
 * reach the local stack's database: a TCP front for the one PGlite session that the in-process
 * functions, the workers and every wire client share.
 *
 * Each client does its own startup (cleartext password; users "postgres" and "supabase_admin";
 * database "postgres"), then its traffic is cut into frames at the messages the backend answers
 * and run under the session gate (local/postgres/session.ts). A client keeps the session from
 * BEGIN to COMMIT/ROLLBACK and across a Flush, so no statement of another party, in-process
 * callers included, runs inside its transaction or between its Parse and Bind. See client.ts.
 *
 * What one shared session cannot isolate (the caveats of this server):
 * - Session-level settings are per client: a client's `SET search_path`, `SET ROLE`,
 *   `set_config(..., false)` or `DISCARD ALL` is saved and the session reset to the stack's
 *   baseline whenever another party takes the session, and put back for the client's next
 *   statement (local/postgres/session.ts, rule 3); a client's state is dropped when it leaves.
 *   Custom settings (`request.jwt.claim.sub`) are put back only when set by name in the SQL
 *   text (`SET a.b`, `set_config('a.b', ...)`); they never reach another party either way.
 * - Named protocol-level prepared statements and portals are isolated: renamed with a per-client
 *   prefix ("w<id>_", visible in error messages) and closed at disconnect. SQL-level PREPARE and
 *   DEALLOCATE (and DISCARD ALL), temporary tables, cursors declared WITH HOLD and session-level
 *   advisory locks are shared.
 * - LISTEN/NOTIFY over the wire is not supported: NotificationResponse messages are dropped.
 * - COPY FROM STDIN works only as the sole statement of a simple-protocol query (psql's `\copy`,
 *   postgres.js `.writable()`); its data is collected in memory and run in one go. COPY TO STDOUT
 *   works everywhere.
 * - Startup options (`options`, `client_encoding`, ...) are ignored; the session speaks UTF8.
 *   There is no TLS and no query cancellation (CancelRequest is accepted and ignored).
 * - A client that holds the session and sends nothing for `idleInTransactionTimeoutMs` is ended
 *   with FATAL 25P03, like idle_in_transaction_session_timeout, and rolled back. Meanwhile API
 *   requests wait at most the session's wait bound, then answer 503 session_busy.
 */
import type { Session } from "../postgres/session.ts";
import {
  type ClientContext,
  type ServerParameters,
  WireClient,
  type WireLogEvent,
} from "./client.ts";

export type { WireLogEvent } from "./client.ts";

export interface WireServerOptions {
  session: Session;
  /** Default 127.0.0.1. */
  hostname?: string;
  /** 0 picks any free port. */
  port: number;
  /** The password every accepted user must give; default "postgres". */
  password?: string;
  /** How long a client may hold the session without sending anything; default 60 000 ms. */
  idleInTransactionTimeoutMs?: number;
  /**
   * How long a client waits for the session before its statement fails with SQLSTATE 57P03;
   * default null, waiting as a Postgres client expects (postgres.js cannot survive an error in
   * the type lookup it runs first on a new connection, which would end an isolated function).
   */
  waitTimeoutMs?: number | null;
  onLog?: (event: WireLogEvent) => void;
}

export interface WireServer {
  port: number;
  hostname: string;
  /**
   * Stops listening and ends every client: open transactions are rolled back and leases released.
   * Resolves when all of that is done.
   */
  close(): Promise<void>;
}

/** Starts serving the Postgres wire protocol for `options.session`. */
export async function startWireServer(options: WireServerOptions): Promise<WireServer> {
  const context: ClientContext = {
    session: options.session,
    password: options.password ?? "postgres",
    idleInTransactionTimeoutMs: options.idleInTransactionTimeoutMs ?? 60_000,
    waitTimeoutMs: options.waitTimeoutMs ?? null,
    parameters: await readServerParameters(options.session),
    log: options.onLog ?? (() => {}),
  };
  const listener = listen(options.hostname ?? "127.0.0.1", options.port);
  const clients = new Map<WireClient, Promise<void>>();
  const accepting = acceptClients(listener, (conn, id) => {
    const client = new WireClient(id, conn, context);
    clients.set(client, client.serve().finally(() => clients.delete(client)));
  }).catch((error) => {
    context.log({ level: "error", msg: "Wire server stopped accepting", error: String(error) });
  });
  context.log({
    level: "info",
    msg: "Wire server listening",
    hostname: listener.addr.hostname,
    port: listener.addr.port,
  });

  let closing: Promise<void> | null = null;
  const close = async () => {
    try {
      listener.close();
    } catch {
      // already closed
    }
    await accepting;
    for (const client of clients.keys()) client.shutdown();
    await Promise.all(clients.values());
    context.log({ level: "info", msg: "Wire server closed" });
  };
  return {
    port: listener.addr.port,
    hostname: listener.addr.hostname,
    close: () => (closing ??= close()),
  };
}

function listen(hostname: string, port: number): Deno.TcpListener {
  try {
    return Deno.listen({ transport: "tcp", hostname, port });
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(`Cannot serve the Postgres wire protocol on ${hostname}:${port}: ${reason}`, {
      cause: error,
    });
  }
}

/** Accepts connections until the listener is closed. */
async function acceptClients(
  listener: Deno.TcpListener,
  onClient: (conn: Deno.TcpConn, id: number) => void,
): Promise<void> {
  let nextId = 1;
  try {
    for await (const conn of listener) {
      conn.setNoDelay(true);
      onClient(conn, nextId++);
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.BadResource || error instanceof Deno.errors.Interrupted)) {
      throw error;
    }
  }
}

/** What the backend really is, read once: reported to clients as ParameterStatus. */
async function readServerParameters(session: Session): Promise<ServerParameters> {
  const { rows } = await session.query<{
    server_version: string;
    time_zone: string;
    session_user: string;
  }>(
    "select current_setting('server_version') as server_version, " +
      "current_setting('TimeZone') as time_zone, session_user::text as session_user",
  );
  const row = rows[0]!;
  return {
    serverVersion: row.server_version,
    timeZone: row.time_zone,
    sessionUser: row.session_user,
  };
}
