/**
 * For client apps: the functions' request and response contracts (zod schemas and types) and the
 * error body every function answers with. Re-exported from supabase/functions/_shared/contracts,
 * which the functions use, so client and server cannot drift.
 *
 *   import { WhoamiResponse, type ErrorBody } from "<this repo>/shared/mod.ts";
 */
export * from "../supabase/functions/_shared/contracts/mod.ts";
