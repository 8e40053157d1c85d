/**
 * The database's types for client apps (`createClient<Database>(...)`), generated from the
 * migrations by `npx deno task gen:types` into the functions' folder (functions import nothing
 * outside it) and re-exported here, as ./contracts.ts does the functions' contracts.
 */
export * from "../supabase/functions/_shared/database.types.ts";
