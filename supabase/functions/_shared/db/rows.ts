/**
 * Row types of the public tables, from the generated database types (`../database.types.ts`,
 * `deno task gen:types`), for typing what `tx.query<...>()` selects: a column that is renamed,
 * dropped or retyped by a migration then fails type checking where the code reads it.
 *
 *   tx.query<Columns<"messages", "seq" | "role" | "content">>(
 *     "select seq, role, content from public.messages where ...",
 *   );
 *
 * The generated types describe rows as PostgREST sends them (JSON); the drivers here return
 * timestamptz columns as `Date`. Type selected timestamps as `Date | string` yourself, not from
 * these types. (int8 is a number in both drivers, as the generated types say.)
 */
import type { Database } from "../database.types.ts";

/** The tables of the public schema. */
export type TableName = keyof Database["public"]["Tables"];

/** A whole row of a public table. */
export type TableRow<T extends TableName> = Database["public"]["Tables"][T]["Row"];

/** What an insert into a public table takes (columns with defaults optional). */
export type TableInsert<T extends TableName> = Database["public"]["Tables"][T]["Insert"];

/** Some columns of a public table's row: what a `select <columns> from <table>` returns. */
export type Columns<T extends TableName, K extends keyof TableRow<T>> = Pick<TableRow<T>, K>;
