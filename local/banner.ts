/**
 * What `npx deno task start` prints once the stack is up: what `supabase start` prints, limited
 * to what the local stack serves (no Studio, no GraphQL, no S3 endpoint), in the same
 * `label: value` layout. The DB URL carries `?sslmode=disable`: the wire server has no TLS (it
 * answers a TLS request with "N"), and the Supabase CLI wants TLS unless told so.
 */
import { PUBLISHABLE_KEY, SECRET_KEY } from "./gateway.ts";
import type { Stack } from "./stack.ts";

/** The DB URL as printed: with `sslmode=disable`. */
export function printedDbUrl(dbUrl: string): string {
  return dbUrl ? `${dbUrl}?sslmode=disable` : "";
}

/** The lines after "Started the local Supabase stack", label and value. */
export function bannerLines(stack: Stack): Array<[string, string]> {
  const ws = stack.apiUrl.replace(/^http/, "ws");
  return [
    ["API URL", stack.apiUrl],
    ["REST URL", `${stack.apiUrl}/rest/v1`],
    ["Realtime URL", `${ws}/realtime/v1`],
    ["Functions URL", `${stack.apiUrl}/functions/v1`],
    ["DB URL", printedDbUrl(stack.dbUrl) || "(not served)"],
    ["Mailbox URL", stack.mailboxUrl],
    ["JWT secret", stack.jwtSecret],
    ["anon key", stack.anonKey],
    ["service_role key", stack.serviceRoleKey],
    ["Publishable key", PUBLISHABLE_KEY],
    ["Secret key", SECRET_KEY],
    ["Functions", [...stack.functions.keys()].join(", ") || "(none)"],
  ];
}

/** The lines right-aligned on the colon, as the Supabase CLI prints them. */
export function banner(stack: Stack): string {
  const lines = bannerLines(stack);
  const width = Math.max(...lines.map(([label]) => label.length));
  return lines.map(([label, value]) => `${label.padStart(width)}: ${value}`).join("\n");
}
