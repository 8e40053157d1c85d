/**
 * One wire client of the local stack's Postgres: the startup and password exchange, then its
 * messages framed at the points where the backend answers (Sync, Query, Flush, FunctionCall,
 * CopyDone, CopyFail) and run on the shared PGlite session under this client's lease.
 *
 * Lease contract (see local/postgres/session.ts): the client takes the lease before running a
 * frame it does not already hold it for, and keeps it while the backend's last word was not
 * "idle": a ReadyForQuery of 'T' or 'E' (an open or failed transaction) or no ReadyForQuery at all
 * (a Flush in the middle of an extended-protocol exchange). So no other party's statement runs
 * inside this client's transaction and no other party's Parse lands between this client's Parse
 * and Bind. A client that leaves or goes quiet while holding the lease is rolled back.
 */
import {
  isSessionBusy,
  type Lease,
  type Session,
  SessionClosedError,
} from "../postgres/session.ts";
import {
  authenticationCleartextPassword,
  authenticationOk,
  backendKeyData,
  closeStatement,
  concatBytes,
  copyInResponse,
  errorResponse,
  type Message,
  MessageBuffer,
  negotiateProtocolVersion,
  parameterStatus,
  parseStartupPacket,
  passwordOf,
  prefixNames,
  ProtocolError,
  queryMessage,
  readyForQuery,
  refuseEncryption,
  replaceParseText,
  scanBackend,
  sqlTextOf,
  type StartupPacket,
  syncMessage,
  type TransactionStatus,
} from "./protocol.ts";
import { copyFormat, customSettingNames, isCopyFromStdin, statementWords } from "./sql-text.ts";

export interface WireLogEvent {
  level: "info" | "warn" | "error";
  msg: string;
  [field: string]: unknown;
}

/** What the server reports about the shared session at every startup. */
export interface ServerParameters {
  serverVersion: string;
  timeZone: string;
  sessionUser: string;
}

export interface ClientContext {
  session: Session;
  password: string;
  idleInTransactionTimeoutMs: number;
  /** How long a client waits for the session before an error (SQLSTATE 57P03); null = forever. */
  waitTimeoutMs: number | null;
  parameters: ServerParameters;
  log: (event: WireLogEvent) => void;
}

/** Login roles accepted at startup; both map to PGlite's one session user. */
const ACCEPTED_USERS: ReadonlySet<string> = new Set(["postgres", "supabase_admin"]);
const DATABASE = "postgres";

/**
 * Messages after which the backend answers: a frame of the client's traffic ends with one.
 * CopyDone and CopyFail end a frame too, but only inside an (emulated) COPY FROM STDIN.
 */
const FRAME_ENDS: ReadonlySet<string> = new Set(["S", "Q", "H", "F"]);
/** COPY messages outside a COPY: the backend ignores them, so they are dropped here. */
const STRAY_COPY_MESSAGES: ReadonlySet<string> = new Set(["d", "c", "f"]);
/** Extended-protocol messages that carry statement or portal names. */
const NAMED_MESSAGES: ReadonlySet<string> = new Set(["P", "B", "D", "C", "E"]);

const FLUSH = 0x48;
const SYNC = 0x53;

/**
 * SQLSTATE of the error a client gets when it waited for the session longer than the bound
 * (cannot_connect_now: "the database cannot serve you now"); functions map it to a 503.
 */
const SESSION_BUSY_SQLSTATE = "57P03";

/** NotificationResponse is dropped: LISTEN/NOTIFY is not supported over the wire (see server.ts). */
const DROP_NOTIFICATIONS: ReadonlySet<string> = new Set(["A"]);
/** With an emulated COPY FROM STDIN the client already got its CopyInResponse from us. */
const DROP_NOTIFICATIONS_AND_COPY_IN: ReadonlySet<string> = new Set(["A", "G"]);

