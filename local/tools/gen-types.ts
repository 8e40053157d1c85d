/**
 * `npx deno task gen:types`: TypeScript types of the database, generated the way
 * `supabase gen types typescript --local` generates them (the CLI's postgres-meta uses
 * `@supabase/postgrest-typegen`: its introspection queries and its TypeScript template), from a
 * fresh in-memory database with every migration applied. No Docker, no running stack.
 *
 * Writes `supabase/functions/_shared/database.types.ts` (functions import nothing outside their
 * folder); `shared/database.types.ts` re-exports it for client apps, as shared/ does the
 * contracts. `--check` writes nothing and exits 1 when the file is stale.
 */
// deno-lint-ignore-file no-console
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { generateTypescript, introspect, sortGeneratorMetadata } from "@supabase/postgrest-typegen";
import { openDatabase } from "../postgres/database.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
export const TYPE_FILES = [join(ROOT, "supabase", "functions", "_shared", "database.types.ts")];

/** The generated file's text for the migrations in supabase/migrations. */
export async function generateDatabaseTypes(schemas = ["public"]): Promise<string> {
  const { session } = await openDatabase({
    migrationsDir: join(ROOT, "supabase", "migrations"),
    seedPaths: [],
  });
  try {
    const metadata = await introspect(
      { query: async (sql: string) => ({ rows: (await session.query(sql)).rows as unknown[] }) },
      { includedSchemas: schemas },
    );
    // The generator expects canonically sorted metadata (else the order follows oids and churns).
    return await generateTypescript(sortGeneratorMetadata(metadata), {
      detectOneToOneRelationships: true,
      postgrestVersion: "12",
    });
  } finally {
    await session.close();
  }
}

if (import.meta.main) {
  const check = Deno.args.includes("--check");
  const text = await generateDatabaseTypes();
  let stale = false;
  for (const file of TYPE_FILES) {
    const current = await Deno.readTextFile(file).catch(() => null);
    if (current === text) continue;
    stale = true;
    if (!check) await Deno.writeTextFile(file, text);
    console.error(`${check ? "stale" : "wrote"}: ${file}`);
  }
  if (check && stale) Deno.exit(1);
  if (!stale) console.error("database types are up to date");
}
