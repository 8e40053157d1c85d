/**
 * The session gate. PGlite is one Postgres session shared by every party of the local stack: the
 * in-process functions, the auth and storage emulators, the workers and every wire client. Two
 * rules keep them from corrupting each other:
 *
 * 1. Exclusive leases, first come first served. Whoever holds the lease is the only one talking
 *    to Postgres; everyone else waits in a FIFO queue.
 * 2. A transaction keeps its lease until it ends. In-process `transaction()` holds the lease from
 *    BEGIN to COMMIT/ROLLBACK; a wire client holds it while its last ReadyForQuery said it is in
 *    a transaction (see `local/wire`).
 *
 * A party that calls back into the session while it already holds a lease would wait for itself
 * forever; that mistake is detected (AsyncLocalStorage) and thrown instead.
 *
 * Two more rules make the one session behave like many:
 *
 * 3. Session state belongs to a party. Leases name their party (`"stack"` for everything in
 *    process, `"wire:<id>"` for each wire client). When the session passes from a wire client to
 *    another party, that client's session-level state (SET, set_config(..., false), SET ROLE,
 *    SET SESSION AUTHORIZATION, DISCARD ALL) is saved and the session is reset to the baseline
 *    recorded by `markBaseline()`; when the client's next lease starts, its state is put back.
 *    So one client's `set search_path = pg_catalog` or `set request.jwt.claim.sub = ...` never
 *    reaches the API or another client, and still lasts for the client that set it.
 * 4. Waiting is bounded. A lease request that waits longer than its bound (default
 *    `waitTimeoutMs`) fails with SessionBusyError (code `session_busy`, a 503 for HTTP callers),
 *    naming the holder; while anyone waits, the holder and how long it has held the session are
 *    logged every `waitLogIntervalMs`.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import type { PGlite, Results } from "@electric-sql/pglite";
import { type BackendError, commandTags, simpleQuery, summarize } from "./messages.ts";

export { commandTags, simpleQuery };

export type Row = Record<string, unknown>;

/** What a lease holder can do with the session. */
export interface SessionHandle {
  query<T = Row>(sql: string, params?: readonly unknown[]): Promise<Results<T>>;
  /** Runs one or more statements with the simple protocol; no parameters. */
  exec(sql: string): Promise<Results[]>;
}

/** Exclusive use of the session until `release()`. */
export interface Lease extends SessionHandle {
  readonly owner: string;
  /** Sends raw frontend protocol bytes; returns the raw backend bytes. */
  execRaw(message: Uint8Array): Promise<Uint8Array>;
  release(): void;
}

interface LeaseState {
  owner: string;
  released: () => boolean;
}

/** How a lease request behaves. */
export interface LeaseOptions {
  /** Whose session state the lease works in (default `"stack"`, the in-process parties). */
  party?: string;
  /** Fail with SessionBusyError after waiting this long; null waits forever (default: the policy's). */
  waitTimeoutMs?: number | null;
}

/** Bounds and logging of waits for the session (see rule 4). */
export interface WaitPolicy {
  /** How long an in-process party waits for the session before SessionBusyError; null = forever. */
  waitTimeoutMs: number | null;
  /** How often the holder is logged while others wait. */
  waitLogIntervalMs: number;
  log: (event: SessionLogEvent) => void;
}

export interface SessionLogEvent {
  level: "info" | "warn" | "error";
  msg: string;
  [field: string]: unknown;
}

/** Default bound on waiting for the session (README "Local stack"). */
export const DEFAULT_WAIT_TIMEOUT_MS = 15_000;
const STACK_PARTY = "stack";

/** A party's session-level state: settings whose source is the session, role, authorization. */
interface SessionState {
  settings: Array<[string, string]>;
  role: string;
  authorization: string;
}

type HeldLease = Lease & { state: LeaseState };