/**
 * PGlite cannot wait for COPY data that has not arrived (its backend would see end of input and
 * exit), so COPY FROM STDIN is emulated for a lone simple-protocol statement and refused anywhere
 * else, by running this in its place so the client gets an ordinary error in its own state.
 */
const REFUSE_COPY_FROM_STDIN = "do $wire$ begin raise exception using errcode = '0A000', " +
  "message = 'COPY FROM STDIN over the local wire server must be the only statement of a " +
  "simple-protocol query'; end $wire$";

/** Thrown to stop serving a client that the server is shutting down. */
class ClientGone extends Error {
  constructor() {
    super("The wire client is gone");
    this.name = "ClientGone";
  }
}

export class WireClient {
  readonly id: number;
  readonly #conn: Deno.Conn;
  readonly #ctx: ClientContext;
  readonly #buffer = new MessageBuffer();
  readonly #chunk = new Uint8Array(64 * 1024);
  /** Prefix of this client's statement and portal names; "w<id>_" is prefix-free across ids. */
  readonly #prefix: string;
  /** This client's named prepared statements (prefixed), closed when it leaves. */
  readonly #statements = new Set<string>();
  /** Messages received and not yet run; the first #ready of them form complete frames. */
  #pending: Uint8Array[] = [];
  #ready = 0;
  /** An emulated COPY FROM STDIN: the query and the data received so far. */
  #copyIn: { query: Uint8Array; data: Uint8Array[] } | null = null;
  #lease: Lease | null = null;
  /** After a busy answer to a frame without Sync: messages are dropped until the next Sync. */
  #discardUntilSync = false;
  /** The session-state party of this client (see session.ts, rule 3). */
  readonly #party: string;
  #closing = false;
  #connClosed = false;
  #connected = false;
  #applicationName = "";

  constructor(id: number, conn: Deno.Conn, ctx: ClientContext) {
    this.id = id;
    this.#conn = conn;
    this.#ctx = ctx;
    this.#prefix = `w${id}_`;
    this.#party = `wire:${id}`;
  }

