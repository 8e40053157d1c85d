/**
 * The migration set and the seed apply cleanly to a fresh database, and a second boot of the
 * same database applies nothing and keeps the data (the runner is idempotent).
 */
import { deepStrictEqual, equal } from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { listMigrations, openDatabase } from "../../local/postgres/database.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const MIGRATIONS = join(ROOT, "supabase/migrations");
const SEED = join(ROOT, "supabase/seed.sql");

Deno.test({
  name: "openDatabase() applies every migration and the seed once, and nothing on the next boot",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const dataDir = await Deno.makeTempDir({ prefix: "migrations-test-" });
    try {
      const first = await openDatabase({ dataDir, migrationsDir: MIGRATIONS, seedPaths: [SEED] });
      try {
        equal(first.fresh, true);
        deepStrictEqual(first.applied, await listMigrations(MIGRATIONS));
      } finally {
        await first.session.close();
      }

      const second = await openDatabase({ dataDir, migrationsDir: MIGRATIONS, seedPaths: [SEED] });
      try {
        equal(second.fresh, false);
        deepStrictEqual(second.applied, []);
        const { rows } = await second.session.query<{ users: number; organizations: number }>(
          `select (select count(*)::int from auth.users) as users,
                  (select count(*)::int from public.organizations where personal_user_id is null)
                    as organizations`,
        );
        deepStrictEqual(rows, [{ users: 3, organizations: 2 }], "the seed ran once");
      } finally {
        await second.session.close();
      }
    } finally {
      await Deno.remove(dataDir, { recursive: true });
    }
  },
});
