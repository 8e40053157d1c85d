/**
 * `/realtime/v1`: Realtime's Phoenix channel protocol as realtime-js 2.x speaks it, on the
 * gateway's port.
 *
 * - Sockets at `/realtime/v1/websocket?apikey=...&vsn=1.0.0|2.0.0`: JSON object frames (1.0.0) or
 *   JSON array frames plus binary user-broadcast frames (2.0.0, realtime-js's default).
 * - Channels (`realtime:<name>`): `phx_join` with `{ config, access_token }`, `phx_leave`,
 *   `access_token` updates, `heartbeat` on topic `phoenix`, `phx_reply` statuses.
 * - `postgres_changes` from local/realtime/capture.ts, filtered as realtime-js asks (`eq`,
 *   `neq`, `lt`, `lte`, `gt`, `gte`, `in`) and authorised per subscriber by RLS: the row is
 *   read back as the subscriber (role and claims) and delivered only if that read sees it.
 *   DELETEs on RLS tables carry only the primary key, as on hosted.
 * - `broadcast` (with `self` and `ack`) and `presence` (track, untrack, state and diff), and the
 *   REST endpoints `POST /realtime/v1/api/broadcast` (batch) and `.../api/broadcast/<topic>/events/<event>`.
 * - A token that expires closes its channels with the hosted system message.
 * - Bounded memory: a socket whose unsent bytes pass MAX_BUFFERED_BYTES is closed (1008); a
 *   frame larger than MAX_FRAME_BYTES closes its socket (1009); changes reach a subscriber only
 *   with SELECT on the table (column grants strip the columns it lacks).
 *
 * Not emulated: private channels (Realtime Authorization on realtime.messages), broadcast
 * replay and persistence, `postgres_changes` column selection; joins that ask for them get an
 * error reply saying so.
 */
import type { LocalKeys } from "../keys.ts";
import type { Session } from "../postgres/session.ts";
import type { WorkerLog } from "../workers/log.ts";
import { type Change, CHANNEL, installCapture, takeChanges } from "./capture.ts";
import { decodeFrame, encodeFrame, type Message } from "./frames.ts";

/** Unsent bytes a socket may accumulate before it is dropped as too slow. */
const MAX_BUFFERED_BYTES = 4 * 1024 * 1024;
/** Channels one socket may join. */
const MAX_CHANNELS_PER_SOCKET = 100;
/** The largest frame a client may send (hosted's default max payload, 3000 KB). */
const MAX_FRAME_BYTES = 3000 * 1024;

interface Binding {
  id: number;
  event: "*" | "INSERT" | "UPDATE" | "DELETE";
  schema: string;
  table?: string;
  filter?: { column: string; op: string; value: string };
  raw: { event: string; schema: string; table?: string; filter?: string };
}

interface Channel {
  topic: string;
  joinRef: string | null;
  claims: Record<string, unknown> & { role: string };
  broadcastSelf: boolean;
  broadcastAck: boolean;
  presenceKey: string;
  bindings: Binding[];
  expiryTimer?: ReturnType<typeof setTimeout>;
}

interface Client {
  socket: WebSocket;
  vsn: "1.0.0" | "2.0.0";
  apikeyClaims: (Record<string, unknown> & { role: string }) | null;
  channels: Map<string, Channel>;
}

interface PresenceEntry {
  client: Client;
  meta: Record<string, unknown> & { phx_ref: string };
}

export interface RealtimeOptions {
  session: Session;
  keys: LocalKeys;
  log?: WorkerLog;
}

export interface RealtimeServer {
  /** Handles `/realtime/v1/*` requests (WebSocket upgrades and the REST broadcast API). */
  fetch(request: Request): Promise<Response>;
  stop(): Promise<void>;
}

