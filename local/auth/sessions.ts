/**
 * SQL on auth.sessions. A session is what an access token's `session_id` names: signing out
 * deletes it (its refresh tokens go with it, on delete cascade), and from then on GET /user with
 * a token of that session answers 403 session_not_found, as GoTrue does.
 */
import type { Tx } from "./deps.ts";

export interface SessionRow {
  id: string;
  user_id: string;
  created_at: Date | null;
  not_after: Date | null;
  aal: string | null;
}

const SESSION_COLUMNS = "id, user_id, created_at, not_after, aal";

export async function createSession(
  tx: Tx,
  options: { userId: string; now: Date; userAgent: string | null },
): Promise<SessionRow> {
  const { rows } = await tx.query<SessionRow>(
    `insert into auth.sessions (id, user_id, created_at, updated_at, aal, user_agent)
     values ($1, $2, $3, $3, 'aal1', $4)
     returning ${SESSION_COLUMNS}`,
    [crypto.randomUUID(), options.userId, options.now, options.userAgent],
  );
  return rows[0]!;
}

export async function findSession(tx: Tx, id: string): Promise<SessionRow | null> {
  const { rows } = await tx.query<SessionRow>(
    `select ${SESSION_COLUMNS} from auth.sessions where id = $1`,
    [id],
  );
  return rows[0] ?? null;
}

/** Records a refresh on the session (GoTrue's UpdateOnlyRefreshInfo). */
export async function touchSession(
  tx: Tx,
  id: string,
  now: Date,
  userAgent: string | null,
): Promise<void> {
  // refreshed_at is `timestamp` (without time zone) in GoTrue's schema and holds UTC.
  await tx.query(
    `update auth.sessions
        set refreshed_at = ($2::timestamptz at time zone 'utc'), updated_at = $2, user_agent = $3
      where id = $1`,
    [id, now, userAgent],
  );
}

export async function deleteSession(tx: Tx, id: string): Promise<void> {
  await tx.query("delete from auth.sessions where id = $1", [id]);
}

/** Deletes every session of the user, or every one but `keepSessionId`. */
export async function deleteUserSessions(
  tx: Tx,
  userId: string,
  keepSessionId?: string,
): Promise<void> {
  await tx.query(
    "delete from auth.sessions where user_id = $1 and ($2::uuid is null or id <> $2::uuid)",
    [userId, keepSessionId ?? null],
  );
}
