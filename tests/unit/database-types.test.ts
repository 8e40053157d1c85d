/**
 * The database types (supabase/functions/_shared/database.types.ts, re-exported by
 * shared/database.types.ts) are generated from the migrations (`npx deno task gen:types`, the
 * Supabase CLI's generator): this fails when a migration changed and the file was not
 * regenerated.
 */
import assert from "node:assert/strict";
import { generateDatabaseTypes, TYPE_FILES } from "../../local/tools/gen-types.ts";

Deno.test("the committed database types match the migrations (run `deno task gen:types`)", async () => {
  const expected = await generateDatabaseTypes();
  for (const file of TYPE_FILES) {
    assert.equal(
      await Deno.readTextFile(file),
      expected,
      `${file} is stale: run \`npx deno task gen:types\``,
    );
  }
  assert.match(expected, /agent_executions: \{\n\s+Row: \{/);
  assert.match(expected, /hybrid_search: \{/);
});
