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
      assert.equal(unknownColumn.error?.message, "column agents.no_such_column does not exist");
      const unknownEmbedded = await alice.from("agents").select("id, organizations(nope)");
      assert.equal(
        unknownEmbedded.error?.message,
        "column organizations_1.nope does not exist",
        "embeds are aliased as PostgREST aliases them",
      );
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
          "agents?select=id::text)from%20agents--",
          "agents?select=metadata->>x');drop%20table%20agents--",
          `agents?select=${encodeURIComponent('"a""b":id,"c\\"d"')}`,
          "agents?order=metadata->>'x');--.desc",
          "agents?select=*,organizations!inner!left!x(*)",
          "agents?id=in.(%22unterminated)",
          "agents?id=cs.{1,2",
          "agents?or=(id.eq.1,and(name.eq.x)",
          "agents?offset=-1",
          "rpc/hybrid_search?query_text=x&match_count=abc",
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
        // Many filters are a valid (if slow) query: answered, not a crash.
        const many = await fetch(
          `${stack.apiUrl}/rest/v1/agents?${"name=eq.x&".repeat(2000)}select=id`,
          { headers: { apikey: stack.anonKey, Authorization: `Bearer ${stack.serviceRoleKey}` } },
        );
        assert.deepEqual([many.status, await many.json()], [200, []]);
        for (
          const [path, body] of [
            ["conversations?on_conflict=id)%20do%20nothing;--", [{ title: "x" }]],
            ["conversations?columns=title,%22x%22%22y%22", [{ title: "x" }]],
            ["conversations?columns=title)%20select%201;--", [{ title: "x" }]],
            ["conversations", [{ title: "x" }, { agent_id: "y" }]],
            ["conversations", [[1], [2]]],
            ["rpc/hybrid_search", { query_text: { deep: ["x"] }, match_count: [1, 2] }],
          ] as const
        ) {
          const response = await fetch(`${stack.apiUrl}/rest/v1/${path}`, {
            method: "POST",
            headers: {
              apikey: stack.anonKey,
              Authorization: `Bearer ${stack.serviceRoleKey}`,
              "content-type": "application/json",
              Prefer: "resolution=merge-duplicates",
            },
            body: JSON.stringify(body),
          });
          const text = await response.text();
          assert.ok(
            response.status >= 400 && response.status < 500,
            `POST ${path.slice(0, 60)}: ${response.status} ${text.slice(0, 200)}`,
          );
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

    // A small schema of its own for the grammar's corners: two FKs to one table, a
    // self-reference, computed fields and relationships, overloads, and what anon may not touch.
    await stack.session.exec(`
      create table public.fx_people (name text primary key, age int);
      create table public.fx_pairs (
        id int primary key,
        first_person text not null references public.fx_people,
        second_person text references public.fx_people
      );
      create table public.fx_tree (id int primary key, parent_id int references public.fx_tree, label text);
      create table public.fx_secret (id int primary key, person text references public.fx_people, secret text);
      insert into public.fx_people values ('ann', 30), ('bob', 40), ('cid', 50);
      insert into public.fx_pairs values (1, 'ann', 'bob'), (2, 'ann', null), (3, 'bob', 'cid');
      insert into public.fx_tree values (1, null, 'root'), (2, 1, 'a'), (3, 1, 'b'), (4, 2, 'a1');
      insert into public.fx_secret values (1, 'ann', 'the secret');
      create function public.fx_pairs_of(p public.fx_people) returns setof public.fx_pairs
        language sql stable as 'select * from public.fx_pairs where first_person = p.name';
      create function public.fx_first_pair(p public.fx_people) returns setof public.fx_pairs
        rows 1 language sql stable
        as 'select * from public.fx_pairs where first_person = p.name order by id limit 1';
      create function public.fx_greeting(p public.fx_people) returns text
        language sql stable as $$select 'Hi ' || p.name$$;
      create function public.fx_echo(a int) returns int language sql as 'select a';
      create function public.fx_echo(b text) returns text language sql as 'select b';
      create function public.fx_ambiguous() returns int language sql as 'select 1';
      create function public.fx_ambiguous(x int default 2) returns int language sql as 'select x';
      create function public.fx_sum(xs int[]) returns int
        language sql as 'select sum(x)::int from unnest(xs) x';
      create function public.fx_keys(doc jsonb) returns setof text
        language sql as 'select jsonb_object_keys(doc) order by 1';
      create function public.fx_noop() returns void language sql as '';
      create function public.fx_age_of(p public.fx_people) returns int language sql as 'select p.age';
      create function public.fx_whole(jsonb) returns jsonb language sql as 'select $1';
      create function public.fx_private() returns int language sql as 'select 42';
      create function public.fx_secret_of(p public.fx_people) returns setof public.fx_secret
        language sql stable as 'select * from public.fx_secret where person = p.name';
      grant select on public.fx_people, public.fx_pairs, public.fx_tree to anon, authenticated, service_role;
      grant insert, update, delete on public.fx_people to service_role;
      grant all on public.fx_secret to service_role;
      grant execute on function public.fx_pairs_of, public.fx_first_pair, public.fx_greeting, public.fx_echo(int),
        public.fx_echo(text), public.fx_ambiguous(), public.fx_ambiguous(int), public.fx_sum,
        public.fx_keys, public.fx_noop, public.fx_age_of, public.fx_whole, public.fx_secret_of
        to anon, authenticated, service_role;
      notify pgrst, 'reload schema';
    `);

    await t.step("two FKs to one table need a hint (PGRST201); hints, !left", async () => {
      const ambiguous = await anon.from("fx_pairs").select("id, fx_people(name)");
      assert.equal(ambiguous.status, 300);
      assert.equal(ambiguous.error?.code, "PGRST201");
      assert.deepEqual(ambiguous.error?.details, [
        {
          cardinality: "many-to-one",
          embedding: "fx_pairs with fx_people",
          relationship:
            "fx_pairs_first_person_fkey using fx_pairs(first_person) and fx_people(name)",
        },
        {
          cardinality: "many-to-one",
          embedding: "fx_pairs with fx_people",
          relationship:
            "fx_pairs_second_person_fkey using fx_pairs(second_person) and fx_people(name)",
        },
      ]);
      assert.equal(
        ambiguous.error?.hint,
        "Try changing 'fx_people' to one of the following: 'fx_people!fx_pairs_first_person_fkey', " +
          "'fx_people!fx_pairs_second_person_fkey'. Find the desired relationship in the 'details' key.",
      );
      const hinted = await anon.from("fx_pairs")
        .select(
          "id, first:fx_people!first_person(name), second:fx_people!fx_pairs_second_person_fkey!left(name)",
        )
        .order("id");
      assert.equal(hinted.error, null, JSON.stringify(hinted.error));
      assert.deepEqual(hinted.data, [
        { id: 1, first: { name: "ann" }, second: { name: "bob" } },
        { id: 2, first: { name: "ann" }, second: null },
        { id: 3, first: { name: "bob" }, second: { name: "cid" } },
      ]);
      const reverse = await anon.from("fx_people")
        .select("name, fx_pairs!first_person(id)").eq("name", "ann");
      assert.deepEqual(reverse.data, [{ name: "ann", fx_pairs: [{ id: 1 }, { id: 2 }] }]);
      const byConstraint = await anon.from("fx_people")
        .select("name, seconds:fx_pairs_second_person_fkey(id)").eq("name", "bob");
      assert.deepEqual(byConstraint.data, [{ name: "bob", seconds: [{ id: 1 }] }]);
    });

    await t.step("a self-reference: by table name the children, by column the parent", async () => {
      const children = await anon.from("fx_tree").select("id, fx_tree(id)").eq("id", 1).single();
      assert.equal(children.error, null, JSON.stringify(children.error));
      assert.deepEqual(children.data, { id: 1, fx_tree: [{ id: 2 }, { id: 3 }] });
      const parent = await anon.from("fx_tree").select("id, parent:parent_id(label)").eq("id", 4)
        .single();
      assert.deepEqual(parent.data, { id: 4, parent: { label: "a" } });
      const byColumnHint = await anon.from("fx_tree").select("id, fx_tree!parent_id(id)").eq(
        "id",
        2,
      ).single();
      assert.deepEqual(byColumnHint.data, { id: 2, fx_tree: [{ id: 4 }] });
      const byName = await anon.from("fx_tree").select("id, fx_tree!fx_tree_parent_id_fkey(id)");
      assert.equal(byName.status, 400);
      assert.equal(byName.error?.code, "PGRST200");
      assert.equal(
        byName.error?.details,
        "Searched for a foreign key relationship between 'fx_tree' and 'fx_tree' using the hint " +
          "'fx_tree_parent_id_fkey' in the schema 'public', but no matches were found.",
      );
    });

    await t.step("nested embeds with filters, order and limit; count with !inner", async () => {
      const nested = await anon.from("fx_people")
        .select("name, fx_pairs!first_person(id, second:fx_people!second_person(name, age))")
        .eq("name", "ann")
        .order("id", { referencedTable: "fx_pairs", ascending: false })
        .limit(1, { referencedTable: "fx_pairs" });
      assert.equal(nested.error, null, JSON.stringify(nested.error));
      assert.deepEqual(nested.data, [{ name: "ann", fx_pairs: [{ id: 2, second: null }] }]);
      const filtered = await anon.from("fx_people")
        .select("name, fx_pairs!first_person(id)")
        .gt("fx_pairs.id", 1)
        .order("name");
      assert.deepEqual(filtered.data, [
        { name: "ann", fx_pairs: [{ id: 2 }] },
        { name: "bob", fx_pairs: [{ id: 3 }] },
        { name: "cid", fx_pairs: [] },
      ]);
      const inner = await anon.from("fx_people")
        .select("name, fx_pairs!first_person!inner(id)", { count: "exact" })
        .gt("fx_pairs.id", 2);
      assert.equal(inner.error, null, JSON.stringify(inner.error));
      assert.equal(inner.count, 1, "the count honours the !inner filter");
      assert.deepEqual(inner.data, [{ name: "bob", fx_pairs: [{ id: 3 }] }]);
    });

    await t.step("spreads: to-one columns (and *) lifted, to-many as arrays", async () => {
      const toOne = await anon.from("fx_pairs").select("id, ...fx_people!first_person(*)").eq(
        "id",
        3,
      );
      assert.equal(toOne.error, null, JSON.stringify(toOne.error));
      assert.deepEqual(toOne.data, [{ id: 3, name: "bob", age: 40 }]);
      const toMany = await anon.from("fx_people")
        .select("name, ...fx_pairs!first_person(pair:id)")
        .eq("name", "ann")
        .order("id", { referencedTable: "fx_pairs", ascending: false });
      assert.equal(toMany.error, null, JSON.stringify(toMany.error));
      assert.deepEqual(toMany.data, [{ name: "ann", pair: [2, 1] }]);
    });

    await t.step("computed fields and computed relationships", async () => {
      const { data, error } = await anon.from("fx_people")
        .select("name, fx_greeting, fx_pairs_of(id)")
        .eq("fx_greeting", "Hi ann");
      assert.equal(error, null, JSON.stringify(error));
      const toOne = await anon.from("fx_people").select("name, first:fx_first_pair(id)")
        .in("name", ["ann", "cid"]).order("name");
      assert.deepEqual(toOne.data, [{ name: "ann", first: { id: 1 } }, {
        name: "cid",
        first: null,
      }]);
      assert.deepEqual(data, [{
        name: "ann",
        fx_greeting: "Hi ann",
        fx_pairs_of: [{ id: 1 }, { id: 2 }],
      }]);
    });

    await t.step("rpc: arrays, JSON, rows, setof scalars, void, overloads", async () => {
      assert.deepEqual((await anon.rpc("fx_sum", { xs: [1, 2, 3] })).data, 6);
      assert.deepEqual((await anon.rpc("fx_keys", { doc: { b: 1, a: { c: 2 } } })).data, [
        "a",
        "b",
      ]);
      assert.deepEqual((await anon.rpc("fx_age_of", { p: { name: "zed", age: 7 } })).data, 7);
      assert.deepEqual((await anon.rpc("fx_whole", { any: ["thing"] })).data, { any: ["thing"] });
      const noop = await anon.rpc("fx_noop");
      assert.equal(noop.error, null);
      assert.equal(noop.status, 204);
      assert.equal((await anon.rpc("fx_echo", { a: 5 })).data, 5);
      assert.equal((await anon.rpc("fx_echo", { b: "five" })).data, "five");
      assert.equal((await anon.rpc("fx_sum", { xs: [4] }, { get: true })).error?.code, undefined);
      const ambiguous = await anon.rpc("fx_ambiguous");
      assert.equal(ambiguous.status, 300);
      assert.equal(ambiguous.error?.code, "PGRST203");
      assert.equal(
        ambiguous.error?.message,
        "Could not choose the best candidate function between: public.fx_ambiguous(), " +
          "public.fx_ambiguous(x => integer)",
      );
      const unknown = await anon.rpc("fx_echo", { c: 1 });
      assert.equal(unknown.status, 404);
      assert.equal(unknown.error?.code, "PGRST202");
      assert.equal(
        unknown.error?.details,
        "Searched for the function public.fx_echo with parameter c or with a single unnamed " +
          "json/jsonb parameter, but no matches were found in the schema cache.",
      );
      const noArgs = await anon.rpc("fx_sum");
      assert.equal(
        noArgs.error?.message,
        "Could not find the function public.fx_sum without parameters in the schema cache",
      );
      const counted = await anon.rpc("fx_sum", { xs: [1] }, { count: "exact" });
      assert.equal(counted.count, 1);
    });

    await t.step("single and max-affected on writes roll back", async () => {
      const none = await service.from("fx_people").update({ age: 1 }).eq("name", "nobody")
        .select().maybeSingle();
      assert.equal(none.error, null);
      assert.equal(none.data, null);
      // .single() asks for one object: PostgREST answers 406 and rolls the update back.
      // (.maybeSingle() checks on the client in postgrest-js 2.x, after the write, as on hosted.)
      const two = await service.from("fx_people").update({ age: 1 }).in("name", ["ann", "bob"])
        .select().single();
      assert.equal(two.status, 406);
      assert.equal(two.error?.code, "PGRST116");
      const capped = await fetch(`${stack.apiUrl}/rest/v1/fx_people?age=gt.0`, {
        method: "PATCH",
        headers: {
          apikey: stack.anonKey,
          Authorization: `Bearer ${stack.serviceRoleKey}`,
          "content-type": "application/json",
          Prefer: "handling=strict, max-affected=2",
        },
        body: JSON.stringify({ age: 2 }),
      });
      assert.equal(capped.status, 400);
      assert.equal((await capped.json()).code, "PGRST124");
      const ages = await service.from("fx_people").select("age").order("name");
      assert.deepEqual(ages.data, [{ age: 30 }, { age: 40 }, { age: 50 }], "nothing changed");
    });

    await t.step("Prefer: tx=rollback only where pgrst.db_tx_end allows it", async () => {
      const update = (age: number) =>
        fetch(`${stack.apiUrl}/rest/v1/fx_people?name=eq.cid`, {
          method: "PATCH",
          headers: {
            apikey: stack.anonKey,
            Authorization: `Bearer ${stack.serviceRoleKey}`,
            "content-type": "application/json",
            Prefer: "return=representation, tx=rollback",
          },
          body: JSON.stringify({ age }),
        });
      const ageOfCid = async () =>
        (await service.from("fx_people").select("age").eq("name", "cid").single()).data!.age;
      // Hosted's default (commit) ignores the preference.
      const committed = await update(51);
      assert.equal(committed.headers.get("preference-applied"), null);
      assert.deepEqual(await committed.json(), [{ name: "cid", age: 51 }]);
      assert.equal(await ageOfCid(), 51);
      await stack.session.exec(
        "alter role authenticator set pgrst.db_tx_end to 'commit-allow-override'",
      );
      const rolledBack = await update(52);
      assert.equal(rolledBack.headers.get("preference-applied"), "tx=rollback");
      assert.deepEqual(await rolledBack.json(), [{ name: "cid", age: 52 }]);
      assert.equal(await ageOfCid(), 51, "the update was rolled back");
      await stack.session.exec("alter role authenticator reset pgrst.db_tx_end");
    });

    await t.step("CSV, stripped nulls on one object, and rel() left out", async () => {
      await stack.session.exec(
        "create table public.fx_csv (id int primary key, doc jsonb, note text); " +
          "grant select on public.fx_csv to anon; " +
          `insert into public.fx_csv values (1, '{"b": [1, 2], "a": "x y"}', 'two words'), ` +
          "(2, null, 'plain'); notify pgrst, 'reload schema'",
      );
      const csv = await anon.from("fx_csv").select("*").order("id").csv();
      assert.equal(
        csv.data,
        'id,doc,note\n1,"{""a"": ""x y"", ""b"": [1, 2]}","two words"\n2,,plain',
      );
      const stripped = await fetch(`${stack.apiUrl}/rest/v1/fx_csv?id=eq.2`, {
        headers: {
          apikey: stack.anonKey,
          Accept: "application/vnd.pgrst.object+json;nulls=stripped",
        },
      });
      assert.deepEqual(await stripped.json(), { id: 2, note: "plain" });
      const filterOnly = await anon.from("fx_people").select("name, fx_pairs!first_person!inner()")
        .order("name");
      assert.equal(filterOnly.error, null, JSON.stringify(filterOnly.error));
      assert.deepEqual(filterOnly.data, [{ name: "ann" }, { name: "bob" }]);
    });

    await t.step("aggregates only where pgrst.db_aggregates_enabled allows them", async () => {
      const off = await anon.from("fx_pairs").select("count()");
      assert.equal(off.status, 400);
      assert.equal(off.error?.code, "PGRST123");
      await stack.session.exec(
        "alter role authenticator set pgrst.db_aggregates_enabled to 'true'",
      );
      const total = await anon.from("fx_pairs").select("count()");
      assert.deepEqual(total.data, [{ count: 3 }]);
      const grouped = await anon.from("fx_pairs").select("first_person, n:count(), top:id.max()")
        .order("first_person");
      assert.deepEqual(grouped.data, [
        { first_person: "ann", n: 2, top: 2 },
        { first_person: "bob", n: 1, top: 3 },
      ]);
      const embedded = await anon.from("fx_people")
        .select("name, fx_pairs!first_person(id.sum(), pairs:count())")
        .eq("name", "ann");
      assert.deepEqual(embedded.data, [{ name: "ann", fx_pairs: [{ sum: 3, pairs: 2 }] }]);
      await stack.session.exec("alter role authenticator reset pgrst.db_aggregates_enabled");
    });

    await t.step("a merging upsert answers 201 when it inserted, 200 when it updated", async () => {
      const inserted = await service.from("fx_people").upsert({ name: "dan", age: 1 }).select();
      assert.equal(inserted.status, 201);
      const updated = await service.from("fx_people").upsert({ name: "dan", age: 2 }).select();
      assert.equal(updated.status, 200);
      assert.deepEqual(updated.data, [{ name: "dan", age: 2 }]);
      await service.from("fx_people").delete().eq("name", "dan");
    });

    await t.step("embedding, computed relationships and RPC never pass a grant", async () => {
      const embed = await anon.from("fx_people").select("name, fx_secret(secret)");
      assert.equal(embed.status, 401);
      assert.equal(embed.error?.code, "42501");
      const computed = await alice.from("fx_people").select("name, fx_secret_of(secret)");
      assert.equal(computed.status, 403);
      assert.equal(computed.error?.code, "42501");
      const inner = await anon.from("fx_people").select("name, fx_secret!inner(id)");
      assert.equal(inner.error?.code, "42501");
      const rpc = await alice.rpc("fx_private");
      assert.equal(rpc.status, 403);
      assert.equal(rpc.error?.code, "42501");
      const viaCast = await anon.from("fx_people").select("name, fx_secret::text");
      assert.ok(viaCast.status >= 400 && viaCast.status < 500, `cast: ${viaCast.status}`);
      assert.equal(viaCast.data, null);
    });
  } finally {
    await stack.stop();
  }
});
