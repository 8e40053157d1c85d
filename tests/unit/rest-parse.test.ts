/** The Data API's query language parser (local/rest/parse.ts) on PostgREST's documented forms. */
import assert from "node:assert/strict";
import { parseOrder, parseQuery, parseSelect, splitTopLevel } from "../../local/rest/parse.ts";
import { RestError } from "../../local/rest/errors.ts";

Deno.test("parseSelect() reads columns, aliases, casts, JSON paths, embeds, hints and spreads", () => {
  const items = parseSelect(
    "id, full:name::text, meta->a->>b, org:organizations!owner_fk!inner(name, slug), ...profiles(email)",
  );
  assert.deepEqual(items[0], { kind: "column", field: { name: "id", path: [] } });
  assert.deepEqual(items[1], {
    kind: "column",
    field: { name: "name", path: [] },
    alias: "full",
    cast: "text",
  });
  assert.deepEqual(items[2], {
    kind: "column",
    field: { name: "meta", path: [{ op: "->", key: "a" }, { op: "->>", key: "b" }] },
  });
  assert.deepEqual(items[3], {
    kind: "embed",
    relation: "organizations",
    alias: "org",
    hint: "owner_fk",
    joinType: "inner",
    spread: false,
    select: [
      { kind: "column", field: { name: "name", path: [] } },
      { kind: "column", field: { name: "slug", path: [] } },
    ],
  });
  assert.equal(items[4]?.kind === "embed" && items[4].spread, true);
});

Deno.test("parseQuery() separates root and embedded filters, logic trees, order and range", () => {
  const q = parseQuery(
    new URLSearchParams(
      "select=*,docs(*)&status=eq.active&docs.title=ilike.*x*&or=(a.eq.1,and(b.gt.2,c.is.null))" +
        "&docs.order=ordinal.desc.nullslast&docs.limit=2&limit=10&offset=5&name=not.in.(a,%22b,c%22)",
    ),
  );
  const root = q.levels.get("")!;
  assert.equal(root.limit, 10);
  assert.equal(root.offset, 5);
  assert.equal(root.filters.length, 3);
  const or = root.filters.find((f) => f.kind === "logic");
  assert.ok(or && or.kind === "logic" && or.op === "or" && or.children.length === 2);
  const notIn = root.filters.find((f) => f.kind === "condition" && f.field.name === "name");
  assert.ok(notIn && notIn.kind === "condition" && notIn.negated && notIn.op === "in");
  const docs = q.levels.get("docs")!;
  assert.equal(docs.limit, 2);
  assert.deepEqual(docs.order, [{
    field: { name: "ordinal", path: [] },
    direction: "desc",
    nulls: "last",
  }]);
});

Deno.test("parseOrder() reads related orders and refuses unknown modifiers with PGRST100", () => {
  assert.deepEqual(parseOrder("org(name).asc,id"), [
    { relation: "org", field: { name: "name", path: [] }, direction: "asc" },
    { field: { name: "id", path: [] } },
  ]);
  assert.throws(
    () => parseOrder("id.sideways"),
    (e) => e instanceof RestError && e.body.code === "PGRST100",
  );
});

Deno.test("malformed filters, trees and ranges are PGRST100, never exceptions of another kind", () => {
  for (const qs of ["id=nope.1", "id=eq", "or=a.eq.1", "or=(a.eq.1", "limit=-1", "x=is.maybe"]) {
    try {
      const parsed = parseQuery(new URLSearchParams(qs));
      // `is.maybe` parses; the builder refuses it.
      assert.ok(qs === "x=is.maybe", `${qs} should not parse`);
      assert.ok(parsed);
    } catch (error) {
      assert.ok(error instanceof RestError, `${qs}: ${error}`);
      assert.equal(error.status, 400);
    }
  }
});

Deno.test("splitTopLevel() keeps commas inside parentheses, braces and quotes", () => {
  assert.deepEqual(splitTopLevel('a.in.(1,2),b.cs.{x,y},c.eq."d,e"'), [
    "a.in.(1,2)",
    "b.cs.{x,y}",
    'c.eq."d,e"',
  ]);
});

Deno.test("parseSelect() reads aggregates (count(), col.fn(), aliases, casts) apart from embeds", () => {
  assert.deepEqual(parseSelect("count(), n:count(), total:amount.sum()::int, meta->>x.max()"), [
    { kind: "aggregate", fn: "count" },
    { kind: "aggregate", fn: "count", alias: "n" },
    {
      kind: "aggregate",
      fn: "sum",
      field: { name: "amount", path: [] },
      alias: "total",
      cast: "int",
    },
    { kind: "aggregate", fn: "max", field: { name: "meta", path: [{ op: "->>", key: "x" }] } },
  ]);
  assert.equal(parseSelect("counts()")[0]?.kind, "embed", "another name is an embed");
  assert.throws(() => parseSelect("sum()"), (e) => e instanceof RestError && e.status === 400);
});
