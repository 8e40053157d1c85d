/**
 * The Data API's schema cache: what PostgREST reads from the catalog at startup and after
 * `NOTIFY pgrst, 'reload schema'`: the tables, views and functions of the exposed schemas, their
 * columns, primary keys and the foreign keys that embedding follows.
 *
 * Loaded once per stack (lazily), reloaded when the gate says the schema may have changed (the
 * NOTIFY, or a relation the cache does not know, which may be new).
 */
import type { SessionHandle } from "../postgres/session.ts";

export interface Column {
  name: string;
  /** `format_type()` of the column, e.g. `text`, `timestamp with time zone`, `halfvec(1536)`. */
  type: string;
  /** True for array types (typcategory A). */
  isArray: boolean;
  nullable: boolean;
  hasDefault: boolean;
  generated: boolean;
}

export interface Relation {
  schema: string;
  name: string;
  kind: "table" | "view";
  columns: Map<string, Column>;
  primaryKey: string[];
}

/** A foreign key from `from.columns` to `to.columns` (single- or multi-column). */
export interface ForeignKey {
  name: string;
  fromSchema: string;
  fromTable: string;
  fromColumns: string[];
  toSchema: string;
  toTable: string;
  toColumns: string[];
}

export interface FunctionArg {
  name: string;
  type: string;
  isArray: boolean;
  hasDefault: boolean;
  /** A row (composite) type, passed as a JSON object. */
  composite: boolean;
  /** For a row type: its relation's key (`schema.name`), for computed relationships. */
  typeKey: string | null;
}

export interface RoutineInfo {
  schema: string;
  name: string;
  args: FunctionArg[];
  /** `format_type()` of the return type. */
  returnType: string;
  returnsSet: boolean;
  /** The relation a function returns rows of (`setof t`, or `table(...)` as a pseudo relation). */
  returnsRows: boolean;
  /** Output columns for `returns table (...)` / `setof <composite>`. */
  columns: Map<string, Column>;
  volatility: "i" | "s" | "v";
  returnsVoid: boolean;
  /** The table or view whose rows it returns (`setof t` / `t`), as `schema.name`. */
  returnRelation: string | null;
  /** The input arguments' type OIDs (PGRST203 lists candidates in their order). */
  argTypeOids: number[];
  /** `setof` declared `rows 1`: a to-one computed relationship, as PostgREST reads it. */
  rowsOne: boolean;
}

export interface SchemaCache {
  schemas: string[];
  relations: Map<string, Relation>;
  foreignKeys: ForeignKey[];
  routines: Map<string, RoutineInfo[]>;
}

export const relationKey = (schema: string, name: string) => `${schema}.${name}`;