export async function startRealtime(options: RealtimeOptions): Promise<RealtimeServer> {
  const { session, keys } = options;
  const log = options.log ?? (() => {});
  const clients = new Set<Client>();
  /** topic -> presence key -> entries */
  const presence = new Map<string, Map<string, PresenceEntry[]>>();
  const columnTypes = new Map<string, Array<{ name: string; type: string }>>();
  const primaryKeys = new Map<string, string[]>();
  const rlsEnabled = new Map<string, boolean>();
  const fullIdentity = new Map<string, boolean>();
  let nextBindingId = 1;
  let draining: Promise<void> | null = null;
  let again = false;
  let stopped = false;

  await installCapture(session);
  const unlisten = await session.listen(CHANNEL, () => void drain());

  function drain(): Promise<void> {
    if (draining) {
      again = true;
      return draining;
    }
    draining = (async () => {
      do {
        again = false;
        let batch: Change[];
        do {
          if (stopped) return;
          batch = await takeChanges(session);
          if (batch.length) await deliver(batch);
        } while (batch.length > 0);
      } while (again);
    })().catch((error) =>
      log({ level: "error", msg: "realtime delivery failed", error: String(error) })
    )
      .finally(() => {
        draining = null;
      });
    return draining;
  }

  async function tableInfo(schema: string, table: string) {
    const key = `${schema}.${table}`;
    if (!columnTypes.has(key)) {
      const rows = await session.query<
        { name: string; type: string; pk: boolean; rls: boolean; full: boolean }
      >(
        `select a.attname as name, t.typname as type,
                coalesce(a.attnum = any(i.indkey::int2[]), false) as pk, c.relrowsecurity as rls,
                c.relreplident = 'f' as full
         from pg_attribute a
         join pg_class c on c.oid = a.attrelid
         join pg_namespace n on n.oid = c.relnamespace
         join pg_type t on t.oid = a.atttypid
         left join pg_index i on i.indrelid = c.oid and i.indisprimary
         where n.nspname = $1 and c.relname = $2 and a.attnum > 0 and not a.attisdropped
         order by a.attnum`,
        [schema, table],
      );
      columnTypes.set(key, rows.rows.map((r) => ({ name: r.name, type: r.type })));
      primaryKeys.set(key, rows.rows.filter((r) => r.pk).map((r) => r.name));
      rlsEnabled.set(key, rows.rows[0]?.rls ?? false);
      fullIdentity.set(key, rows.rows[0]?.full ?? false);
    }
    return {
      columns: columnTypes.get(key)!,
      primaryKey: primaryKeys.get(key)!,
      rls: rlsEnabled.get(key)!,
      fullIdentity: fullIdentity.get(key)!,
    };
  }

  /**
   * The columns `role` may select on the table (column privileges, as hosted's apply_rls
   * checks them); none means the subscriber gets nothing of the table, not even DELETEs.
   */
  async function selectableColumns(role: string, schema: string, table: string) {
    if (!API_ROLES.has(role)) return new Set<string>();
    const rows = await session.query<{ name: string }>(
      `select a.attname as name
       from pg_attribute a
       join pg_class c on c.oid = a.attrelid
       join pg_namespace n on n.oid = c.relnamespace
       where n.nspname = $2 and c.relname = $3 and a.attnum > 0 and not a.attisdropped
         and has_column_privilege($1::name, c.oid, a.attnum, 'SELECT')`,
      [role, schema, table],
    );
    return new Set(rows.rows.map((r) => r.name));
  }

  /** Whether `claims` may read the row with this primary key now (RLS and grants decide). */
  async function canSee(
    claims: Record<string, unknown> & { role: string },
    schema: string,
    table: string,
    primaryKey: string[],
    record: Record<string, unknown>,
  ): Promise<boolean> {
    if (claims.role === "service_role") return true;
    if (!API_ROLES.has(claims.role) || !primaryKey.length) return false;
    const q = (s: string) => `"${s.replaceAll('"', '""')}"`;
    const where = primaryKey.map((k, i) => `${q(k)}::text = $${i + 1}`).join(" and ");
    try {
      return await session.transaction(async (tx) => {
        await tx.query(
          `select set_config('role', $1, true), set_config('request.jwt.claims', $2, true),
                  set_config('request.jwt.claim.sub', $3, true), set_config('request.jwt.claim.role', $1, true)`,
          [claims.role, JSON.stringify(claims), typeof claims.sub === "string" ? claims.sub : ""],
        );
        const rows = await tx.query(
          `select 1 from ${q(schema)}.${q(table)} where ${where} limit 1`,
          primaryKey.map((k) => stringify(record[k])),
        );
        return rows.rows.length > 0;
      }, "realtime:rls");
    } catch {
      return false; // no privilege on the table: not visible
    }
  }

  async function deliver(changes: Change[]) {
    // Column privileges by role and table, for this batch.
    const selectable = new Map<string, Promise<Set<string>>>();
    const columnsFor = (role: string, schema: string, table: string) => {
      const key = `${role}\u0000${schema}\u0000${table}`;
      if (!selectable.has(key)) selectable.set(key, selectableColumns(role, schema, table));
      return selectable.get(key)!;
    };
    for (const change of changes) {
      let info: Awaited<ReturnType<typeof tableInfo>> | null = null;
      const subscribers: Array<{ client: Client; channel: Channel; ids: number[] }> = [];
      for (const client of clients) {
        for (const channel of client.channels.values()) {
          const candidates = channel.bindings.filter((b) => matchesTable(b, change));
          if (!candidates.length) continue;
          info ??= await tableInfo(change.schema, change.table);
          // The old record as hosted has it: the primary key only, unless the table has
          // REPLICA IDENTITY FULL and no RLS. Filters on a DELETE see only that record, so a
          // filter cannot probe columns of rows the subscriber may not read.
          const seen = visibleOld(change, info);
          const ids = candidates.filter((b) => matchesFilter(b, change, seen)).map((b) => b.id);
          if (ids.length) subscribers.push({ client, channel, ids });
        }
      }
      if (!subscribers.length || !info) continue;
      for (const { client, channel, ids } of subscribers) {
        const role = channel.claims.role;
        const allowed = role === "service_role"
          ? null
          : await columnsFor(role, change.schema, change.table);
        if (allowed && allowed.size === 0) continue; // no SELECT on the table: nothing at all
        let record = change.record ?? {};
        let oldRecord = visibleOld(change, info);
        if (
          change.type !== "DELETE" &&
          !(await canSee(channel.claims, change.schema, change.table, info.primaryKey, record))
        ) continue;
        if (change.type === "INSERT") oldRecord = {};
        if (change.type === "DELETE") record = {};
        if (allowed) {
          record = pick(record, [...allowed]);
          oldRecord = pick(oldRecord, [...allowed]);
        }
        send(client, {
          join_ref: channel.joinRef,
          ref: null,
          topic: channel.topic,
          event: "postgres_changes",
          payload: {
            ids,
            data: {
              schema: change.schema,
              table: change.table,
              commit_timestamp: change.committedAt,
              type: change.type,
              columns: info.columns,
              record,
              old_record: oldRecord,
              errors: null,
            },
          },
        });
      }
    }
  }

  function send(client: Client, message: Message) {
    if (client.socket.readyState !== WebSocket.OPEN) return;
    if (client.socket.bufferedAmount > MAX_BUFFERED_BYTES) {
      log({ level: "warn", msg: "realtime client too slow, disconnected" });
      client.socket.close(1008, "Too many unsent messages");
      return;
    }
    client.socket.send(encodeFrame(message, client.vsn));
  }

  function reply(client: Client, m: Message, status: "ok" | "error", response: unknown = {}) {
    send(client, {
      join_ref: m.join_ref,
      ref: m.ref,
      topic: m.topic,
      event: "phx_reply",
      payload: { status, response },
    });
  }

  async function verify(token: string | undefined | null) {
    if (!token) return null;
    const claims = await keys.verify(token);
    const role = typeof claims.role === "string" && claims.role ? claims.role : "anon";
    return { ...claims, role } as Record<string, unknown> & { role: string };
  }

  function closeChannel(client: Client, channel: Channel, reason?: string) {
    if (channel.expiryTimer !== undefined) clearTimeout(channel.expiryTimer);
    client.channels.delete(channel.topic);
    leavePresence(client, channel.topic);
    if (reason) {
      send(client, {
        join_ref: channel.joinRef,
        ref: null,
        topic: channel.topic,
        event: "system",
        payload: { status: "error", extension: "system", message: reason, channel: channel.topic },
      });
      send(client, {
        join_ref: channel.joinRef,
        ref: null,
        topic: channel.topic,
        event: "phx_close",
        payload: {},
      });
    }
  }

  function scheduleExpiry(client: Client, channel: Channel) {
    if (channel.expiryTimer !== undefined) clearTimeout(channel.expiryTimer);
    const exp = channel.claims.exp;
    if (typeof exp !== "number") return;
    const ms = exp * 1000 - Date.now();
    const fire = () => closeChannel(client, channel, "Token has expired 0 seconds ago");
    if (ms <= 0) return fire();
    channel.expiryTimer = setTimeout(fire, Math.min(ms, 2 ** 31 - 1));
  }

  async function join(client: Client, m: Message) {
    const payload = (m.payload ?? {}) as {
      config?: {
        broadcast?: { self?: boolean; ack?: boolean };
        presence?: { key?: string; enabled?: boolean };
        postgres_changes?: Array<
          { event?: string; schema?: string; table?: string; filter?: string }
        >;
        private?: boolean;
      };
      access_token?: string;
    };
    const config = payload.config ?? {};
    if (client.channels.size >= MAX_CHANNELS_PER_SOCKET && !client.channels.has(m.topic)) {
      return reply(client, m, "error", { reason: "Too many channels on this connection" });
    }
    if (config.private) {
      return reply(client, m, "error", {
        reason: "Private channels (Realtime Authorization) are not emulated by the local stack",
      });
    }
    let claims: Awaited<ReturnType<typeof verify>>;
    try {
      claims = payload.access_token ? await verify(payload.access_token) : client.apikeyClaims;
    } catch (error) {
      return reply(client, m, "error", {
        reason: `InvalidJWTToken: ${(error as Error).message}`,
      });
    }
    if (!claims) return reply(client, m, "error", { reason: "InvalidJWTToken: no token" });
    const bindings: Binding[] = [];
    for (const pc of config.postgres_changes ?? []) {
      const event = (pc.event ?? "*").toUpperCase();
      if (!["*", "INSERT", "UPDATE", "DELETE"].includes(event)) {
        return reply(client, m, "error", {
          reason: `Invalid postgres_changes event "${pc.event}"`,
        });
      }
      let filter: Binding["filter"];
      if (pc.filter) {
        const f = /^([^=]+)=(eq|neq|lt|lte|gt|gte|in)\.(.*)$/s.exec(pc.filter);
        if (!f) {
          return reply(client, m, "error", {
            reason: `Error parsing \`filter\` params: "${pc.filter}"`,
          });
        }
        filter = { column: f[1]!, op: f[2]!, value: f[3]! };
      }
      bindings.push({
        id: nextBindingId++,
        event: event as Binding["event"],
        schema: pc.schema ?? "public",
        ...(pc.table ? { table: pc.table } : {}),
        ...(filter ? { filter } : {}),
        raw: {
          event: pc.event ?? "*",
          schema: pc.schema ?? "public",
          ...(pc.table !== undefined ? { table: pc.table } : {}),
          ...(pc.filter !== undefined ? { filter: pc.filter } : {}),
        },
      });
    }
    const existing = client.channels.get(m.topic);
    if (existing) closeChannel(client, existing);
    const channel: Channel = {
      topic: m.topic,
      joinRef: m.join_ref ?? m.ref,
      claims,
      broadcastSelf: config.broadcast?.self === true,
      broadcastAck: config.broadcast?.ack === true,
      presenceKey: config.presence?.key || crypto.randomUUID(),
      bindings,
    };
    client.channels.set(m.topic, channel);
    scheduleExpiry(client, channel);
    reply(client, m, "ok", {
      postgres_changes: bindings.map((b) => ({ id: b.id, ...b.raw })),
    });
    if (bindings.length) {
      // New tables may have joined the publication since boot.
      await session.transaction(async (tx) => {
        const { attachTriggers } = await import("./capture.ts");
        await attachTriggers(tx);
      }, "realtime:capture").catch(() => {});
      send(client, {
        join_ref: channel.joinRef,
        ref: null,
        topic: m.topic,
        event: "system",
        payload: {
          message: "Subscribed to PostgreSQL",
          status: "ok",
          extension: "postgres_changes",
          channel: m.topic.replace(/^realtime:/, ""),
        },
      });
    }
    // The joiner gets the topic's presence state.
    send(client, {
      join_ref: channel.joinRef,
      ref: null,
      topic: m.topic,
      event: "presence_state",
      payload: presenceState(m.topic),
    });
  }

  function presenceState(topic: string) {
    const state: Record<string, { metas: unknown[] }> = {};
    for (const [key, entries] of presence.get(topic) ?? []) {
      state[key] = { metas: entries.map((e) => e.meta) };
    }
    return state;
  }

  function presenceDiff(
    topic: string,
    joins: Record<string, unknown>,
    leaves: Record<string, unknown>,
  ) {
    for (const client of clients) {
      const channel = client.channels.get(topic);
      if (!channel) continue;
      send(client, {
        join_ref: channel.joinRef,
        ref: null,
        topic,
        event: "presence_diff",
        payload: { joins, leaves },
      });
    }
  }

  function leavePresence(client: Client, topic: string) {
    const byKey = presence.get(topic);
    if (!byKey) return;
    const leaves: Record<string, { metas: unknown[] }> = {};
    for (const [key, entries] of byKey) {
      const gone = entries.filter((e) => e.client === client);
      if (!gone.length) continue;
      const kept = entries.filter((e) => e.client !== client);
      if (kept.length) byKey.set(key, kept);
      else byKey.delete(key);
      leaves[key] = { metas: gone.map((e) => e.meta) };
    }
    if (!byKey.size) presence.delete(topic);
    if (Object.keys(leaves).length) presenceDiff(topic, {}, leaves);
  }

  function broadcast(
    topic: string,
    event: string,
    payload: unknown,
    from?: { client: Client; self: boolean },
  ) {
    for (const client of clients) {
      const channel = client.channels.get(topic);
      if (!channel) continue;
      if (from && client === from.client && !from.self) continue;
      send(client, {
        join_ref: channel.joinRef,
        ref: null,
        topic,
        event: "broadcast",
        payload: { type: "broadcast", event, payload },
      });
    }
  }

  async function onMessage(client: Client, m: Message) {
    if (m.topic === "phoenix" && m.event === "heartbeat") return reply(client, m, "ok");
    switch (m.event) {
      case "phx_join":
        return await join(client, m);
      case "phx_leave": {
        const channel = client.channels.get(m.topic);
        if (channel) closeChannel(client, channel);
        reply(client, m, "ok");
        return send(client, {
          join_ref: m.join_ref,
          ref: m.ref,
          topic: m.topic,
          event: "phx_close",
          payload: {},
        });
      }
      case "access_token": {
        const channel = client.channels.get(m.topic);
        if (!channel) return;
        const token = (m.payload as { access_token?: string })?.access_token;
        try {
          const claims = await verify(token);
          if (claims) {
            channel.claims = claims;
            scheduleExpiry(client, channel);
          }
        } catch (error) {
          closeChannel(client, channel, `Invalid token: ${(error as Error).message}`);
        }
        return;
      }
      case "broadcast": {
        const channel = client.channels.get(m.topic);
        if (!channel) return reply(client, m, "error", { reason: "Not joined to this channel" });
        const p = (m.payload ?? {}) as { event?: string; payload?: unknown };
        broadcast(m.topic, String(p.event ?? ""), p.payload, {
          client,
          self: channel.broadcastSelf,
        });
        if (channel.broadcastAck || m.ref) reply(client, m, "ok");
        return;
      }
      case "presence": {
        const channel = client.channels.get(m.topic);
        if (!channel) return reply(client, m, "error", { reason: "Not joined to this channel" });
        const p = (m.payload ?? {}) as { event?: string; payload?: Record<string, unknown> };
        if (p.event === "track") {
          let byKey = presence.get(m.topic);
          if (!byKey) presence.set(m.topic, byKey = new Map());
          const previous = (byKey.get(channel.presenceKey) ?? []).filter((e) =>
            e.client === client
          );
          const others = (byKey.get(channel.presenceKey) ?? []).filter((e) => e.client !== client);
          const meta = { ...(p.payload ?? {}), phx_ref: crypto.randomUUID() };
          byKey.set(channel.presenceKey, [...others, { client, meta }]);
          presenceDiff(
            m.topic,
            { [channel.presenceKey]: { metas: [meta] } },
            previous.length
              ? { [channel.presenceKey]: { metas: previous.map((e) => e.meta) } }
              : {},
          );
        } else if (p.event === "untrack") {
          leavePresence(client, m.topic);
        }
        return reply(client, m, "ok");
      }
      default:
        return reply(client, m, "error", { reason: `Unknown event "${m.event}"` });
    }
  }

  async function upgrade(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const vsn = url.searchParams.get("vsn") === "1.0.0" ? "1.0.0" : "2.0.0";
    const apikey = url.searchParams.get("apikey") ?? request.headers.get("apikey");
    let apikeyClaims: Client["apikeyClaims"] = null;
    try {
      apikeyClaims = await verify(apikey);
    } catch {
      return Response.json({ message: "Invalid API key" }, { status: 401 });
    }
    if (!apikeyClaims) {
      return Response.json({ message: "No API key found in request" }, { status: 401 });
    }
    const { socket, response } = Deno.upgradeWebSocket(request);
    const client: Client = { socket, vsn, apikeyClaims, channels: new Map() };
    socket.binaryType = "arraybuffer";
    socket.onopen = () => clients.add(client);
    socket.onmessage = (event) => {
      const size = typeof event.data === "string"
        ? event.data.length
        : (event.data as ArrayBuffer).byteLength;
      if (size > MAX_FRAME_BYTES) {
        // Presence state and fan-out copies would hold it: refuse it, as hosted does.
        socket.close(1009, "Payload too large");
        return;
      }
      let message: Message | null;
      try {
        message = decodeFrame(event.data, vsn);
      } catch {
        message = null;
      }
      if (!message) return;
      onMessage(client, message).catch((error) =>
        log({ level: "error", msg: "realtime message failed", error: String(error) })
      );
    };
    const gone = () => {
      if (!clients.delete(client)) return;
      for (const channel of [...client.channels.values()]) closeChannel(client, channel);
    };
    socket.onclose = gone;
    socket.onerror = gone;
    return response;
  }

  async function restBroadcast(request: Request, path: string): Promise<Response> {
    const token = /^Bearer\s+(\S+)$/i.exec(request.headers.get("authorization") ?? "")?.[1] ??
      request.headers.get("apikey");
    try {
      if (!(await verify(token))) throw new Error("no token");
    } catch {
      return Response.json({ message: "Invalid JWT" }, { status: 401 });
    }
    let body: unknown;
    try {
      body = await request.json();
    } catch {
      return Response.json({ message: "Invalid JSON body" }, { status: 400 });
    }
    const single = /^\/api\/broadcast\/([^/]+)\/events\/([^/]+)$/.exec(path);
    if (single) {
      broadcast(`realtime:${decodeURIComponent(single[1]!)}`, decodeURIComponent(single[2]!), body);
      return new Response(null, { status: 202 });
    }
    const messages = (body as { messages?: unknown })?.messages;
    if (!Array.isArray(messages) || messages.length > 100) {
      return Response.json({ message: "Expected { messages: [...] } (at most 100)" }, {
        status: 400,
      });
    }
    for (const msg of messages as Array<{ topic?: unknown; event?: unknown; payload?: unknown }>) {
      if (typeof msg?.topic !== "string" || typeof msg.event !== "string") {
        return Response.json({ message: "Each message needs a topic and an event" }, {
          status: 400,
        });
      }
    }
    for (const msg of messages as Array<{ topic: string; event: string; payload?: unknown }>) {
      broadcast(`realtime:${msg.topic}`, msg.event, msg.payload ?? {});
    }
    return new Response(null, { status: 202 });
  }

  return {
    async fetch(request) {
      const path = new URL(request.url).pathname.replace(/^\/realtime\/v1/, "");
      if (path === "/websocket" || path === "/websocket/") {
        if (request.headers.get("upgrade")?.toLowerCase() !== "websocket") {
          return Response.json({ message: "Expected a WebSocket upgrade" }, { status: 426 });
        }
        return await upgrade(request);
      }
      if (request.method === "POST" && path.startsWith("/api/broadcast")) {
        return await restBroadcast(request, path);
      }
      return Response.json({ message: "Not found" }, { status: 404 });
    },
    async stop() {
      stopped = true;
      for (const client of clients) {
        try {
          client.socket.close(1001, "Server stopping");
        } catch { /* already closed */ }
      }
      clients.clear();
      await unlisten().catch(() => {});
      await draining;
    },
  };
}

