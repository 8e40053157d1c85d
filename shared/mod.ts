/**
 * For client apps of this backend:
 *
 * - `createAgentClient(supabase)`: a typed client of every function route (./client.ts).
 * - The functions' contracts: zod schemas and types of every request and response, and the
 *   error body (./contracts.ts).
 * - `Database`: the database's types, generated from the migrations (./database.types.ts), for
 *   `createClient<Database>(...)`.
 *
 *   import { createAgentClient, type Database } from "<this repo>/shared/mod.ts";
 */
export * from "./client.ts";
export * from "./contracts.ts";
export type { Database, Json } from "./database.types.ts";