export async function loadSchemaCache(
  tx: SessionHandle,
  schemas: readonly string[],
): Promise<SchemaCache> {
  const relations = new Map<string, Relation>();
  const relRows = await tx.query<{ schema: string; name: string; kind: string }>(
    `select n.nspname as schema, c.relname as name, c.relkind::text as kind
     from pg_class c join pg_namespace n on n.oid = c.relnamespace
     where n.nspname = any($1) and c.relkind in ('r', 'v', 'm', 'p', 'f')`,
    [schemas],
  );
  for (const r of relRows.rows) {
    relations.set(relationKey(r.schema, r.name), {
      schema: r.schema,
      name: r.name,
      kind: r.kind === "r" || r.kind === "p" ? "table" : "view",
      columns: new Map(),
      primaryKey: [],
    });
  }

  const colRows = await tx.query<{
    schema: string;
    table: string;
    name: string;
    type: string;
    is_array: boolean;
    nullable: boolean;
    has_default: boolean;
    generated: boolean;
  }>(
    `select n.nspname as schema, c.relname as table, a.attname as name,
            format_type(a.atttypid, a.atttypmod) as type,
            t.typcategory = 'A' as is_array,
            not a.attnotnull as nullable,
            a.atthasdef as has_default,
            a.attgenerated <> '' as generated
     from pg_attribute a
     join pg_class c on c.oid = a.attrelid
     join pg_namespace n on n.oid = c.relnamespace
     join pg_type t on t.oid = a.atttypid
     where n.nspname = any($1) and c.relkind in ('r', 'v', 'm', 'p', 'f')
       and a.attnum > 0 and not a.attisdropped
     order by c.oid, a.attnum`,
    [schemas],
  );
  for (const c of colRows.rows) {
    relations.get(relationKey(c.schema, c.table))?.columns.set(c.name, {
      name: c.name,
      type: c.type,
      isArray: c.is_array,
      nullable: c.nullable,
      hasDefault: c.has_default,
      generated: c.generated,
    });
  }

  const pkRows = await tx.query<{ schema: string; table: string; columns: string[] }>(
    `select n.nspname as schema, c.relname as table,
            array(select a.attname from unnest(con.conkey) with ordinality k(attnum, ord)
                  join pg_attribute a on a.attrelid = con.conrelid and a.attnum = k.attnum
                  order by k.ord)::text[] as columns
     from pg_constraint con
     join pg_class c on c.oid = con.conrelid
     join pg_namespace n on n.oid = c.relnamespace
     where con.contype = 'p' and n.nspname = any($1)`,
    [schemas],
  );
  for (const pk of pkRows.rows) {
    const rel = relations.get(relationKey(pk.schema, pk.table));
    if (rel) rel.primaryKey = pk.columns;
  }

  const fkRows = await tx.query<{
    name: string;
    from_schema: string;
    from_table: string;
    from_columns: string[];
    to_schema: string;
    to_table: string;
    to_columns: string[];
  }>(
    `select con.conname as name,
            fn.nspname as from_schema, fc.relname as from_table,
            array(select a.attname from unnest(con.conkey) with ordinality k(attnum, ord)
                  join pg_attribute a on a.attrelid = con.conrelid and a.attnum = k.attnum
                  order by k.ord)::text[] as from_columns,
            tn.nspname as to_schema, tc.relname as to_table,
            array(select a.attname from unnest(con.confkey) with ordinality k(attnum, ord)
                  join pg_attribute a on a.attrelid = con.confrelid and a.attnum = k.attnum
                  order by k.ord)::text[] as to_columns
     from pg_constraint con
     join pg_class fc on fc.oid = con.conrelid
     join pg_namespace fn on fn.oid = fc.relnamespace
     join pg_class tc on tc.oid = con.confrelid
     join pg_namespace tn on tn.oid = tc.relnamespace
     where con.contype = 'f' and fn.nspname = any($1) and tn.nspname = any($1)`,
    [schemas],
  );
  const foreignKeys = fkRows.rows.map((fk) => ({
    name: fk.name,
    fromSchema: fk.from_schema,
    fromTable: fk.from_table,
    fromColumns: fk.from_columns,
    toSchema: fk.to_schema,
    toTable: fk.to_table,
    toColumns: fk.to_columns,
  }));

  const routines = new Map<string, RoutineInfo[]>();
  const fnRows = await tx.query<{
    schema: string;
    name: string;
    arg_names: string[] | null;
    arg_types: string[];
    arg_is_array: boolean[];
    arg_composite: boolean[];
    arg_type_keys: Array<string | null>;
    arg_modes: string[] | null;
    n_defaults: number;
    return_type: string;
    returns_set: boolean;
    volatility: "i" | "s" | "v";
    return_typtype: string;
    return_relid: number;
    return_relation: string | null;
    arg_oids: number[];
    rows_one: boolean;
    out_names: string[] | null;
    out_types: string[] | null;
  }>(
    `select n.nspname as schema, p.proname as name,
            p.proargnames as arg_names,
            array(select format_type(t, null) from unnest(coalesce(p.proallargtypes, p.proargtypes::oid[])) t)::text[] as arg_types,
            array(select ty.typcategory = 'A' from unnest(coalesce(p.proallargtypes, p.proargtypes::oid[])) with ordinality u(t, o) join pg_type ty on ty.oid = u.t order by u.o)::boolean[] as arg_is_array,
            array(select case when ty.typtype = 'c' then tn.nspname || '.' || ty.typname end from unnest(coalesce(p.proallargtypes, p.proargtypes::oid[])) with ordinality u(t, o) join pg_type ty on ty.oid = u.t join pg_namespace tn on tn.oid = ty.typnamespace order by u.o)::text[] as arg_type_keys,
            array(select ty.typtype = 'c' from unnest(coalesce(p.proallargtypes, p.proargtypes::oid[])) with ordinality u(t, o) join pg_type ty on ty.oid = u.t order by u.o)::boolean[] as arg_composite,
            p.proargmodes::text[] as arg_modes,
            p.pronargdefaults::int as n_defaults,
            p.proargtypes::oid[]::int8[] as arg_oids,
            p.prorows = 1 as rows_one,
            format_type(p.prorettype, null) as return_type,
            p.proretset as returns_set,
            p.provolatile::text as volatility,
            rt.typtype::text as return_typtype,
            rt.typrelid::int as return_relid,
            (select rn.nspname || '.' || rc.relname from pg_class rc
               join pg_namespace rn on rn.oid = rc.relnamespace
              where rc.oid = rt.typrelid) as return_relation,
            null::text[] as out_names,
            null::text[] as out_types
     from pg_proc p
     join pg_namespace n on n.oid = p.pronamespace
     join pg_type rt on rt.oid = p.prorettype
     where n.nspname = any($1) and p.prokind = 'f'`,
    [schemas],
  );
  const compositeColumns = async (relid: number) => {
    const rows = await tx.query<{ name: string; type: string; is_array: boolean }>(
      `select a.attname as name, format_type(a.atttypid, a.atttypmod) as type,
              t.typcategory = 'A' as is_array
       from pg_attribute a join pg_type t on t.oid = a.atttypid
       where a.attrelid = $1 and a.attnum > 0 and not a.attisdropped order by a.attnum`,
      [relid],
    );
    return new Map(rows.rows.map((r) => [r.name, column(r.name, r.type, r.is_array)]));
  };
  for (const f of fnRows.rows) {
    const modes = f.arg_modes ?? f.arg_types.map(() => "i");
    const names = f.arg_names ?? [];
    const inputs: FunctionArg[] = [];
    const outputs = new Map<string, Column>();
    f.arg_types.forEach((type, i) => {
      const mode = modes[i] ?? "i";
      const name = names[i] ?? "";
      const isArray = f.arg_is_array[i] ?? false;
      if (mode === "i" || mode === "b" || mode === "v") {
        inputs.push({
          name,
          type,
          isArray,
          hasDefault: false,
          composite: f.arg_composite[i] ?? false,
          typeKey: f.arg_type_keys[i] ?? null,
        });
      }
      if (mode === "o" || mode === "b" || mode === "t") {
        outputs.set(name, column(name, type, isArray));
      }
    });
    for (let i = inputs.length - f.n_defaults; i < inputs.length; i++) {
      const arg = inputs[i];
      if (arg) arg.hasDefault = true;
    }
    // As PostgREST's schema cache: a function with an unnamed parameter is callable only when
    // that is its single parameter and of type json, jsonb, text, xml or bytea.
    if (
      inputs.some((a) => a.name === "") &&
      !(inputs.length === 1 && ["json", "jsonb", "text", "xml", "bytea"].includes(inputs[0]!.type))
    ) continue;
    let columns = outputs;
    if (columns.size === 0 && f.return_typtype === "c" && f.return_relid) {
      columns = await compositeColumns(f.return_relid);
    }
    const info: RoutineInfo = {
      schema: f.schema,
      name: f.name,
      args: inputs,
      returnType: f.return_type,
      returnsSet: f.returns_set,
      returnsRows: columns.size > 0 &&
        (f.returns_set || f.return_typtype === "c" || outputs.size > 1),
      columns,
      volatility: f.volatility,
      returnsVoid: f.return_type === "void",
      returnRelation: f.return_relation,
      argTypeOids: (f.arg_oids ?? []).map(Number),
      rowsOne: f.rows_one,
    };
    const key = relationKey(f.schema, f.name);
    routines.set(key, [...(routines.get(key) ?? []), info]);
  }

  return { schemas: [...schemas], relations, foreignKeys, routines };
}

function column(name: string, type: string, isArray: boolean): Column {
  return { name, type, isArray, nullable: true, hasDefault: false, generated: false };
}
