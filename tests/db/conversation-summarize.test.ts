/**
 * conversation-summarize's work against the real schema (migrations and seed on PGlite, through
 * the in-process driver the local stack hands to functions): one summarizer at a time while the
 * provider runs, a failed provider call gives the lease back, the size bound, the threshold, and a
 * conversation that is gone. The provider is the local one, wrapped so a test can hold a call
 * open or make it fail; the database is real.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createLocalProvider } from "../../supabase/functions/_shared/ai/local.ts";
import type { AiProvider, SummarizeInput } from "../../supabase/functions/_shared/ai/types.ts";
import { loadConfig } from "../../supabase/functions/_shared/config.ts";
import { createDb } from "../../supabase/functions/_shared/db/mod.ts";
import { createSessionDriver } from "../../supabase/functions/_shared/db/session.ts";
import type { Deps } from "../../supabase/functions/_shared/deps.ts";
import { AppError } from "../../supabase/functions/_shared/errors.ts";
import { createLogger } from "../../supabase/functions/_shared/logger.ts";
import { countTokens } from "../../supabase/functions/_shared/text/tokens.ts";
import {
  summarizeConversation,
  SUMMARY_MAX_TOKENS,
} from "../../supabase/functions/conversation-summarize/summarize.ts";
import { openDatabase } from "../../local/postgres/database.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const ALICE = "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa";
const ACME_SUPPORT = "20000000-0000-4000-8000-000000000001";

/** The local provider; `hold` makes the next summarize wait until released, `fail` throw. */
function controllableProvider() {
  const local = createLocalProvider();
  const control = {
    calls: 0,
    hold: null as null | { entered: () => void; release: Promise<void> },
    fail: null as AppError | null,
    replaceText: null as string | null,
  };
  const provider: AiProvider = {
    ...local,
    embed: (texts, options) => local.embed(texts, options),
    chat: (messages, options) => local.chat(messages, options),
    chatStream: (messages, options) => local.chatStream(messages, options),
    async summarize(input: SummarizeInput) {
      control.calls++;
      const hold = control.hold;
      control.hold = null;
      if (hold) {
        hold.entered();
        await hold.release;
      }
      if (control.fail) throw control.fail;
      const result = await local.summarize(input);
      return control.replaceText ? { ...result, text: control.replaceText } : result;
    },
  };
  return { provider, control };
}

Deno.test({
  name: "conversation-summarize on the real schema",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const { session } = await openDatabase({
      migrationsDir: join(ROOT, "supabase/migrations"),
      seedPaths: [join(ROOT, "supabase/seed.sql")],
    });
    const { provider, control } = controllableProvider();
    const deps: Deps = {
      config: loadConfig({
        SUPABASE_URL: "http://127.0.0.1:1",
        SUPABASE_ANON_KEY: "anon",
        SUPABASE_SERVICE_ROLE_KEY: "service",
      }),
      db: createDb(createSessionDriver(session)),
      verifyJwt: () => Promise.reject(new Error("not used")),
      logger: createLogger({}, { level: "error" }),
      ai: provider,
      now: () => new Date(),
    };
    const query = async <T>(sql: string, params: unknown[] = []) =>
      (await session.query<T>(sql, params)).rows;

    async function conversationWith(contents: string[]): Promise<string> {
      const [row] = await query<{ id: string }>(
        `insert into public.conversations (user_id, agent_id) values ($1, $2) returning id`,
        [ALICE, ACME_SUPPORT],
      );
      for (const content of contents) {
        await query(
          `insert into public.messages (conversation_id, role, content) values ($1, 'user', $2)`,
          [row!.id, content],
        );
      }
      return row!.id;
    }
    const stateOf = async (id: string) =>
      (await query<{ summary: string | null; summarized_until: number }>(
        `select summary, summarized_until from public.conversations where id = $1`,
        [id],
      ))[0];

    try {
      await t.step(
        "a second summarizer backs off while the first one's provider call runs",
        async () => {
          const id = await conversationWith([
            "The lighthouse lamp flickers every night.",
            "The lighthouse keeper replaced the lamp bulb.",
            "Storms damaged the lighthouse windows.",
          ]);
          let entered!: () => void;
          const inside = new Promise<void>((resolve) => (entered = resolve));
          let release!: () => void;
          control.hold = { entered, release: new Promise<void>((resolve) => (release = resolve)) };

          const first = summarizeConversation(id, deps, { force: true });
          await inside;
          const second = await summarizeConversation(id, deps, { force: true });
          assert.deepEqual(second, { status: "busy" });
          // Messages keep arriving while the summary is being made: no lock is held.
          await query(
            `insert into public.messages (conversation_id, role, content) values ($1, 'user', 'One more')`,
            [id],
          );
          release();
          const done = await first;
          assert.equal(done.status, "summarized");
          if (done.status !== "summarized") return;
          assert.equal(done.summarized_until, 3, "covers what existed when it started");
          assert.equal(done.covered_message_count, 3);
          assert.match(done.summary!, /lighthouse/i);
          assert.equal(done.model, "local-summary-v1");

          const again = await summarizeConversation(id, deps, { force: true });
          assert.equal(again.status, "summarized");
          assert.equal((await stateOf(id))!.summarized_until, 4);
        },
      );

      await t.step("a failed provider call gives the lease back and stores nothing", async () => {
        const id = await conversationWith(["Quarterly budget review on Monday."]);
        control.fail = new AppError("upstream_error", "Provider said no");
        await assert.rejects(summarizeConversation(id, deps, { force: true }), /Provider said no/);
        control.fail = null;
        assert.deepEqual(await stateOf(id), { summary: null, summarized_until: 0 });
        const retried = await summarizeConversation(id, deps, { force: true });
        assert.equal(retried.status, "summarized", "not busy: the lease was released");
      });

      await t.step(
        "a summary is kept within its size bound whatever the provider returns",
        async () => {
          const id = await conversationWith(["Tell me everything about tides."]);
          control.replaceText = "tides and moons ".repeat(2_000);
          const result = await summarizeConversation(id, deps, { force: true });
          control.replaceText = null;
          assert.equal(result.status, "summarized");
          const stored = (await stateOf(id))!.summary!;
          assert.ok(countTokens(stored) <= SUMMARY_MAX_TOKENS);
          assert.ok(stored.startsWith("tides and moons"));
        },
      );

      await t.step("without force, nothing happens below the agent's threshold", async () => {
        const id = await conversationWith(["Just one message."]);
        const calls = control.calls;
        const result = await summarizeConversation(id, deps, { force: false });
        assert.equal(result.status, "current");
        assert.equal(control.calls, calls, "no provider call");
        assert.deepEqual(await stateOf(id), { summary: null, summarized_until: 0 });
      });

      await t.step("a conversation that is gone is reported as gone", async () => {
        const id = await conversationWith(["Soon deleted."]);
        await query(`delete from public.conversations where id = $1`, [id]);
        assert.deepEqual(await summarizeConversation(id, deps, { force: true }), {
          status: "gone",
        });
      });
    } finally {
      await session.close();
    }
  },
});
