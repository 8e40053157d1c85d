/**
 * The Data API (`/rest/v1`) as supabase-js uses it, against the local stack with the product's
 * schema and seed: a matrix of postgrest-js calls with the responses PostgREST documents (rows,
 * embeds, counts, Content-Range, single/maybeSingle, writes under RLS, RPC, and its error codes).
 */
import assert from "node:assert/strict";
import { createClient, type SupabaseClient } from "@supabase/supabase-js";
import { type Stack, startStack } from "../../local/stack.ts";

const PASSWORD = "password123";

async function signIn(stack: Stack, email: string): Promise<SupabaseClient> {
  const supabase = createClient(stack.apiUrl, stack.anonKey, {
    auth: { persistSession: false, autoRefreshToken: false },
  });
  const { error } = await supabase.auth.signInWithPassword({ email, password: PASSWORD });
  assert.equal(error, null, `sign in ${email}`);
  return supabase;
}

Deno.test("Data API: postgrest-js calls get PostgREST's answers", async (t) => {
  const stack = await startStack({
    apiPort: 0,
    dbPort: null,
    dataDir: null,
    workers: false,
    functionLogLevel: "error",
  });
  try {
    const alice = await signIn(stack, "alice@acme.test");
    const bob = await signIn(stack, "bob@acme.test");
    const carol = await signIn(stack, "carol@globex.test");
    const anon = createClient(stack.apiUrl, stack.anonKey, { auth: { persistSession: false } });
    const service = createClient(stack.apiUrl, stack.serviceRoleKey, {
      auth: { persistSession: false },
    });
    const { data: acme } = await alice.from("organizations").select("id").eq("slug", "acme")
      .single();
    assert.ok(acme, "alice sees Acme");

    await t.step("select lists a member's agents, and only their organizations'", async () => {
      const a = await alice.from("agents").select("id, name, organization_id").order("name");
      assert.equal(a.error, null);
      assert.ok(a.data!.length >= 2);
      assert.ok(a.data!.every((r) => r.organization_id === acme!.id || r.organization_id));
      const c = await carol.from("agents").select("id, organization_id");
      assert.equal(c.error, null);
      const aliceIds = new Set(
        a.data!.filter((r) => r.organization_id === acme!.id).map((r) => r.id),
      );
      assert.ok(c.data!.every((r) => !aliceIds.has(r.id)), "carol sees no Acme agent");
    });

    await t.step("anon sees nothing (no grants): 401 with 42501", async () => {
      const { data, error, status } = await anon.from("agents").select("*");
      assert.equal(data, null);
      assert.equal(status, 401);
      assert.equal(error?.code, "42501");
    });

    await t.step("embedding many-to-one and one-to-many, aliases, !inner", async () => {
      const { data, error } = await alice.from("agents")
        .select("id, name, org:organizations(name, slug)")
        .eq("organization_id", acme!.id);
      assert.equal(error, null);
      assert.ok(data!.length >= 2);
      for (const row of data!) {
        assert.deepEqual(row.org, { name: "Acme", slug: "acme" });
      }
      const docs = await alice.from("documents")
        .select("title, document_sections(ordinal, heading)")
        .eq("organization_id", acme!.id)
        .order("ordinal", { referencedTable: "document_sections", ascending: false });
      assert.equal(docs.error, null);
      const withSections = docs.data!.find((d) => d.document_sections.length > 1);
      assert.ok(withSections, "a document with several sections");
      const ordinals = withSections.document_sections.map((s: { ordinal: number }) => s.ordinal);
      assert.deepEqual(ordinals, [...ordinals].sort((x, y) => y - x));

      const inner = await alice.from("documents")
        .select("title, document_sections!inner(heading)")
        .ilike("document_sections.content", "%warranty%");
      assert.equal(inner.error, null);
      assert.ok(inner.data!.length >= 1);
      assert.ok(inner.data!.every((d) => d.document_sections.length >= 1));
      assert.ok(inner.data!.some((d) => /warranty/i.test(d.title)));
    });

    await t.step("order, range and count=exact with Content-Range", async () => {
      const all = await alice.from("document_sections").select("id", { count: "exact" });
      assert.equal(all.error, null);
      const total = all.count!;
      assert.ok(total >= 3);
      const page = await alice.from("document_sections")
        .select("id, ordinal", { count: "exact" })
        .order("ordinal", { ascending: true, nullsFirst: false })
        .order("id")
        .range(1, 2);
      assert.equal(page.error, null);
      assert.equal(page.count, total);
      assert.equal(page.data!.length, 2);
      assert.equal(page.status, 206);
      const head = await alice.from("document_sections").select("*", {
        count: "exact",
        head: true,
      });
      assert.equal(head.count, total);
      assert.equal(head.data, null);
    });

    await t.step("filters: in, is, or, not, ilike, cs, fts, JSON paths", async () => {
      const { data: agents } = await alice.from("agents").select("id, name");
      const ids = agents!.map((a) => a.id);
      const byIn = await alice.from("agents").select("id").in("id", ids.slice(0, 1));
      assert.deepEqual(byIn.data!.map((r) => r.id), ids.slice(0, 1));
      const or = await alice.from("agents").select("id")
        .or(`id.eq.${ids[0]},name.eq.definitely-not-a-name`);
      assert.deepEqual(or.data!.map((r) => r.id), [ids[0]]);
      const not = await alice.from("agents").select("id").not("id", "eq", ids[0]);
      assert.equal(not.data!.length, ids.length - 1);
      const isNull = await alice.from("documents").select("id").is("file_path", null);
      assert.equal(isNull.error, null);
      const fts = await alice.from("document_sections").select("heading, content")
        .textSearch("fts", "warranty", { type: "websearch", config: "english" });
      assert.equal(fts.error, null);
      assert.ok(fts.data!.length >= 1);
      const cs = await alice.from("documents").select("id, tags").contains("tags", []);
      assert.equal(cs.error, null);
      const json = await alice.from("agents").select("id, settings:metadata->>missing");
      assert.equal(json.error, null, JSON.stringify(json.error));
    });

    await t.step("single and maybeSingle", async () => {
      const many = await alice.from("agents").select("id").single();
      assert.equal(many.status, 406);
      assert.equal(many.error?.code, "PGRST116");
      const none = await alice.from("agents").select("id").eq("name", "nope").maybeSingle();
      assert.equal(none.error, null);
      assert.equal(none.data, null);
      const tooMany = await alice.from("agents").select("id").maybeSingle();
      assert.equal(tooMany.error?.code, "PGRST116");
    });

    await t.step("insert, upsert, update and delete own rows; RLS refuses others'", async () => {
      const { data: agent } = await alice.from("agents").select("id").eq(
        "organization_id",
        acme!.id,
      )
        .limit(1).single();
      const created = await alice.from("conversations")
        .insert({ agent_id: agent!.id, title: "Through the Data API" })
        .select("id, title, user_id")
        .single();
      assert.equal(created.error, null, JSON.stringify(created.error));
      assert.equal(created.status, 201);
      assert.equal(created.data!.title, "Through the Data API");
      const id = created.data!.id;

      const minimal = await alice.from("conversations").insert({ agent_id: agent!.id });
      assert.equal(minimal.error, null);
      assert.equal(minimal.status, 201);
      assert.equal(minimal.data, null);

      // Column grants keep id and agent_id out of users' updates, so (as on hosted PostgREST)
      // a merge upsert is refused and ignore-duplicates leaves the row as it was.
      const merge = await alice.from("conversations")
        .upsert({ id, agent_id: agent!.id, title: "Renamed by upsert" });
      assert.equal(merge.error?.code, "42501");
      const ignore = await alice.from("conversations")
        .upsert({ id, agent_id: agent!.id, title: "Ignored" }, { ignoreDuplicates: true })
        .select("title");
      assert.equal(ignore.error, null, JSON.stringify(ignore.error));
      assert.deepEqual(ignore.data, []);

      const updated = await alice.from("conversations").update({ title: "Updated" }).eq("id", id)
        .select("title");
      assert.equal(updated.error, null, JSON.stringify(updated.error));
      assert.deepEqual(updated.data, [{ title: "Updated" }]);

      // Carol cannot see, update or delete Alice's conversation: zero rows, no error.
      const carolUpdate = await carol.from("conversations").update({ title: "Hijacked" }).eq(
        "id",
        id,
      )
        .select();
      assert.deepEqual(carolUpdate.data, []);
      const carolDelete = await carol.from("conversations").delete().eq("id", id).select();
      assert.deepEqual(carolDelete.data, []);
      // Carol cannot start a conversation with Acme's agent: RLS refuses the insert.
      const carolInsert = await carol.from("conversations").insert({ agent_id: agent!.id });
      assert.equal(carolInsert.status, 403);
      assert.equal(carolInsert.error?.code, "42501");

      const still = await alice.from("conversations").select("title").eq("id", id).single();
      assert.equal(still.data!.title, "Updated");
      const deleted = await alice.from("conversations").delete().eq("id", id).select("id");
      assert.deepEqual(deleted.data, [{ id }]);
      const gone = await alice.from("conversations").select("id").eq("id", id);
      assert.deepEqual(gone.data, []);
    });

    await t.step("rpc: hybrid_search as the user, scoped by RLS", async () => {
      const a = await alice.rpc("hybrid_search", { query_text: "warranty", match_count: 5 });
      assert.equal(a.error, null, JSON.stringify(a.error));
      assert.ok((a.data as unknown[]).length >= 1, "alice finds the warranty policy");
      const b = await bob.rpc("hybrid_search", { query_text: "warranty", match_count: 5 });
      assert.ok((b.data as unknown[]).length >= 1, "bob, a member, too");
      const c = await carol.rpc("hybrid_search", { query_text: "warranty", match_count: 5 });
      assert.equal(c.error, null);
      assert.deepEqual(c.data, [], "carol finds nothing of Acme's");
      const limited = await alice.rpc("hybrid_search", { query_text: "warranty", match_count: 5 })
        .select("document_id").limit(1);
      assert.equal((limited.data as unknown[]).length, 1);
    });

    await t.step("PostgREST's error codes for malformed requests", async () => {
      const unknownTable = await alice.from("no_such_table").select("*");
      assert.equal(unknownTable.status, 404);
      assert.equal(unknownTable.error?.code, "PGRST205");
      const unknownColumn = await alice.from("agents").select("id, no_such_column");
      assert.equal(unknownColumn.status, 400);
      assert.equal(unknownColumn.error?.code, "42703");
      const badFilter = await fetch(`${stack.apiUrl}/rest/v1/agents?id=nope.1`, {
        headers: { apikey: stack.anonKey, Authorization: `Bearer ${stack.serviceRoleKey}` },
      });
      assert.equal(badFilter.status, 400);
      assert.equal((await badFilter.json()).code, "PGRST100");
      const badUuid = await alice.from("agents").select("id").eq("id", "not-a-uuid");
      assert.equal(badUuid.status, 400);
      assert.equal(badUuid.error?.code, "22P02");
      const noRel = await alice.from("agents").select("id, profiles(*)");
      assert.equal(noRel.error?.code, "PGRST200");
      const unknownFn = await alice.rpc("no_such_function", {});
      assert.equal(unknownFn.status, 404);
      assert.equal(unknownFn.error?.code, "PGRST202");
      const badJson = await fetch(`${stack.apiUrl}/rest/v1/conversations`, {
        method: "POST",
        headers: {
          apikey: stack.anonKey,
          Authorization: `Bearer ${stack.serviceRoleKey}`,
          "content-type": "application/json",
        },
        body: "{not json",
      });
      assert.equal(badJson.status, 400);
      assert.equal((await badJson.json()).code, "PGRST102");
      const expired = await fetch(`${stack.apiUrl}/rest/v1/agents`, {
        headers: { Authorization: "Bearer not.a.jwt" },
      });
      assert.equal(expired.status, 401);
      assert.equal((await expired.json()).code, "PGRST301");
    });

    await t.step(
      "malformed and hostile query strings get a 4xx JSON error, never a 500",
      async () => {
        const deepSelect = "a(".repeat(2000) + "id" + ")".repeat(2000);
        const deepOr = "or(".repeat(2000) + "id.eq.1" + ")".repeat(2000);
        const cases = [
          "agents?select=id,,name",
          `agents?select=${encodeURIComponent(deepSelect)}`,
          `agents?or=(${encodeURIComponent(deepOr)})`,
          "agents?id=in.1,2",
          "agents?order=name.sideways",
          "agents?limit=abc",
          "agents?name=fts(bad config).x",
          "agents?select=count()",
          `agents?name=eq.${"%00".repeat(10)}`,
          "agents?id=eq.%F0%9F%98%80",
          "agents?select=id::text;drop table agents",
        ];
        for (const path of cases) {
          const response = await fetch(`${stack.apiUrl}/rest/v1/${path}`, {
            headers: { apikey: stack.anonKey, Authorization: `Bearer ${stack.serviceRoleKey}` },
          });
          const body = await response.json();
          assert.ok(
            response.status >= 400 && response.status < 500,
            `${path.slice(0, 60)}: ${response.status} ${JSON.stringify(body).slice(0, 200)}`,
          );
          assert.equal(typeof body.code, "string");
          assert.equal(typeof body.message, "string");
        }
        const long = await alice.rpc("hybrid_search", {
          query_text: "word ".repeat(100_000),
          match_count: 5,
        });
        assert.ok(long.status >= 400 && long.status < 500, `long query: ${long.status}`);
        const alive = await service.from("organizations").select("id").limit(1);
        assert.equal(alive.error, null, "the database still answers");
      },
    );

    await t.step("the service role bypasses RLS", async () => {
      const { data, error } = await service.from("organizations").select("slug").order("slug");
      assert.equal(error, null);
      assert.ok(data!.some((o) => o.slug === "acme") && data!.some((o) => o.slug === "globex"));
    });

    await t.step("a schema change is seen after NOTIFY pgrst", async () => {
      await stack.session.exec(
        "create table public.rest_probe (id int primary key, note text); " +
          "grant select on public.rest_probe to service_role; " +
          "insert into public.rest_probe values (1, 'hello'); notify pgrst, 'reload schema'",
      );
      const { data, error } = await service.from("rest_probe").select("note");
      assert.equal(error, null);
      assert.deepEqual(data, [{ note: "hello" }]);
    });

    await t.step(
      "upserts merge or ignore duplicates, bulk inserts take missing=default",
      async () => {
        await stack.session.exec(
          "alter table public.rest_probe add column created timestamptz not null default now(); " +
            "grant insert, update, delete on public.rest_probe to service_role; " +
            "notify pgrst, 'reload schema'",
        );
        const merged = await service.from("rest_probe")
          .upsert([{ id: 1, note: "merged" }, { id: 2, note: "new" }]).select("id, note")
          .order("id");
        assert.equal(merged.error, null, JSON.stringify(merged.error));
        assert.deepEqual(merged.data, [{ id: 1, note: "merged" }, { id: 2, note: "new" }]);
        const ignored = await service.from("rest_probe")
          .upsert({ id: 2, note: "ignored" }, { ignoreDuplicates: true }).select();
        assert.deepEqual(ignored.data, []);
        const bulk = await service.from("rest_probe")
          .insert([{ id: 3, note: "a" }, { id: 4 }], { defaultToNull: false }).select("id, note");
        assert.equal(bulk.error, null, JSON.stringify(bulk.error));
        assert.deepEqual(bulk.data!.map((r) => r.id).sort(), [3, 4]);
        const csv = await service.from("rest_probe").select("id, note").order("id").limit(2).csv();
        assert.equal(csv.data, "id,note\n1,merged\n2,new");
        const duplicate = await service.from("rest_probe").insert({ id: 1, note: "dup" });
        assert.equal(duplicate.status, 409);
        assert.equal(duplicate.error?.code, "23505");
      },
    );
  } finally {
    await stack.stop();
  }
});
