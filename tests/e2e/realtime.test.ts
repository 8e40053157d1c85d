/**
 * Realtime (`/realtime/v1`) as supabase-js uses it against the local stack: postgres_changes
 * authorised by RLS per subscriber, filters, broadcast (self, ack, REST), presence, and a token
 * that expires closing its channel.
 */
import assert from "node:assert/strict";
import { createClient, type RealtimeChannel, type SupabaseClient } from "@supabase/supabase-js";
import { SignJWT } from "jose";
import { type Stack, startStack } from "../../local/stack.ts";
import { createAgentClient } from "../../shared/mod.ts";
import { eventually } from "./support.ts";

const PASSWORD = "password123";

async function signIn(stack: Stack, email: string) {
  const supabase = createClient(stack.apiUrl, stack.anonKey, {
    auth: { persistSession: false, autoRefreshToken: false },
  });
  const { data, error } = await supabase.auth.signInWithPassword({ email, password: PASSWORD });
  assert.equal(error, null, `sign in ${email}`);
  await supabase.realtime.setAuth(data.session!.access_token);
  return { supabase, id: data.user!.id };
}

function subscribed(channel: RealtimeChannel): Promise<void> {
  return new Promise((resolve, reject) => {
    channel.subscribe((status, error) => {
      if (status === "SUBSCRIBED") resolve();
      else if (status === "CHANNEL_ERROR" || status === "TIMED_OUT") {
        reject(error ?? new Error(status));
      }
    });
  });
}

/** `channel` listening for the messages inserted into one conversation, their content into `got`. */
function messagesOf(channel: RealtimeChannel, conversationId: string, got: string[]) {
  return channel.on(
    "postgres_changes",
    {
      event: "INSERT",
      schema: "public",
      table: "messages",
      filter: `conversation_id=eq.${conversationId}`,
    },
    (p) => got.push((p.new as { content: string }).content),
  );
}

const settle = () => new Promise((r) => setTimeout(r, 500));

