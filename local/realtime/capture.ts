/**
 * Change capture for `postgres_changes`. Hosted Realtime decodes the WAL of the tables in the
 * `supabase_realtime` publication; PGlite has no logical replication, so the local stack puts an
 * AFTER ROW trigger on each of those tables that appends the change to `realtime_local.changes`
 * and wakes the server with `NOTIFY realtime_local`. Changes made by anyone (functions, workers,
 * triggers, wire clients) are captured, and only once their transaction commits are they seen.
 *
 * This schema is local plumbing, never created on hosted projects (where the WAL does this).
 */
import type { Session, SessionHandle } from "../postgres/session.ts";

export const CHANNEL = "realtime_local";

const SETUP = `
create schema if not exists realtime_local;
revoke all on schema realtime_local from public, anon, authenticated, service_role;
create table if not exists realtime_local.changes (
  id bigint generated always as identity primary key,
  schema_name text not null,
  table_name text not null,
  type text not null,
  record jsonb,
  old_record jsonb,
  committed_at timestamptz not null default now()
);
create or replace function realtime_local.capture() returns trigger
language plpgsql security definer set search_path = '' as $$
begin
  insert into realtime_local.changes (schema_name, table_name, type, record, old_record)
  values (
    tg_table_schema,
    tg_table_name,
    tg_op,
    case when tg_op in ('INSERT', 'UPDATE') then to_jsonb(new) end,
    case when tg_op in ('UPDATE', 'DELETE') then to_jsonb(old) end
  );
  perform pg_notify('${CHANNEL}', '');
  return null;
end;
$$;
`;

/** Creates the capture schema and attaches the trigger to every table in the publication. */
export async function installCapture(session: Session): Promise<string[]> {
  return await session.transaction(async (tx) => {
    await tx.exec(SETUP);
    return await attachTriggers(tx);
  }, "realtime:capture");
}

/** Attaches the capture trigger to publication tables that lack it; returns their names. */
export async function attachTriggers(tx: SessionHandle): Promise<string[]> {
  const missing = await tx.query<{ schema: string; table: string }>(
    `select p.schemaname as schema, p.tablename as table
     from pg_publication_tables p
     where p.pubname = 'supabase_realtime'
       and not exists (
         select 1 from pg_trigger t
         join pg_class c on c.oid = t.tgrelid
         join pg_namespace n on n.oid = c.relnamespace
         where t.tgname = 'realtime_local_capture'
           and n.nspname = p.schemaname and c.relname = p.tablename
       )`,
  );
  for (const { schema, table } of missing.rows) {
    const name = `"${schema.replaceAll('"', '""')}"."${table.replaceAll('"', '""')}"`;
    await tx.exec(
      `create trigger realtime_local_capture after insert or update or delete on ${name}
       for each row execute function realtime_local.capture()`,
    );
  }
  return missing.rows.map((r) => `${r.schema}.${r.table}`);
}

export interface Change {
  id: number;
  schema: string;
  table: string;
  type: "INSERT" | "UPDATE" | "DELETE";
  record: Record<string, unknown> | null;
  oldRecord: Record<string, unknown> | null;
  committedAt: string;
}

/** Takes up to `limit` captured changes (oldest first) and removes them from the table. */
export async function takeChanges(session: Session, limit = 500): Promise<Change[]> {
  const result = await session.query<{
    id: number;
    schema_name: string;
    table_name: string;
    type: Change["type"];
    record: Record<string, unknown> | null;
    old_record: Record<string, unknown> | null;
    committed_at: string;
  }>(
    `with taken as (
       delete from realtime_local.changes
       where id in (select id from realtime_local.changes order by id limit $1)
       returning *
     )
     select id, schema_name, table_name, type, record, old_record,
            to_char(committed_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as committed_at
     from taken order by id`,
    [limit],
  );
  return result.rows.map((r) => ({
    id: Number(r.id),
    schema: r.schema_name,
    table: r.table_name,
    type: r.type,
    record: r.record,
    oldRecord: r.old_record,
    committedAt: r.committed_at,
  }));
}