  /** Serves the client until it leaves, then rolls back and releases whatever it left behind. */
  async serve(): Promise<void> {
    try {
      if (await this.#startup()) {
        this.#connected = true;
        this.#log("info", "Wire client connected", { application_name: this.#applicationName });
        await this.#serveMessages();
      }
    } catch (error) {
      await this.#onFailure(error);
    } finally {
      this.#closeConnection();
      await this.#cleanUp();
      if (this.#connected) this.#log("info", "Wire client disconnected");
    }
  }

  /** Ends the client from outside (server shutdown); `serve()` then cleans up and resolves. */
  shutdown(): void {
    this.#closing = true;
    this.#closeConnection();
  }

  // ---- Startup ------------------------------------------------------------------------------

  /** Runs the startup phase; true when the client is authenticated and ready for queries. */
  async #startup(): Promise<boolean> {
    const startup = await this.#readStartupPacket();
    if (startup === null || !(await this.#acceptStartup(startup))) return false;
    const user = startup.parameters.get("user")!;
    if (!(await this.#authenticate(user))) return false;
    // Postgres checks the database after the password, so a wrong guess reveals nothing.
    const database = startup.parameters.get("database") || user;
    if (database !== DATABASE) return this.#fatal("3D000", `database "${database}" does not exist`);
    this.#applicationName = startup.parameters.get("application_name") ?? "";
    await this.#write(this.#welcome());
    return true;
  }

  /** Checks the protocol version and the user; answers what a 3.0 server cannot do. */
  async #acceptStartup(startup: Extract<StartupPacket, { kind: "startup" }>): Promise<boolean> {
    if (startup.major !== 3) {
      const version = `${startup.major}.${startup.minor}`;
      return this.#fatal("0A000", `unsupported frontend protocol ${version}`);
    }
    const unsupported = [...startup.parameters.keys()].filter((name) => name.startsWith("_pq_."));
    if (startup.minor > 0 || unsupported.length > 0) {
      await this.#write(negotiateProtocolVersion(unsupported));
    }
    const user = startup.parameters.get("user") ?? "";
    if (user === "") {
      return this.#fatal("28000", "no PostgreSQL user name specified in startup packet");
    }
    if (!ACCEPTED_USERS.has(user)) return this.#fatal("28000", `role "${user}" does not exist`);
    return true;
  }

  /** Asks for the password in clear text (local use only) and checks it. */
  async #authenticate(user: string): Promise<boolean> {
    await this.#write(authenticationCleartextPassword());
    const reply = await this.#readMessage();
    if (reply === null) return false;
    if (reply.type !== "p") {
      return this.#fatal("08P01", `expected password response, got message type ${reply.type}`);
    }
    if (passwordOf(reply) !== this.#ctx.password) {
      this.#log("warn", "Wire client refused: wrong password", { user });
      return this.#fatal("28P01", `password authentication failed for user "${user}"`);
    }
    return true;
  }

  /** Reads the startup packet, answering SSL and GSSAPI encryption requests with 'N' (no). */
  async #readStartupPacket(): Promise<Extract<StartupPacket, { kind: "startup" }> | null> {
    for (;;) {
      const packet = this.#buffer.takeStartupPacket();
      if (packet === null) {
        if (!(await this.#receive())) return null;
        continue;
      }
      const parsed = parseStartupPacket(packet);
      if (parsed.kind === "startup") return parsed;
      if (parsed.kind === "cancel") return null; // PGlite cannot cancel a running statement
      await this.#write(refuseEncryption());
    }
  }

  /** AuthenticationOk, the ParameterStatus set, BackendKeyData and the first ReadyForQuery. */
  #welcome(): Uint8Array {
    const { serverVersion, timeZone, sessionUser } = this.#ctx.parameters;
    const parameters: Array<[string, string]> = [
      ["application_name", this.#applicationName],
      ["client_encoding", "UTF8"],
      ["DateStyle", "ISO, MDY"],
      ["default_transaction_read_only", "off"],
      ["in_hot_standby", "off"],
      ["integer_datetimes", "on"],
      ["IntervalStyle", "postgres"],
      ["is_superuser", "on"],
      ["server_encoding", "UTF8"],
      ["server_version", serverVersion],
      ["session_authorization", sessionUser],
      ["standard_conforming_strings", "on"],
      ["TimeZone", timeZone],
    ];
    const secret = crypto.getRandomValues(new Int32Array(1))[0]!;
    return concatBytes([
      authenticationOk(),
      ...parameters.map(([name, value]) => parameterStatus(name, value)),
      backendKeyData(this.id, secret),
      readyForQuery("I"),
    ]);
  }

  // ---- Framing ------------------------------------------------------------------------------

  async #serveMessages(): Promise<void> {
    for (;;) {
      for (
        let message = this.#buffer.takeMessage();
        message;
        message = this.#buffer.takeMessage()
      ) {
        if (!(await this.#accept(message))) return;
      }
      // Every complete frame received so far runs in one call: a pipelining client's frames go
      // to the backend together, as they would over a real connection.
      await this.#runReadyFrames();
      if (!(await this.#receive())) return;
    }
  }

  /** Takes one message into the pending frame; false when the client ends the session. */
  async #accept(message: Message): Promise<boolean> {
    if (this.#copyIn !== null) return await this.#acceptCopyData(message);
    switch (message.type) {
      case "X":
        await this.#runReadyFrames();
        return false;
      case "Q":
        await this.#acceptQuery(message);
        return true;
      default:
        if (STRAY_COPY_MESSAGES.has(message.type)) return true;
        if (NAMED_MESSAGES.has(message.type)) {
          this.#queue(this.#rename(message).bytes);
          return true;
        }
        if (FRAME_ENDS.has(message.type)) {
          this.#queue(message.bytes);
          return true;
        }
        return this.#fatal("08P01", `invalid frontend message type ${message.bytes[0]}`);
    }
  }

  async #acceptQuery(message: Message): Promise<void> {
    const sql = sqlTextOf(message);
    this.#noteSettings(sql);
    const statements = statementWords(sql);
    const copies = statements.filter(isCopyFromStdin);
    if (copies.length === 1 && statements.length === 1) {
      // Emulated COPY FROM STDIN: answer CopyInResponse ourselves, collect the data, and run the
      // statement with its data in one call once CopyDone or CopyFail arrives.
      this.#ready = this.#pending.length;
      await this.#runReadyFrames();
      this.#copyIn = { query: message.bytes, data: [] };
      await this.#write(copyInResponse(copyFormat(copies[0]!)));
      return;
    }
    this.#queue(copies.length > 0 ? queryMessage(REFUSE_COPY_FROM_STDIN) : message.bytes);
  }

  /** During an emulated COPY FROM STDIN: collects CopyData until CopyDone or CopyFail. */
  async #acceptCopyData(message: Message): Promise<boolean> {
    const copy = this.#copyIn!;
    switch (message.type) {
      case "d":
        copy.data.push(message.bytes);
        return true;
      case "H":
      case "S":
        return true; // ignored during COPY IN, per the protocol
      case "X":
        return false;
      case "c":
      case "f":
        this.#copyIn = null;
        await this.#execute(
          concatBytes([copy.query, ...copy.data, message.bytes]),
          DROP_NOTIFICATIONS_AND_COPY_IN,
        );
        return true;
      default:
        return this.#fatal(
          "08P01",
          `unexpected message type ${message.bytes[0]} during COPY from stdin`,
        );
    }
  }

  /** Prefixes statement and portal names; records named statements; refuses Parse of COPY IN. */
  #rename(message: Message): Message {
    if (message.type === "P") {
      const sql = sqlTextOf(message);
      this.#noteSettings(sql);
      if (statementWords(sql).some(isCopyFromStdin)) {
        message = replaceParseText(message, REFUSE_COPY_FROM_STDIN);
      }
    }
    const renamed = prefixNames(message, this.#prefix);
    for (const named of renamed.names) {
      if (named.kind !== "statement") continue;
      if (message.type === "P") this.#statements.add(named.name);
      if (message.type === "C") this.#statements.delete(named.name);
    }
    return renamed.message;
  }

  /** Custom settings this client may set are saved with its session state (session.ts). */
  #noteSettings(sql: string): void {
    const names = customSettingNames(sql);
    if (names.length > 0) this.#ctx.session.noteCustomSettings(this.#party, names);
  }

  #queue(bytes: Uint8Array): void {
    this.#pending.push(bytes);
    if (FRAME_ENDS.has(String.fromCharCode(bytes[0]!))) this.#ready = this.#pending.length;
  }

