/**
 * pg_net's background worker for the local stack. It drains `net.http_request_queue` (only
 * committed rows are visible, so a rolled-back transaction sends nothing), makes the requests
 * concurrently with their own timeouts, and stores each outcome in `net._http_response` under the
 * request's id, as pg_net does: status, headers, content type and body on success; `timed_out`
 * and `error_msg` (status null) on failure. Responses older than the TTL are deleted.
 *
 * Like pg_net, a request is dequeued before it is sent: there are no retries. That is why the
 * project's queue (supabase/migrations) never relies on a single pg_net call succeeding.
 */
import type { Session } from "../postgres/session.ts";
import type { WorkerLog } from "./log.ts";

interface RequestRow {
  id: number;
  method: string;
  url: string;
  headers: Record<string, string> | null;
  body: Uint8Array<ArrayBuffer> | null;
  timeout_milliseconds: number;
}

interface Outcome {
  id: number;
  status_code: number | null;
  content_type: string | null;
  headers: Record<string, string> | null;
  content: string | null;
  timed_out: boolean;
  error_msg: string | null;
}

export interface NetWorkerOptions {
  session: Session;
  /** How often to look for queued requests (default 200 ms). */
  pollMs?: number;
  /** Requests taken per pass (pg_net.batch_size, default 200). */
  batchSize?: number;
  /** How long responses are kept (pg_net.ttl, default 6 hours). */
  ttl?: string;
  log?: WorkerLog;
}

export interface NetWorker {
  /** Resolves when the loop and every request in flight have finished. */
  stop(): Promise<void>;
  /** Drains the queue once now; resolves when those requests' responses are stored. */
  drain(): Promise<number>;
}

export function startNetWorker(options: NetWorkerOptions): NetWorker {
  const { session } = options;
  const log = options.log ?? (() => {});
  const batchSize = options.batchSize ?? 200;
  const ttl = options.ttl ?? "6 hours";
  let stopped = false;
  let passes: Promise<unknown> = Promise.resolve();
  let lastCleanup = 0;

  async function pass(): Promise<number> {
    // Until a migration creates the pg_net extension there is no queue to drain.
    const { rows: [installed] } = await session.query<{ yes: boolean }>(
      "select to_regclass('net.http_request_queue') is not null as yes",
    );
    if (!installed?.yes) return 0;
    if (Date.now() - lastCleanup > 60_000) {
      lastCleanup = Date.now();
      await session.query(
        `delete from net._http_response where id in (
           select id from net._http_response where created < now() - $1::interval limit $2)`,
        [ttl, batchSize],
      );
    }
    const { rows } = await session.query<RequestRow>(
      `delete from net.http_request_queue where id in (
         select id from net.http_request_queue order by id limit $1)
       returning id, method, url, headers, body, timeout_milliseconds`,
      [batchSize],
    );
    if (rows.length === 0) return 0;
    const outcomes = await Promise.all(rows.map(send));
    await session.query(
      `insert into net._http_response (id, status_code, content_type, headers, content, timed_out, error_msg)
       select id, status_code, content_type, headers, content, timed_out, error_msg
       from jsonb_to_recordset($1::jsonb) as r(id bigint, status_code int, content_type text,
         headers jsonb, content text, timed_out bool, error_msg text)`,
      [JSON.stringify(outcomes)],
    );
    for (const o of outcomes.filter((o) => o.error_msg)) {
      log({ level: "warn", msg: "pg_net request failed", id: o.id, error: o.error_msg });
    }
    return rows.length;
  }

  const run = () => {
    const next = passes.then(pass);
    passes = next.catch((error) => {
      if (!stopped) log({ level: "error", msg: "pg_net pass failed", error: String(error) });
    });
    return next;
  };

  const timer = setInterval(() => {
    if (!stopped) run();
  }, options.pollMs ?? 200);

  return {
    drain: async () => {
      let total = 0;
      for (let n = await run(); n > 0; n = await run()) total += n;
      return total;
    },
    async stop() {
      stopped = true;
      clearInterval(timer);
      await passes;
    },
  };
}

async function send(request: RequestRow): Promise<Outcome> {
  const base = { id: request.id, status_code: null, content_type: null, headers: null };
  try {
    const response = await fetch(request.url, {
      method: request.method.toUpperCase(),
      headers: request.headers ?? {},
      ...(request.body ? { body: request.body } : {}),
      signal: AbortSignal.timeout(request.timeout_milliseconds),
    });
    const content = await response.text();
    return {
      id: request.id,
      status_code: response.status,
      content_type: response.headers.get("content-type"),
      headers: Object.fromEntries(response.headers),
      content: content === "" ? null : content,
      timed_out: false,
      error_msg: null,
    };
  } catch (error) {
    const timedOut = error instanceof DOMException && error.name === "TimeoutError";
    return {
      ...base,
      content: null,
      timed_out: timedOut,
      error_msg: timedOut
        ? `Timeout of ${request.timeout_milliseconds} ms reached`
        : `Couldn't connect: ${error instanceof Error ? error.message : String(error)}`,
    };
  }
}