export class SessionClosedError extends Error {
  constructor() {
    super("The local database session is closed");
    this.name = "SessionClosedError";
  }
}

/** Waiting for the session took longer than the bound: someone holds it (often psql in BEGIN). */
export class SessionBusyError extends Error {
  readonly code = "session_busy";
  readonly holder: string;
  readonly heldMs: number;

  constructor(holder: string, heldMs: number, waitedMs: number) {
    super(
      `The local database is busy: "${holder}" has held its one session for ` +
        `${seconds(heldMs)} s (a transaction left open?); gave up after waiting ${
          seconds(waitedMs)
        } s`,
    );
    this.name = "SessionBusyError";
    this.holder = holder;
    this.heldMs = heldMs;
  }
}

/** True for SessionBusyError, also across module copies (checked by shape). */
export function isSessionBusy(error: unknown): error is SessionBusyError {
  return error instanceof Error && (error as { code?: unknown }).code === "session_busy";
}

function seconds(ms: number): string {
  return (ms / 1000).toFixed(1);
}

export class Session implements SessionHandle {
  readonly #pg: PGlite;
  readonly #waiters: Waiter[] = [];
  /** The lease held by the current async context; released leases no longer count. */
  readonly #holding = new AsyncLocalStorage<LeaseState>();
  #holder: string | null = null;
  #heldSince = 0;
  #closed = false;
  #policy: WaitPolicy = {
    waitTimeoutMs: DEFAULT_WAIT_TIMEOUT_MS,
    waitLogIntervalMs: 5_000,
    log: () => {},
  };
  #waitLog: ReturnType<typeof setInterval> | undefined;
  /** The party whose session state is live, and the saved states of the others. */
  #liveParty = STACK_PARTY;
  readonly #saved = new Map<string, SessionState>();
  /** Custom (dotted) setting names each party's SQL mentioned, to save with its state. */
  readonly #customNames = new Map<string, Set<string>>();
  #baseline: SessionState | null = null;

  constructor(pg: PGlite) {
    this.#pg = pg;
  }

  /** The party holding the lease, if any (for diagnostics and tests). */
  get holder(): string | null {
    return this.#holder;
  }

  /** How many parties wait for the lease. */
  get waiting(): number {
    return this.#waiters.length;
  }

  /** How long the current holder has held the session, in ms (0 when nobody does). */
  get heldMs(): number {
    return this.#holder === null ? 0 : performance.now() - this.#heldSince;
  }

  /** Sets the bound on waiting and where waits are logged. */
  setWaitPolicy(policy: Partial<WaitPolicy>): void {
    this.#policy = { ...this.#policy, ...policy };
    this.#stopWaitLog();
    if (this.#waiters.length > 0) this.#watchWaits();
  }

  #stopWaitLog(): void {
    clearInterval(this.#waitLog);
    this.#waitLog = undefined;
  }

  /**
   * Records the current session-level state as the baseline every party returns to (the stack
   * calls it once the database is booted; before that the baseline is PGlite's defaults).
   */
  async markBaseline(): Promise<void> {
    const lease = await this.#acquire("baseline", { waitTimeoutMs: null });
    try {
      this.#baseline = await captureState(this.#pg);
    } finally {
      lease.release();
    }
  }

  /**
   * Forgets a party's saved state; if its state is live, resets the session to the baseline.
   * Call it only while holding a lease of that party (a wire client leaving).
   */
  async forgetParty(party: string): Promise<void> {
    this.#saved.delete(party);
    this.#customNames.delete(party);
    if (this.#liveParty !== party) return;
    await resetState(this.#pg, this.#baseline);
    this.#liveParty = STACK_PARTY;
  }

  /**
   * Runs `fn` with the PGlite instance itself, under an exclusive lease of its own party: for
   * tools that drive the backend directly (pg_dump in WASM). Whatever session state it leaves is
   * reset to the baseline before anyone else runs.
   */
  async withPglite<T>(owner: string, fn: (pg: PGlite) => Promise<T>): Promise<T> {
    const lease = await this.#acquire(owner, { party: owner, waitTimeoutMs: null });
    try {
      return await this.#holding.run(lease.state, () => fn(this.#pg));
    } finally {
      try {
        await this.forgetParty(owner);
      } finally {
        lease.release();
      }
    }
  }

  /** Notes custom setting names (`request.jwt.claim.sub`) a party may have set, to save them. */
  noteCustomSettings(party: string, names: Iterable<string>): void {
    let known = this.#customNames.get(party);
    if (!known) this.#customNames.set(party, known = new Set());
    for (const name of names) known.add(name.toLowerCase());
  }

  /** Waits for exclusive use of the session. */
  lease(owner: string, options: LeaseOptions = {}): Promise<Lease> {
    return this.#acquire(owner, options);
  }

  async #acquire(owner: string, options: LeaseOptions = {}): Promise<HeldLease> {
    if (this.#closed) throw new SessionClosedError();
    const held = this.#holding.getStore();
    if (held !== undefined && !held.released()) {
      throw new Error(
        `Session re-entered by "${owner}" while "${held.owner}" holds it in the same context: ` +
          "use the handle you were given instead of the session",
      );
    }
    if (this.#holder !== null) await this.#wait(owner, options);
    this.#holder = owner;
    this.#heldSince = performance.now();
    const lease = this.#makeLease(owner);
    try {
      await this.#switchParty(options.party ?? STACK_PARTY);
    } catch (error) {
      lease.release();
      throw error;
    }
    return lease;
  }

  #wait(owner: string, options: LeaseOptions): Promise<void> {
    const bound = options.waitTimeoutMs === undefined
      ? this.#policy.waitTimeoutMs
      : options.waitTimeoutMs;
    const since = performance.now();
    return new Promise<void>((grant, reject) => {
      const waiter: Waiter = { owner, since, grant, reject };
      if (bound !== null) {
        waiter.timer = setTimeout(() => {
          const at = this.#waiters.indexOf(waiter);
          if (at < 0) return;
          this.#waiters.splice(at, 1);
          if (this.#waiters.length === 0) this.#stopWaitLog();
          const holder = this.#holder ?? "nobody";
          this.#policy.log({
            level: "warn",
            msg: "Gave up waiting for the database session",
            waiter: owner,
            holder,
            held_ms: Math.round(this.heldMs),
            waited_ms: Math.round(performance.now() - since),
          });
          reject(new SessionBusyError(holder, this.heldMs, performance.now() - since));
        }, bound);
      }
      this.#waiters.push(waiter);
      this.#watchWaits();
    });
  }

  /** While anyone waits, logs who holds the session and for how long. */
  #watchWaits(): void {
    if (this.#waitLog !== undefined) return;
    this.#waitLog = setInterval(() => {
      if (this.#waiters.length === 0 || this.#holder === null) return this.#stopWaitLog();
      this.#policy.log({
        level: "warn",
        msg: "Waiting for the database session",
        holder: this.#holder,
        held_ms: Math.round(this.heldMs),
        waiting: this.#waiters.length,
        first_waiter: this.#waiters[0]?.owner,
      });
    }, this.#policy.waitLogIntervalMs);
  }

  /** Rule 3: saves and resets the outgoing wire party's state, restores the incoming one's. */
  async #switchParty(party: string): Promise<void> {
    if (party === this.#liveParty) return;
    const outgoing = this.#liveParty;
    if (outgoing !== STACK_PARTY) {
      const state = await captureState(this.#pg, this.#customNames.get(outgoing) ?? []);
      if (this.#baseline !== null && sameState(state, this.#baseline)) {
        this.#saved.delete(outgoing);
      } else {
        this.#saved.set(outgoing, state);
        await resetState(this.#pg, this.#baseline);
      }
    }
    this.#liveParty = STACK_PARTY;
    const incoming = this.#saved.get(party);
    if (incoming) await restoreState(this.#pg, incoming);
    this.#liveParty = party;
  }

  /** One statement with parameters, under its own short lease. */
  async query<T = Row>(sql: string, params?: readonly unknown[]): Promise<Results<T>> {
    const lease = await this.#acquire("query");
    try {
      return await this.#holding.run(lease.state, () => lease.query<T>(sql, params));
    } finally {
      lease.release();
    }
  }

  /** Statements without parameters, under their own short lease. */
  async exec(sql: string): Promise<Results[]> {
    const lease = await this.#acquire("exec");
    try {
      return await this.#holding.run(lease.state, () => lease.exec(sql));
    } finally {
      lease.release();
    }
  }

  /**
   * Runs `fn` in a transaction that holds the session from BEGIN to the end. Commits when `fn`
   * resolves, rolls back when it throws. If a statement failed inside `fn` and `fn` swallowed
   * the error, Postgres turns COMMIT into ROLLBACK; that is reported as an error, never as success.
   */
  async transaction<T>(
    fn: (tx: SessionHandle) => Promise<T>,
    owner = "transaction",
  ): Promise<T> {
    const lease = await this.#acquire(owner);
    try {
      return await this.#holding.run(lease.state, async () => {
        await lease.exec("begin");
        let result: T;
        try {
          result = await fn({ query: lease.query, exec: lease.exec });
        } catch (error) {
          await lease.exec("rollback");
          throw error;
        }
        const tag = await commit(lease);
        if (tag !== "COMMIT") {
          throw new Error(
            "The transaction was aborted by an earlier error and has been rolled back",
          );
        }
        return result;
      });
    } finally {
      lease.release();
    }
  }

  /**
   * Calls `fn` with the payload of every NOTIFY on `channel`, after the notifying transaction
   * commits (the Data API's `NOTIFY pgrst, 'reload schema'`). LISTEN runs under a lease.
   */
  async listen(channel: string, fn: (payload: string) => void): Promise<() => Promise<void>> {
    const lease = await this.#acquire("listen");
    try {
      // Notifications arrive while the notifying party still holds the lease, inside its async
      // context; the callback runs outside it, so it may use the session itself.
      return await this.#pg.listen(channel, (payload) => this.#holding.exit(() => fn(payload)));
    } finally {
      lease.release();
    }
  }

  /** Waits for the current holder and every waiter, then closes PGlite (checkpoint included). */
  async close(): Promise<void> {
    if (this.#closed) return;
    const lease = await this.lease("close", { waitTimeoutMs: null });
    this.#closed = true;
    for (const waiter of this.#waiters.splice(0)) {
      clearTimeout(waiter.timer);
      waiter.reject(new SessionClosedError());
    }
    this.#stopWaitLog();
    try {
      if (this.#pg.isInTransaction()) await this.#pg.exec("rollback");
      await this.#pg.close();
    } finally {
      lease.release();
    }
  }

  #makeLease(owner: string): HeldLease {
    const pg = this.#pg;
    let released = false;
    const check = () => {
      if (released) throw new Error(`Lease of "${owner}" used after release`);
    };
    return {
      owner,
      state: { owner, released: () => released },
      query: <T>(sql: string, params?: readonly unknown[]) => {
        check();
        return pg.query<T>(sql, params as unknown[] | undefined);
      },
      exec: (sql: string) => {
        check();
        return pg.exec(sql);
      },
      execRaw: (message: Uint8Array) => {
        check();
        return pg.execProtocolRaw(message);
      },
      release: () => {
        if (released) return;
        released = true;
        this.#handOver();
      },
    };
  }

  #handOver(): void {
    const next = this.#waiters.shift();
    if (next) {
      clearTimeout(next.timer);
      this.#holder = next.owner;
      this.#heldSince = performance.now();
      next.grant();
    } else {
      this.#holder = null;
    }
    if (this.#waiters.length === 0) this.#stopWaitLog();
  }
}

interface Waiter {
  owner: string;
  since: number;
  grant: () => void;
  reject: (e: Error) => void;
  timer?: ReturnType<typeof setTimeout>;
}

/**
 * The session-level state: the settings whose source is the session, the custom (dotted) settings
 * among `customNames` that have a value (Postgres lists no custom settings in pg_settings), the
 * role and the session user. Read with schema-qualified names: the search_path may be anything.
 */
async function captureState(pg: PGlite, customNames: Iterable<string> = []): Promise<SessionState> {
  const { rows } = await pg.query<
    { settings: Array<[string, string]>; role: string; auth: string }
  >(
    `select coalesce((select pg_catalog.json_agg(pg_catalog.json_build_array(name, setting)
                       order by name)
                      from (select name, setting from pg_catalog.pg_settings
                             where source = 'session'
                            union all
                            select n, pg_catalog.current_setting(n, true)
                              from pg_catalog.unnest($1::pg_catalog.text[]) as n
                             where pg_catalog.current_setting(n, true) <> '') as s), '[]')
              as settings,
            pg_catalog.current_setting('role') as role,
            session_user::pg_catalog.text as auth`,
    [[...customNames]],
  );
  const row = rows[0]!;
  return { settings: row.settings, role: row.role, authorization: row.auth };
}

function sameState(a: SessionState, b: SessionState): boolean {
  return a.role === b.role && a.authorization === b.authorization &&
    JSON.stringify(a.settings) === JSON.stringify(b.settings);
}

/**
 * Back to the baseline: the session user and no role first (so the rest runs as superuser),
 * every setting reset (custom ones included), then the baseline's own settings (the postgres
 * search_path `"$user", public, extensions` among them). PGlite's RESET SESSION AUTHORIZATION
 * keeps the changed user (it has no authenticated user to return to), so the user is named.
 */
async function resetState(pg: PGlite, baseline: SessionState | null): Promise<void> {
  const user = baseline?.authorization ?? "postgres";
  await pg.exec(`set session authorization ${quoteIdent(user)}; reset role; reset all`);
  if (baseline) await restoreState(pg, baseline);
}

async function restoreState(pg: PGlite, state: SessionState): Promise<void> {
  if (state.settings.length > 0) {
    await pg.query(
      "select pg_catalog.set_config(s->>0, s->>1, false) " +
        "from pg_catalog.json_array_elements($1::pg_catalog.json) as s",
      [JSON.stringify(state.settings)],
    );
  }
  // Authorization first: SET SESSION AUTHORIZATION also resets the role.
  await pg.exec(`set session authorization ${quoteIdent(state.authorization)}`);
  if (state.role !== "none") await pg.exec(`set role ${quoteIdent(state.role)}`);
}

function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/**
 * Sends COMMIT with the simple protocol and returns the command tag ("COMMIT" or "ROLLBACK").
 * An error raised by COMMIT itself (a deferred constraint, a serialization failure) is thrown
 * with its SQLSTATE, like any statement's error, so callers can map it (23503 is not a 500).
 */
async function commit(lease: Lease): Promise<string> {
  const { tags, errors } = summarize(await lease.execRaw(simpleQuery("commit")));
  if (errors[0]) throw new CommitError(errors[0]);
  return tags.at(-1) ?? "";
}

/** An error raised by COMMIT; shaped like PGlite's errors (message, code, severity, detail). */
export class CommitError extends Error {
  readonly code: string;
  readonly severity: string;
  readonly detail: string | undefined;
  readonly hint: string | undefined;

  constructor(error: BackendError) {
    super(error.message);
    this.name = "CommitError";
    this.code = error.code;
    this.severity = error.severity;
    this.detail = error.detail;
    this.hint = error.hint;
  }
}
