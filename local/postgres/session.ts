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

type HeldLease = Lease & { state: LeaseState };

export class SessionClosedError extends Error {
  constructor() {
    super("The local database session is closed");
    this.name = "SessionClosedError";
  }
}

export class Session implements SessionHandle {
  readonly #pg: PGlite;
  readonly #waiters: Array<{ owner: string; grant: () => void; reject: (e: Error) => void }> = [];
  /** The lease held by the current async context; released leases no longer count. */
  readonly #holding = new AsyncLocalStorage<LeaseState>();
  #holder: string | null = null;
  #closed = false;

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

  /** Waits for exclusive use of the session. */
  lease(owner: string): Promise<Lease> {
    return this.#acquire(owner);
  }

  async #acquire(owner: string): Promise<HeldLease> {
    if (this.#closed) throw new SessionClosedError();
    const held = this.#holding.getStore();
    if (held !== undefined && !held.released()) {
      throw new Error(
        `Session re-entered by "${owner}" while "${held.owner}" holds it in the same context: ` +
          "use the handle you were given instead of the session",
      );
    }
    if (this.#holder !== null) {
      await new Promise<void>((grant, reject) => this.#waiters.push({ owner, grant, reject }));
    }
    this.#holder = owner;
    return this.#makeLease(owner);
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

  /** Waits for the current holder and every waiter, then closes PGlite (checkpoint included). */
  async close(): Promise<void> {
    if (this.#closed) return;
    const lease = await this.lease("close");
    this.#closed = true;
    for (const waiter of this.#waiters.splice(0)) waiter.reject(new SessionClosedError());
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
      this.#holder = next.owner;
      next.grant();
    } else {
      this.#holder = null;
    }
  }
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
