/** The TAP reading behind tests/db/pgtap.test.ts: what counts as a failed suite. */
import { deepStrictEqual, equal, match, rejects } from "node:assert/strict";
import { join } from "node:path";
import type { Results } from "@electric-sql/pglite";
import { parseTap, readSuite, tapLines, tapProblems } from "./tap.ts";

function textResult(field: string, values: string[]): Results {
  return {
    rows: values.map((v) => ({ [field]: v })),
    fields: [{ name: field, dataTypeID: 25 }],
  } as Results;
}

Deno.test("tapLines() keeps TAP lines from single-column text rows and splits diagnostics", () => {
  const results = [
    textResult("plan", ["1..2"]),
    textResult("create_supabase_user", ["3f2c0000-0000-4000-8000-000000000000"]),
    textResult("ok", ["ok 1 - first"]),
    textResult("is", ['not ok 2 - second\n# Failed test 2: "second"\n#         have: 1']),
    { rows: [{ a: "ok 9", b: "x" }], fields: [{ name: "a" }, { name: "b" }] } as unknown as Results,
  ];
  deepStrictEqual(tapLines(results), [
    "1..2",
    "ok 1 - first",
    "not ok 2 - second",
    '# Failed test 2: "second"',
    "#         have: 1",
  ]);
});

Deno.test("tapProblems() names failing tests with their diagnostics", () => {
  const report = parseTap([
    "1..2",
    "ok 1 - fine",
    "not ok 2 - broken",
    "# Failed test 2",
    "#  have: 1",
  ]);
  deepStrictEqual(tapProblems(report), ["not ok 2 - broken\n    Failed test 2\n     have: 1"]);
});

Deno.test("tapProblems() reports a plan that does not match the tests run", () => {
  deepStrictEqual(tapProblems(parseTap(["1..3", "ok 1 - a", "ok 2 - b"])), [
    "Planned 3 tests but ran 2",
  ]);
  deepStrictEqual(tapProblems(parseTap(["ok 1 - a"])), [
    "No plan: the suite never called plan()",
  ]);
});

Deno.test("tapProblems() accepts failing TODO tests and skipped tests", () => {
  const report = parseTap([
    "1..2",
    "not ok 1 - later # TODO not built yet",
    "ok 2 # SKIP no pgvector",
  ]);
  equal(report.tests[0]!.directive, "TODO not built yet");
  equal(report.tests[1]!.directive, "SKIP no pgvector");
  deepStrictEqual(tapProblems(report), []);
});

Deno.test("readSuite() inlines \\ir includes and refuses other psql meta-commands", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tap-test-" });
  try {
    await Deno.writeTextFile(join(dir, "_helpers.psql"), "select 'helper';");
    await Deno.writeTextFile(join(dir, "suite.sql"), "begin;\n\\ir _helpers.psql\nrollback;");
    equal(await readSuite(join(dir, "suite.sql")), "begin;\nselect 'helper';\nrollback;");

    await Deno.writeTextFile(join(dir, "bad.sql"), "\\set ON_ERROR_STOP 1\nselect 1;");
    await rejects(readSuite(join(dir, "bad.sql")), (error: Error) => {
      match(error.message, /unsupported psql meta-command: \\set ON_ERROR_STOP 1/);
      return true;
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