Deno.test("Realtime: postgres_changes by RLS, broadcast, presence, token expiry", async (t) => {
  const stack = await startStack({
    apiPort: 0,
    dbPort: null,
    dataDir: null,
    functionLogLevel: "error",
  });
  const clients: SupabaseClient[] = [];
  try {
    const alice = await signIn(stack, "alice@acme.test");
    const carol = await signIn(stack, "carol@globex.test");
    clients.push(alice.supabase, carol.supabase);
    const { rows: [agent] } = await stack.session.query<{ id: string }>(
      "select a.id from public.agents a join public.organizations o on o.id = a.organization_id " +
        "where o.slug = 'acme' limit 1",
    );
    assert.ok(agent);
    /** A new conversation of alice's with that agent. */
    const aliceConversation = async () =>
      (await stack.session.query<{ id: string }>(
        "insert into public.conversations (user_id, agent_id, organization_id) " +
          "select $2, a.id, a.organization_id from public.agents a where a.id = $1 returning id",
        [agent.id, alice.id],
      )).rows[0]!;

    await t.step(
      "a user sees their execution go from pending to completed; others see nothing",
      async () => {
        const mine: Array<{ eventType: string; status: unknown }> = [];
        const theirs: unknown[] = [];
        const a = alice.supabase.channel("executions-alice").on(
          "postgres_changes",
          {
            event: "*",
            schema: "public",
            table: "agent_executions",
            filter: `user_id=eq.${alice.id}`,
          },
          (p) =>
            mine.push({ eventType: p.eventType, status: (p.new as { status?: unknown }).status }),
        );
        const c = carol.supabase.channel("executions-carol").on(
          "postgres_changes",
          { event: "*", schema: "public", table: "agent_executions" },
          (p) => theirs.push(p),
        );
        await Promise.all([subscribed(a), subscribed(c)]);
        const { rows: [execution] } = await stack.session.query<{ id: string }>(
          "insert into public.agent_executions (agent_id, user_id, input) values ($1, $2, '{}') returning id",
          [agent!.id, alice.id],
        );
        await stack.session.query(
          "update public.agent_executions set status = 'running' where id = $1",
          [execution!.id],
        );
        await stack.session.query(
          "update public.agent_executions set status = 'completed' where id = $1",
          [execution!.id],
        );
        await eventually("three changes", () => (mine.length >= 3 ? true : undefined));
        assert.deepEqual(mine, [
          { eventType: "INSERT", status: "pending" },
          { eventType: "UPDATE", status: "running" },
          { eventType: "UPDATE", status: "completed" },
        ]);
        await settle();
        assert.deepEqual(theirs, [], "carol (another organization) receives none of alice's rows");
      },
    );

    await t.step("message inserts reach the conversation's owner only", async () => {
      const conversation = await aliceConversation();
      const got: string[] = [];
      const carolGot: string[] = [];
      const a = messagesOf(alice.supabase.channel("messages-alice"), conversation.id, got);
      const c = carol.supabase.channel("messages-carol").on(
        "postgres_changes",
        { event: "INSERT", schema: "public", table: "messages" },
        (p) => carolGot.push((p.new as { content: string }).content),
      );
      await Promise.all([subscribed(a), subscribed(c)]);
      await stack.session.query(
        "insert into public.messages (conversation_id, user_id, role, content, token_estimate) " +
          "values ($1, $2, 'user', 'hello realtime', 3)",
        [conversation.id, alice.id],
      );
      await eventually("the message", () => (got.length ? true : undefined));
      assert.deepEqual(got, ["hello realtime"]);
      await settle();
      assert.deepEqual(carolGot, []);
    });

    await t.step("an async execute-agent run is seen going from pending to completed", async () => {
      const agents = createAgentClient(alice.supabase);
      const statuses: string[] = [];
      const carolSaw: unknown[] = [];
      const mine = alice.supabase.channel("async-run").on(
        "postgres_changes",
        {
          event: "*",
          schema: "public",
          table: "agent_executions",
          filter: `user_id=eq.${alice.id}`,
        },
        (p) => statuses.push((p.new as { status: string }).status),
      );
      const theirs = carol.supabase.channel("async-run-carol").on(
        "postgres_changes",
        { event: "*", schema: "public", table: "agent_executions" },
        (p) => carolSaw.push(p),
      );
      await Promise.all([subscribed(mine), subscribed(theirs)]);
      const accepted = await agents.startAgent({ agent_id: agent!.id, input: "What is covered?" });
      assert.equal(accepted.status, "pending");
      // pg_cron's dispatcher posts the queued run to execute-agent/jobs through pg_net.
      await eventually(
        "completed",
        () => (statuses.includes("completed") ? true : undefined),
        30_000,
      );
      assert.equal(statuses[0], "pending");
      assert.ok(statuses.indexOf("running") < statuses.indexOf("completed"));
      await settle();
      assert.deepEqual(carolSaw, []);
    });

    await t.step("messages stored by message-preprocess reach the subscriber", async () => {
      const conversation = await aliceConversation();
      const got: string[] = [];
      const channel = messagesOf(alice.supabase.channel("preprocessed"), conversation.id, got);
      await subscribed(channel);
      await createAgentClient(alice.supabase).preprocessMessages({
        conversation_id: conversation.id,
        content: "Reach me at alice@example.com",
      });
      await eventually("the stored message", () => (got.length ? true : undefined));
      assert.deepEqual(got, ["Reach me at [EMAIL]"]);
    });

    await t.step("broadcast between two clients, with self and ack, and over REST", async () => {
      const received: unknown[] = [];
      const selfReceived: unknown[] = [];
      const one = alice.supabase.channel("room-1", {
        config: { broadcast: { self: true, ack: true } },
      })
        .on("broadcast", { event: "cursor" }, (p) => selfReceived.push(p.payload));
      const two = carol.supabase.channel("room-1").on(
        "broadcast",
        { event: "cursor" },
        (p) => received.push(p.payload),
      );
      await Promise.all([subscribed(one), subscribed(two)]);
      const status = await one.send({ type: "broadcast", event: "cursor", payload: { x: 1 } });
      assert.equal(status, "ok");
      await eventually("the broadcast", () => (received.length ? true : undefined));
      assert.deepEqual(received, [{ x: 1 }]);
      await eventually("the echo to self", () => (selfReceived.length ? true : undefined));
      const rest = await fetch(`${stack.apiUrl}/realtime/v1/api/broadcast`, {
        method: "POST",
        headers: {
          apikey: stack.serviceRoleKey,
          authorization: `Bearer ${stack.serviceRoleKey}`,
          "content-type": "application/json",
        },
        body: JSON.stringify({
          messages: [{ topic: "room-1", event: "cursor", payload: { x: 2 } }],
        }),
      });
      assert.equal(rest.status, 202);
      await eventually("the REST broadcast", () => (received.length >= 2 ? true : undefined));
      assert.deepEqual(received[1], { x: 2 });
    });

    await t.step("presence: track, sync and leave between two clients", async () => {
      const one = alice.supabase.channel("lobby", { config: { presence: { key: "alice" } } });
      const two = carol.supabase.channel("lobby", { config: { presence: { key: "carol" } } });
      let leftKey: string | undefined;
      one.on("presence", { event: "sync" }, () => {});
      one.on("presence", { event: "leave" }, ({ key }) => (leftKey = key));
      two.on("presence", { event: "sync" }, () => {});
      await Promise.all([subscribed(one), subscribed(two)]);
      await one.track({ status: "online" });
      await two.track({ status: "away" });
      const state = await eventually("both present", () => {
        const s = one.presenceState();
        return Object.keys(s).length === 2 ? s : undefined;
      });
      assert.deepEqual(Object.keys(state).sort(), ["alice", "carol"]);
      assert.equal((state.carol![0] as { status?: string }).status, "away");
      await two.untrack();
      await eventually("carol left", () => leftKey);
      assert.equal(leftKey, "carol");
    });

    await t.step(
      "changes respect grants: no SELECT, nothing (not even DELETEs); column grants strip columns",
      async () => {
        await stack.session.exec(`
          create table public.rt_private (id int primary key, owner text, secret text);
          grant select (id, owner) on public.rt_private to authenticated;
          alter publication supabase_realtime add table public.rt_private;
        `);
        const anon = createClient(stack.apiUrl, stack.anonKey, {
          auth: { persistSession: false, autoRefreshToken: false },
        });
        clients.push(anon);
        const seen: Array<{ eventType: string; new: unknown; old: unknown }> = [];
        const anonSeen: unknown[] = [];
        const a = alice.supabase.channel("private-alice").on(
          "postgres_changes",
          { event: "*", schema: "public", table: "rt_private" },
          (p) => seen.push({ eventType: p.eventType, new: p.new, old: p.old }),
        );
        const n = anon.channel("private-anon")
          .on(
            "postgres_changes",
            { event: "*", schema: "public", table: "rt_private" },
            (p) => anonSeen.push(p),
          )
          .on(
            "postgres_changes",
            { event: "DELETE", schema: "public", table: "rt_private", filter: "owner=eq.ann" },
            (p) => anonSeen.push(p),
          );
        await Promise.all([subscribed(a), subscribed(n)]);
        // One at a time: visibility is read back by primary key when the change is delivered
        // (as hosted's apply_rls does), so a row already deleted would not be seen inserted.
        const writes = [
          "insert into public.rt_private values (1, 'ann', 'hunter2')",
          "update public.rt_private set secret = 'hunter3' where id = 1",
          "delete from public.rt_private where id = 1",
        ];
        for (const [i, sql] of writes.entries()) {
          await stack.session.exec(sql);
          await eventually(`event ${i + 1}`, () => (seen.length === i + 1 ? true : undefined));
        }
        assert.deepEqual(seen, [
          { eventType: "INSERT", new: { id: 1, owner: "ann" }, old: {} },
          { eventType: "UPDATE", new: { id: 1, owner: "ann" }, old: { id: 1 } },
          { eventType: "DELETE", new: {}, old: { id: 1 } },
        ]);
        await settle();
        assert.deepEqual(anonSeen, [], "anon, without SELECT, receives nothing");
      },
    );

    await t.step("a frame larger than the payload limit closes its socket", async () => {
      const url = `${
        stack.apiUrl.replace(/^http/, "ws")
      }/realtime/v1/websocket?apikey=${stack.anonKey}&vsn=1.0.0`;
      const socket = new WebSocket(url);
      await new Promise((resolve, reject) => {
        socket.onopen = resolve;
        socket.onerror = reject;
      });
      const closed = new Promise<number>((resolve) => (socket.onclose = (e) => resolve(e.code)));
      socket.send(JSON.stringify({
        topic: "realtime:big",
        event: "broadcast",
        payload: { event: "x", payload: "x".repeat(4 * 1024 * 1024) },
        ref: "1",
      }));
      assert.equal(await closed, 1009);
    });

    await t.step("a token that expires closes its channel", async () => {
      const token = await new SignJWT({
        role: "authenticated",
        sub: alice.id,
        aud: "authenticated",
      })
        .setProtectedHeader({ alg: "HS256", typ: "JWT" })
        .setIssuedAt()
        .setExpirationTime(Math.floor(Date.now() / 1000) + 2)
        .sign(new TextEncoder().encode(stack.jwtSecret));
      const client = createClient(stack.apiUrl, stack.anonKey, {
        auth: { persistSession: false, autoRefreshToken: false },
      });
      await client.realtime.setAuth(token);
      clients.push(client);
      const statuses: string[] = [];
      const channel = client.channel("short-lived");
      await new Promise<void>((resolve, reject) => {
        channel.subscribe((status, error) => {
          statuses.push(status);
          if (status === "SUBSCRIBED") resolve();
          if (status === "CHANNEL_ERROR" && !statuses.includes("SUBSCRIBED")) reject(error);
        });
      });
      await eventually(
        "the channel to close",
        () => (statuses.includes("CLOSED") || statuses.includes("CHANNEL_ERROR")
          ? true
          : undefined),
        8_000,
      );
    });

    await t.step("an invalid token is refused at join; vsn 1.0.0 frames are objects", async () => {
      const ws = new WebSocket(
        `${
          stack.apiUrl.replace("http", "ws")
        }/realtime/v1/websocket?apikey=${stack.anonKey}&vsn=1.0.0`,
      );
      const frames: Array<Record<string, unknown>> = [];
      ws.onmessage = (e) => frames.push(JSON.parse(String(e.data)));
      await new Promise((resolve) => (ws.onopen = resolve));
      ws.send(JSON.stringify({ topic: "phoenix", event: "heartbeat", payload: {}, ref: "1" }));
      ws.send(JSON.stringify({
        topic: "realtime:x",
        event: "phx_join",
        payload: { config: {}, access_token: "not-a-jwt" },
        ref: "2",
        join_ref: "2",
      }));
      await eventually("two replies", () => (frames.length >= 2 ? true : undefined));
      const closed = new Promise((resolve) => (ws.onclose = resolve));
      ws.close();
      await closed;
      assert.deepEqual(frames[0], {
        join_ref: null,
        ref: "1",
        topic: "phoenix",
        event: "phx_reply",
        payload: { status: "ok", response: {} },
      });
      const join = frames[1]!.payload as { status: string; response: { reason: string } };
      assert.equal(join.status, "error");
      assert.match(join.response.reason, /^InvalidJWTToken/);
      const noKey = await fetch(`${stack.apiUrl}/realtime/v1/websocket`, {
        headers: { upgrade: "websocket" },
      });
      assert.equal(noKey.status, 401);
      await noKey.body?.cancel();
    });
  } finally {
    for (const client of clients) await client.removeAllChannels();
    await stack.stop();
  }
});
