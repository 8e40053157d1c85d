/**
 * `npx deno task db:dump [--data-only] [--schema <name>]... > file.sql`: a plain-SQL dump of the
 * local database, as `supabase db dump` gives with Docker (see local/dump.ts for what each kind
 * holds). Restore with `psql "<DB URL>" -v ON_ERROR_STOP=1 -f file.sql` into a fresh stack: the
 * schema into one without those migrations, the data into one with them and without seed data.
 *
 * While the stack runs (it holds the data folder), the dump is asked of it over HTTP with the
 * service_role key; otherwise the data folder is opened directly. Environment as for
 * `deno task start`: LOCAL_DATA_DIR, API_PORT, SUPABASE_JWT_SECRET.
 */
// deno-lint-ignore-file no-console
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { loadLocalConfig } from "./config.ts";
import { dumpDatabase, type DumpOptions } from "./dump.ts";
import { loadKeys } from "./keys.ts";
import { openPglite } from "./postgres/pglite.ts";
import { Session } from "./postgres/session.ts";

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");

async function main(): Promise<number> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      "data-only": { type: "boolean", default: false },
      "schema-only": { type: "boolean", default: false },
      schema: { type: "string", multiple: true, default: [] },
      help: { type: "boolean", default: false },
    },
  });
  if (values.help) {
    console.log(
      "Usage: npx deno task db:dump [--schema-only (default) | --data-only] [--schema <name>]...\n" +
        "Writes SQL to stdout; restore it with psql into a fresh local stack.",
    );
    return 0;
  }
  if (values["data-only"] && values["schema-only"]) {
    console.error("Choose one of --data-only and --schema-only");
    return 2;
  }
  const options: DumpOptions = { dataOnly: values["data-only"], schemas: values.schema };
  const dataDir = Deno.env.get("LOCAL_DATA_DIR") || join(REPO_ROOT, ".local", "data");
  const owner = await runningStack(dataDir);
  const sql = owner === null
    ? await dumpFolder(dataDir, options)
    : await askStack(dataDir, options);
  await Deno.stdout.write(new TextEncoder().encode(sql));
  return 0;
}

/** The pid of the stack that holds the data folder, or null. */
async function runningStack(dataDir: string): Promise<number | null> {
  try {
    const pid = Number((await Deno.readTextFile(join(dataDir, "stack.lock"))).trim());
    await Deno.stat(`/proc/${pid}`);
    return pid;
  } catch {
    return null;
  }
}

async function askStack(dataDir: string, options: DumpOptions): Promise<string> {
  const config = await loadLocalConfig(join(REPO_ROOT, "supabase", "config.toml"));
  const port = Number(Deno.env.get("API_PORT") || config.apiPort);
  const secret = Deno.env.get("SUPABASE_JWT_SECRET");
  const keys = await loadKeys({
    keyDir: join(dataDir, "auth"),
    ...(secret ? { jwtSecret: secret } : {}),
  });
  const response = await fetch(`http://127.0.0.1:${port}/_local/db/dump`, {
    method: "POST",
    headers: { authorization: `Bearer ${keys.serviceRoleKey}`, "content-type": "application/json" },
    body: JSON.stringify(options),
  });
  const text = await response.text();
  if (!response.ok) {
    throw new Error(`The running stack refused the dump (${response.status}): ${text}`);
  }
  return text;
}

async function dumpFolder(dataDir: string, options: DumpOptions): Promise<string> {
  const pgdata = join(dataDir, "pgdata");
  try {
    await Deno.stat(pgdata);
  } catch {
    throw new Error(`No local database in ${pgdata}: start the stack once (npx deno task start)`);
  }
  // Hold the folder as the stack does, so a stack started meanwhile refuses it.
  const lock = join(dataDir, "stack.lock");
  await Deno.writeTextFile(lock, String(Deno.pid));
  const session = new Session(await openPglite({ dataDir: pgdata }));
  try {
    return await dumpDatabase(session, options);
  } finally {
    await session.close();
    await Deno.remove(lock).catch(() => {});
  }
}

try {
  Deno.exit(await main());
} catch (error) {
  console.error((error as Error).message);
  Deno.exit(1);
}