  async #runReadyFrames(): Promise<void> {
    if (this.#ready === 0) return;
    const frames = this.#pending.splice(0, this.#ready);
    this.#ready = 0;
    if (this.#discardUntilSync) {
      // As the backend does after an error in an extended-protocol exchange.
      const sync = frames.findIndex((bytes) => bytes[0] === SYNC);
      if (sync < 0) return;
      frames.splice(0, sync + 1);
      this.#discardUntilSync = false;
      await this.#write(readyForQuery("I"));
      if (frames.length === 0) return;
    }
    // A Flush with nothing before it has nothing to flush (PGlite answers in full at once), and
    // running it would make this client hold the session until its next Sync.
    if (this.#lease === null && frames.every((bytes) => bytes[0] === FLUSH)) return;
    await this.#execute(concatBytes(frames), DROP_NOTIFICATIONS);
  }

  /**
   * Runs frontend bytes on the session under this client's lease and writes the answer back.
   * The lease is released when the answer ends in ReadyForQuery 'I' and kept otherwise.
   */
  async #execute(frames: Uint8Array, drop: ReadonlySet<string>): Promise<void> {
    let lease: Lease;
    try {
      lease = await this.#holdLease();
    } catch (error) {
      if (!isSessionBusy(error)) throw error;
      await this.#answerBusy(frames, error.message, drop === DROP_NOTIFICATIONS_AND_COPY_IN);
      return;
    }
    const out = await lease.execRaw(frames);
    const scan = scanBackend(out, drop);
    if (scan.ready === "I") this.#releaseLease();
    await this.#write(scan.bytes);
  }

