/**
 * The ownership check every function that writes to (or summarises) a user's conversation makes
 * first, under the user's RLS: the conversation must be the caller's (404 otherwise, so another
 * user's conversation is indistinguishable from a missing one) and the caller must still be a
 * member of its organization (403: removed members keep reading, not writing).
 */
import type { Queryable } from "./db/mod.ts";
import type { Columns } from "./db/rows.ts";
import { AppError } from "./errors.ts";

export interface OwnConversation {
  id: string;
  agent_id: string;
  organization_id: string;
  /** The organization's `settings`, which members may read. */
  organization_settings: Record<string, unknown>;
}

/** Run inside `deps.db.asUser(claims, ...)`. */
export async function requireOwnConversation(
  tx: Queryable,
  conversationId: string,
): Promise<OwnConversation> {
  // RLS: conversations shows only the caller's own; organizations only those they belong to.
  const [row] = await tx.query<
    & Columns<"conversations", "id" | "agent_id" | "organization_id">
    // Of the left-joined organization: null when RLS hides it (no longer a member).
    & { member_of: string | null; settings: Record<string, unknown> | null }
  >(
    `select c.id, c.agent_id, c.organization_id, o.id as member_of, o.settings
     from public.conversations c
     left join public.organizations o on o.id = c.organization_id
     where c.id = $1 and c.user_id = (select auth.uid())`,
    [conversationId],
  );
  if (!row) throw new AppError("not_found", `Unknown conversation: "${conversationId}"`);
  if (!row.member_of) {
    throw new AppError(
      "forbidden",
      `Only current members of the conversation's organization can use conversation "${conversationId}"`,
    );
  }
  return {
    id: row.id,
    agent_id: row.agent_id,
    organization_id: row.organization_id,
    organization_settings: row.settings ?? {},
  };
}