const API_ROLES = new Set(["anon", "authenticated", "service_role"]);

/** The old record a subscriber may get: the primary key only unless REPLICA IDENTITY FULL without RLS. */
function visibleOld(
  change: Change,
  info: { primaryKey: string[]; rls: boolean; fullIdentity: boolean },
): Record<string, unknown> {
  const old = change.oldRecord ?? {};
  return info.fullIdentity && !info.rls ? old : pick(old, info.primaryKey);
}

function matchesTable(b: Binding, change: Change): boolean {
  if (b.event !== "*" && b.event !== change.type) return false;
  if (b.schema !== "*" && b.schema !== change.schema) return false;
  if (b.table && b.table !== "*" && b.table !== change.table) return false;
  return true;
}

function matchesFilter(b: Binding, change: Change, visibleOldRecord: Record<string, unknown>) {
  if (!b.filter) return true;
  const row = change.type === "DELETE" ? visibleOldRecord : change.record;
  if (!row || !(b.filter.column in row)) return false;
  const actual = row[b.filter.column];
  const value = b.filter.value;
  const cmp = (x: unknown, y: string) => {
    const a = stringify(x);
    const na = Number(a);
    const nb = Number(y);
    if (a !== "" && y !== "" && !Number.isNaN(na) && !Number.isNaN(nb)) return na - nb;
    return a < y ? -1 : a > y ? 1 : 0;
  };
  switch (b.filter.op) {
    case "eq":
      return stringify(actual) === value;
    case "neq":
      return stringify(actual) !== value;
    case "lt":
      return cmp(actual, value) < 0;
    case "lte":
      return cmp(actual, value) <= 0;
    case "gt":
      return cmp(actual, value) > 0;
    case "gte":
      return cmp(actual, value) >= 0;
    case "in": {
      const list = value.replace(/^\(|\)$/g, "").split(",").map((s) =>
        s.trim().replace(/^"|"$/g, "")
      );
      return list.includes(stringify(actual));
    }
  }
  return false;
}

function stringify(value: unknown): string {
  if (value === null || value === undefined) return "";
  return typeof value === "object" ? JSON.stringify(value) : String(value);
}

function pick(record: Record<string, unknown>, keys: string[]): Record<string, unknown> {
  return Object.fromEntries(keys.filter((k) => k in record).map((k) => [k, record[k]]));
}
