/**
 * The functions' request and response contracts (zod schemas and their types) and the error
 * body, re-exported from supabase/functions/_shared/contracts, which the functions validate with,
 * so client and server cannot drift.
 */
export * from "../supabase/functions/_shared/contracts/mod.ts";