  /**
   * The answer to frames that could not get the session within the wait bound: an error for each
   * exchange, as if its first statement failed, each closed by ReadyForQuery (the client holds no
   * transaction, or it would hold the session). An exchange left open (a Flush) makes the client
   * skip to its Sync, as the backend would.
   */
  async #answerBusy(frames: Uint8Array, message: string, copy: boolean): Promise<void> {
    this.#log("warn", "Wire client gave up waiting for the session", { error: message });
    const error = errorResponse({ severity: "ERROR", code: SESSION_BUSY_SQLSTATE, message });
    // An emulated COPY FROM STDIN (its query, data and CopyDone) is one exchange.
    const types = copy ? ["Q"] : messageTypes(frames);
    const out: Uint8Array[] = [];
    let open = false;
    for (const type of types) {
      if (!open) out.push(error);
      open = true;
      if (type === "S" || type === "Q" || type === "F") {
        out.push(readyForQuery("I"));
        open = false;
      }
    }
    if (open) this.#discardUntilSync = true;
    await this.#write(concatBytes(out));
  }

  // ---- Lease --------------------------------------------------------------------------------

  async #holdLease(): Promise<Lease> {
    if (this.#lease !== null) return this.#lease;
    const lease = await this.#ctx.session.lease(this.#owner(), {
      party: this.#party,
      waitTimeoutMs: this.#ctx.waitTimeoutMs,
    });
    if (this.#closing) {
      lease.release();
      throw new ClientGone();
    }
    this.#lease = lease;
    return lease;
  }

  /** How this client shows up as the session's holder in logs and busy errors. */
  #owner(): string {
    const name = this.#applicationName ? ` ${this.#applicationName}` : "";
    const remote = this.#conn.remoteAddr as Deno.NetAddr;
    return `wire:${this.id} (${`${name} ${remote.hostname}:${remote.port}`.trim()})`;
  }

  #releaseLease(): void {
    this.#lease?.release();
    this.#lease = null;
  }

  /**
   * What a disconnect leaves behind, undone under the lease: an open transaction or exchange
   * (rolled back), named statements (closed) and session-level state (back to the baseline).
   */
  async #cleanUp(): Promise<void> {
    this.#copyIn = null;
    const midExchange = this.#lease !== null;
    if (!this.#connected && !midExchange) return;
    try {
      const lease = this.#lease ?? await this.#ctx.session.lease(`${this.#owner()}:cleanup`, {
        party: this.#party,
        waitTimeoutMs: null,
      });
      this.#lease = lease;
      if (midExchange) await rollBackToIdle(lease);
      if (this.#statements.size > 0) {
        const closes = [...this.#statements].map(closeStatement);
        await lease.execRaw(concatBytes([...closes, syncMessage()]));
        this.#statements.clear();
      }
      await this.#ctx.session.forgetParty(this.#party);
    } catch (error) {
      if (!(error instanceof SessionClosedError)) {
        this.#log("error", "Wire client cleanup failed", { error: String(error) });
      }
    } finally {
      this.#releaseLease();
    }
  }

  // ---- I/O ----------------------------------------------------------------------------------

  /**
   * Reads the next chunk into the buffer; false at end of stream. While this client holds the
   * lease, waiting longer than the idle timeout ends it, as idle_in_transaction_session_timeout
   * does in Postgres: nobody else can use the session meanwhile.
   */
  async #receive(): Promise<boolean> {
    const timer = this.#lease === null
      ? undefined
      : setTimeout(() => this.#onIdleTimeout(), this.#ctx.idleInTransactionTimeoutMs);
    try {
      const read = await this.#conn.read(this.#chunk);
      if (read === null) return false;
      this.#buffer.push(this.#chunk.subarray(0, read));
      return true;
    } catch {
      return false; // reset by the peer, or closed by shutdown() or the idle timeout
    } finally {
      clearTimeout(timer);
    }
  }

  /** Reads the next complete typed message, or null at end of stream. */
  async #readMessage(): Promise<Message | null> {
    for (;;) {
      const message = this.#buffer.takeMessage();
      if (message !== null) return message;
      if (!(await this.#receive())) return null;
    }
  }

  #onIdleTimeout(): void {
    this.#log("warn", "Wire client ended: idle in transaction", {
      timeout_ms: this.#ctx.idleInTransactionTimeoutMs,
    });
    const fatal = errorResponse({
      severity: "FATAL",
      code: "25P03",
      message: "terminating connection due to idle-in-transaction timeout",
    });
    // The serving loop is parked in read(): closing the connection wakes it and it cleans up.
    this.#conn.write(fatal).catch(() => {}).finally(() => this.#closeConnection());
  }

  async #write(bytes: Uint8Array): Promise<void> {
    for (let at = 0; at < bytes.length;) at += await this.#conn.write(bytes.subarray(at));
  }

  /** Sends an ErrorResponse with severity FATAL; returns false so callers can end the client. */
  async #fatal(code: string, message: string): Promise<false> {
    try {
      await this.#write(errorResponse({ severity: "FATAL", code, message }));
    } catch {
      // the client is gone already
    }
    return false;
  }

  #closeConnection(): void {
    if (this.#connClosed) return;
    this.#connClosed = true;
    try {
      this.#conn.close();
    } catch {
      // already closed by the peer
    }
  }

  async #onFailure(error: unknown): Promise<void> {
    if (error instanceof ClientGone || error instanceof SessionClosedError) return;
    if (error instanceof ProtocolError) {
      this.#log("warn", "Wire client sent a malformed message", { error: error.message });
      await this.#fatal("08P01", error.message);
      return;
    }
    if (isDisconnect(error)) return;
    this.#log("error", "Wire client failed", { error: String(error) });
  }

  #log(level: WireLogEvent["level"], msg: string, fields: Record<string, unknown> = {}): void {
    this.#ctx.log({ level, msg, client: this.id, ...fields });
  }
}

/**
 * Brings the session back to "idle, no transaction" after a client left in the middle of
 * something: ROLLBACK ends an explicit or implicit transaction; when the backend is skipping
 * messages until Sync after an error, the ROLLBACK yields nothing and a Sync comes first.
 */
async function rollBackToIdle(lease: Lease): Promise<void> {
  for (let attempt = 0; attempt < 3; attempt++) {
    let status: TransactionStatus | null = scanBackend(
      await lease.execRaw(queryMessage("rollback")),
    ).ready;
    if (status === null) status = scanBackend(await lease.execRaw(syncMessage())).ready;
    if (status === "I") return;
  }
  throw new Error("The session could not be brought back to idle after a wire client left");
}

function isDisconnect(error: unknown): boolean {
  return error instanceof Deno.errors.BrokenPipe ||
    error instanceof Deno.errors.ConnectionReset ||
    error instanceof Deno.errors.BadResource ||
    error instanceof Deno.errors.Interrupted ||
    error instanceof Deno.errors.NotConnected;
}

/** The type letters of the messages in concatenated frontend bytes. */
function messageTypes(bytes: Uint8Array): string[] {
  const types: string[] = [];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let at = 0; at + 5 <= bytes.length; at += 1 + view.getInt32(at + 1)) {
    types.push(String.fromCharCode(bytes[at]!));
  }
  return types;
}
