/**
 * SQL for Data API requests, built from a parsed query and the schema cache. Every identifier is
 * quoted, every value from the request is a bind parameter ($n); only JSON keys, text search
 * configurations and casts (checked by pattern) are spelled into the text, as literals.
 *
 * Reads are shaped as PostgREST shapes them: the root relation aliased `t0`, embedded resources
 * as correlated subqueries (`json_agg` for to-many, `row_to_json` for to-one), `!inner` as an
 * EXISTS on the parent, spreads as scalar subqueries, and the whole result folded into one JSON
 * text by Postgres, so types serialise as PostgREST serialises them.
 */
import { RestError } from "./errors.ts";
import type {
  Condition,
  Field,
  Filter,
  Level,
  OrderTerm,
  ParsedQuery,
  SelectItem,
} from "./parse.ts";
import { splitTopLevel } from "./parse.ts";
import {
  type Column,
  type ForeignKey,
  type Relation,
  relationKey,
  type SchemaCache,
} from "./schema-cache.ts";

export const ident = (name: string) => `"${name.replaceAll('"', '""')}"`;
const literal = (text: string) => `'${text.replaceAll("'", "''")}'`;

export class Params {
  readonly values: unknown[] = [];
  add(value: unknown): string {
    this.values.push(value);
    return `$${this.values.length}`;
  }
}

export interface BuildContext {
  cache: SchemaCache;
  schema: string;
  params: Params;
  levels: ParsedQuery["levels"];
  /** An embed's alias as PostgREST names it (`messages_1`): Postgres's errors quote it. */
  nextAlias: (name: string) => string;
  aggregates: boolean;
}

export function newContext(cache: SchemaCache, schema: string, query: ParsedQuery): BuildContext {
  let n = 0;
  return {
    cache,
    schema,
    params: new Params(),
    levels: query.levels,
    nextAlias: (name: string) => `${name}_${++n}`,
    aggregates: query.aggregatesEnabled === true,
  };
}

export function relationOf(cache: SchemaCache, schema: string, name: string): Relation {
  const rel = cache.relations.get(relationKey(schema, name));
  if (!rel) throw RestError.tableNotFound(schema, name);
  return rel;
}

/** A relation seen from a query: its cache entry (or the columns a function returns) and alias. */
export interface Source {
  /** The SQL the alias ranges over, e.g. `"public"."agents"`. */
  from: string;
  alias: string;
  name: string;
  schema: string;
  columns: Map<string, Column> | null;
}

export function sourceOf(rel: Relation, alias: string): Source {
  return {
    from: `${ident(rel.schema)}.${ident(rel.name)}`,
    alias,
    name: rel.name,
    schema: rel.schema,
    columns: rel.columns,
  };
}

// ---------------------------------------------------------------------------------------------
// Select lists

interface Embedding {
  item: Extract<SelectItem, { kind: "embed" }>;
  target: Relation;
  /** Join condition between parent alias and target alias. */
  on: (parent: string, child: string) => string;
  toMany: boolean;
  /** A computed relationship's rows: the function called with the parent row. */
  from?: (parent: string) => string;
}

/** The select list of one level, as `expr as "key"` items. */
export function selectList(
  ctx: BuildContext,
  source: Source,
  items: readonly SelectItem[],
  path: string,
): string[] {
  const out: string[] = [];
  for (const item of items) {
    if (item.kind === "star") {
      out.push(`${ident(source.alias)}.*`);
      continue;
    }
    if (item.kind === "aggregate") {
      if (!ctx.aggregates) throw RestError.aggregatesDisabled();
      const key = item.alias ?? item.fn;
      let expr = item.field ? `${item.fn}(${columnSql(ctx, source, item.field)})` : "count(*)";
      if (item.cast) expr = `(${expr})::${item.cast}`;
      out.push(`${expr} as ${ident(key)}`);
      continue;
    }
    if (item.kind === "column") {
      const key = item.alias ?? outputName(item.field);
      let expr = columnSql(ctx, source, item.field);
      if (item.cast) expr = `(${expr})::${item.cast}`;
      out.push(`${expr} as ${ident(key)}`);
      continue;
    }
    const embedding = resolveEmbedding(ctx, source, item);
    // `rel()`: embedded for filtering only (`!inner`, `rel=not.is.null`), left out of the output.
    if (item.select.length === 0 && !item.spread) continue;
    const childPath = path ? `${path}.${item.alias ?? item.relation}` : item.alias ?? item.relation;
    const child = ctx.nextAlias(item.relation);
    const target = embeddedSource(embedding, source.alias, child);
    const level = ctx.levels.get(childPath) ?? ctx.levels.get(joinPath(path, item.relation));
    const where = [
      embedding.on(source.alias, child),
      ...levelFilters(ctx, target, level, childPath),
    ];
    const innerItems = item.select.length ? item.select : [{ kind: "star" } as SelectItem];
    if (item.spread) {
      // `...rel(cols)`: the columns lifted into the parent; `*` is every column of the target.
      // A to-many spread gives each column as an array (PostgREST 13), in the level's order.
      const columns = innerItems.flatMap(
        (col): Array<{ field: Field; key: string; cast?: string }> => {
          if (col.kind === "star") {
            return [...embedding.target.columns.keys()].map((name) => ({
              field: { name, path: [] },
              key: name,
            }));
          }
          if (col.kind !== "column") {
            throw RestError.parse(
              `"failed to parse select parameter"`,
              "Spreads take columns only",
            );
          }
          return [{
            field: col.field,
            key: col.alias ?? outputName(col.field),
            ...(col.cast ? { cast: col.cast } : {}),
          }];
        },
      );
      const order = embedding.toMany ? orderSql(ctx, target, level?.order ?? []) : "";
      const range = embedding.toMany ? rangeSql(level) : "";
      for (const col of columns) {
        let expr = columnSql(ctx, target, col.field);
        if (col.cast) expr = `(${expr})::${col.cast}`;
        const rows = `select ${expr} as v from ${target.from} as ${ident(child)} where ${
          where.join(" and ")
        }`;
        out.push(
          embedding.toMany
            ? `coalesce((select json_agg(_s.v) from (${rows}${order}${range}) _s), '[]'::json) as ${
              ident(col.key)
            }`
            : `(${rows} limit 1) as ${ident(col.key)}`,
        );
      }
      continue;
    }
    const list = selectList(ctx, target, innerItems, childPath).join(", ");
    const key = item.alias ?? item.relation;
    const group = groupBySql(target, innerItems);
    if (embedding.toMany) {
      const order = orderSql(ctx, target, level?.order ?? []);
      const range = rangeSql(level);
      out.push(
        `coalesce((select json_agg(_e) from (select ${list} from ${target.from} as ${
          ident(child)
        } where ${where.join(" and ")}${group}${order}${range}) _e), '[]'::json) as ${ident(key)}`,
      );
    } else {
      out.push(
        `(select row_to_json(_e) from (select ${list} from ${target.from} as ${
          ident(child)
        } where ${where.join(" and ")}${group} limit 1) _e) as ${ident(key)}`,
      );
    }
  }
  return out;
}

const joinPath = (path: string, name: string) => (path ? `${path}.${name}` : name);

/** EXISTS conditions the parent needs for its `!inner` embeds (and `rel=not.is.null`). */
export function innerJoinFilters(
  ctx: BuildContext,
  source: Source,
  items: readonly SelectItem[],
  path: string,
  nullFilters: Map<string, boolean>,
): string[] {
  const out: string[] = [];
  for (const item of items) {
    if (item.kind !== "embed") continue;
    const name = item.alias ?? item.relation;
    const wantsNotNull = nullFilters.get(name);
    if (item.joinType !== "inner" && wantsNotNull === undefined) continue;
    const embedding = resolveEmbedding(ctx, source, item);
    const childPath = joinPath(path, name);
    const child = ctx.nextAlias(item.relation);
    const target = embeddedSource(embedding, source.alias, child);
    const level = ctx.levels.get(childPath);
    const where = [
      embedding.on(source.alias, child),
      ...levelFilters(ctx, target, level, childPath),
    ];
    where.push(...innerJoinFilters(ctx, target, item.select, childPath, new Map()));
    const exists = `exists (select 1 from ${target.from} as ${ident(child)} where ${
      where.join(" and ")
    })`;
    out.push(wantsNotNull === false ? `not ${exists}` : exists);
  }
  return out;
}

function resolveEmbedding(
  ctx: BuildContext,
  source: Source,
  item: Extract<SelectItem, { kind: "embed" }>,
): Embedding {
  const parentKey = relationKey(source.schema, source.name);
  const targetRel = ctx.cache.relations.get(relationKey(ctx.schema, item.relation));
  type Candidate = { fk: ForeignKey; forward: boolean; toMany: boolean; target: Relation };
  let candidates: Candidate[] = [];
  for (const fk of ctx.cache.foreignKeys) {
    const from = relationKey(fk.fromSchema, fk.fromTable);
    const to = relationKey(fk.toSchema, fk.toTable);
    const self = from === to;
    // many-to-one: the parent holds the key; embedded by table name or by the FK column name.
    // A self-reference by table name is only its one-to-many side (as PostgREST has it).
    if (from === parentKey) {
      const target = ctx.cache.relations.get(to);
      const byColumn = fk.fromColumns.length === 1 && fk.fromColumns[0] === item.relation;
      if (target && ((fk.toTable === item.relation && !self) || byColumn)) {
        candidates.push({ fk, forward: true, toMany: false, target });
      }
    }
    // one-to-many (or one-to-one): the child holds the key.
    if (to === parentKey && targetRel && from === relationKey(targetRel.schema, targetRel.name)) {
      candidates.push({ fk, forward: false, toMany: isToMany(fk, targetRel), target: targetRel });
    }
    // Embedding by the constraint's name: `users?select=best_friends_first_user_fkey(*)`.
    if (fk.name === item.relation && !targetRel) {
      if (from === parentKey && !self) {
        const target = ctx.cache.relations.get(to);
        if (target) candidates.push({ fk, forward: true, toMany: false, target });
      } else if (to === parentKey) {
        const child = ctx.cache.relations.get(from);
        if (child) {
          candidates.push({ fk, forward: false, toMany: isToMany(fk, child), target: child });
        }
      }
    }
  }
  if (item.hint) {
    const hint = item.hint;
    candidates = candidates.filter(({ fk, forward }) =>
      // A self-reference is hinted by its column only, never by the constraint's name.
      (fk.name === hint && !(fk.fromTable === fk.toTable && fk.fromSchema === fk.toSchema)) ||
      fk.fromColumns.includes(hint) ||
      (forward && fk.toColumns.includes(hint))
    );
  }
  if (candidates.length === 0) {
    const computed = computedRelationship(ctx, source, item);
    if (computed) return computed;
    throw RestError.noRelationship(source.name, item.relation, ctx.schema, item.hint);
  }
  if (candidates.length > 1) {
    throw RestError.ambiguousRelationship(
      source.name,
      item.relation,
      candidates.map(({ fk, forward, toMany }) => {
        const parent = `${source.name}(${(forward ? fk.fromColumns : fk.toColumns).join(", ")})`;
        const child = `${item.relation}(${(forward ? fk.toColumns : fk.fromColumns).join(", ")})`;
        return {
          cardinality: forward ? "many-to-one" : toMany ? "one-to-many" : "one-to-one",
          embedding: `${source.name} with ${item.relation}`,
          relationship: `${fk.name} using ${parent} and ${child}`,
          name: fk.name,
        };
      }),
    );
  }
  const { fk, forward, toMany, target } = candidates[0]!;
  return {
    item,
    target,
    toMany,
    on: (parent, child) =>
      fk.fromColumns.map((c, i) => {
        const to = fk.toColumns[i]!;
        return forward
          ? `${ident(child)}.${ident(to)} = ${ident(parent)}.${ident(c)}`
          : `${ident(child)}.${ident(c)} = ${ident(parent)}.${ident(to)}`;
      }).join(" and "),
  };
}

/**
 * A computed relationship: a function of the exposed schema named like the embed, taking the
 * parent's row type as its single argument and returning rows of a table or view (`setof t` is
 * to-many, `t` to-one). Called with the parent row; the caller's EXECUTE and the target's
 * SELECT privileges still apply, as in any query.
 */
function computedRelationship(
  ctx: BuildContext,
  source: Source,
  item: Extract<SelectItem, { kind: "embed" }>,
): Embedding | null {
  if (source.from !== `${ident(source.schema)}.${ident(source.name)}`) return null;
  const parentKey = relationKey(source.schema, source.name);
  const fns = (ctx.cache.routines.get(relationKey(ctx.schema, item.relation)) ?? []).filter((f) =>
    f.args.length === 1 && f.args[0]!.typeKey === parentKey && f.returnRelation !== null &&
    ctx.cache.relations.has(f.returnRelation)
  );
  if (fns.length !== 1) return null;
  const fn = fns[0]!;
  return {
    item,
    target: ctx.cache.relations.get(fn.returnRelation!)!,
    toMany: fn.returnsSet && !fn.rowsOne,
    on: () => "true",
    from: (parent) => `${ident(fn.schema)}.${ident(fn.name)}(${ident(parent)})`,
  };
}

/** The source an embedding's rows come from, aliased `child`. */
function embeddedSource(embedding: Embedding, parent: string, child: string): Source {
  const target = sourceOf(embedding.target, child);
  return embedding.from ? { ...target, from: embedding.from(parent) } : target;
}

/** A child whose FK columns are also its primary key (or unique) is one-to-one; else to-many. */
function isToMany(fk: ForeignKey, child: Relation): boolean {
  const pk = child.primaryKey;
  return !(pk.length === fk.fromColumns.length && pk.every((c) => fk.fromColumns.includes(c)));
}

/**
 * ` group by ...` when a level's select list has aggregates: the other selected columns, as
 * PostgREST groups them (`*` groups by every column).
 */
export function groupBySql(source: Source, items: readonly SelectItem[]): string {
  if (!items.some((i) => i.kind === "aggregate")) return "";
  const keys: string[] = [];
  for (const item of items) {
    if (item.kind === "column") keys.push(fieldSql(source.alias, item.field));
    if (item.kind === "star") {
      for (const name of source.columns?.keys() ?? []) {
        keys.push(`${ident(source.alias)}.${ident(name)}`);
      }
    }
  }
  return keys.length ? ` group by ${keys.join(", ")}` : "";
}

export function outputName(field: Field): string {
  return field.path.length ? field.path[field.path.length - 1]!.key : field.name;
}

/**
 * A column of the source, or a computed field: a function of the exposed schema taking the
 * source's row type as its single argument and returning a scalar (PostgREST's computed columns).
 */
export function columnSql(ctx: BuildContext, source: Source, field: Field): string {
  const computed = source.columns && !source.columns.has(field.name)
    ? computedField(ctx, source, field.name)
    : null;
  if (!computed) return fieldSql(source.alias, field);
  let sql = `${computed.sql}`;
  for (const step of field.path) {
    const key = /^-?\d+$/.test(step.key) ? step.key : literal(step.key);
    sql = `${sql}${step.op}${key}`;
  }
  return sql;
}

function computedField(
  ctx: BuildContext,
  source: Source,
  name: string,
): { sql: string; type: string } | null {
  if (source.from !== `${ident(source.schema)}.${ident(source.name)}`) return null;
  const key = relationKey(source.schema, source.name);
  const fns = (ctx.cache.routines.get(relationKey(ctx.schema, name)) ?? []).filter((f) =>
    f.args.length === 1 && f.args[0]!.typeKey === key && !f.returnsRows && !f.returnsSet &&
    !f.returnsVoid
  );
  if (fns.length !== 1) return null;
  const fn = fns[0]!;
  return {
    sql: `${ident(fn.schema)}.${ident(fn.name)}(${ident(source.alias)})`,
    type: fn.returnType,
  };
}

export function fieldSql(alias: string, field: Field): string {
  let sql = `${ident(alias)}.${ident(field.name)}`;
  for (const step of field.path) {
    const key = /^-?\d+$/.test(step.key) ? step.key : literal(step.key);
    sql = `${sql}${step.op}${key}`;
  }
  return sql;
}

// ---------------------------------------------------------------------------------------------
// Filters

export function levelFilters(
  ctx: BuildContext,
  source: Source,
  level: Level | undefined,
  _path: string,
): string[] {
  return (level?.filters ?? []).map((f) => filterSql(ctx, source, f));
}

export function filterSql(ctx: BuildContext, source: Source, filter: Filter): string {
  if (filter.kind === "logic") {
    if (filter.children.length === 0) return "true";
    const body = filter.children.map((c) => `(${filterSql(ctx, source, c)})`).join(
      ` ${filter.op} `,
    );
    return filter.negated ? `not (${body})` : `(${body})`;
  }
  const sql = conditionSql(ctx, source, filter);
  return filter.negated ? `not (${sql})` : sql;
}

const COMPARE: Record<string, string> = {
  eq: "=",
  neq: "<>",
  gt: ">",
  gte: ">=",
  lt: "<",
  lte: "<=",
  like: "like",
  ilike: "ilike",
  match: "~",
  imatch: "~*",
};

const RANGE_OPS: Record<string, string> = {
  cs: "@>",
  cd: "<@",
  ov: "&&",
  sl: "<<",
  sr: ">>",
  // nxr: does not extend to the right of (&<); nxl: does not extend to the left of (&>).
  nxr: "&<",
  nxl: "&>",
  adj: "-|-",
};

const FTS: Record<string, string> = {
  fts: "to_tsquery",
  plfts: "plainto_tsquery",
  phfts: "phraseto_tsquery",
  wfts: "websearch_to_tsquery",
};

function columnType(
  ctx: BuildContext,
  source: Source,
  field: Field,
): { type: string; isArray: boolean } | null {
  if (field.path.length) {
    const last = field.path[field.path.length - 1]!;
    return last.op === "->>" ? { type: "text", isArray: false } : { type: "jsonb", isArray: false };
  }
  const col = source.columns?.get(field.name);
  if (source.columns && !col) {
    const computed = computedField(ctx, source, field.name);
    if (computed) return { type: computed.type, isArray: computed.type.endsWith("[]") };
    throw RestError.of(
      400,
      "42703",
      `column ${source.name}.${field.name} does not exist`,
    );
  }
  return col ? { type: col.type, isArray: col.isArray } : null;
}

function conditionSql(ctx: BuildContext, source: Source, c: Condition): string {
  const typed = columnType(ctx, source, c.field);
  let lhs = columnSql(ctx, source, c.field);
  if (c.field.path.length && c.field.path[c.field.path.length - 1]!.op === "->") {
    lhs = `(${lhs})::jsonb`;
  }
  const type = typed?.type;
  const cast = (p: string) => (type ? `${p}::${type}` : p);

  if (c.op in COMPARE) {
    const op = COMPARE[c.op]!;
    const textual = ["like", "ilike", "match", "imatch"].includes(c.op);
    const value = textual && c.op.endsWith("like") ? c.value.replaceAll("*", "%") : c.value;
    const left = textual ? `(${lhs})::text` : lhs;
    if (c.modifier === "any" || c.modifier === "all") {
      const items = parseArrayValue(c.value).map((v) =>
        textual && c.op.endsWith("like") ? v.replaceAll("*", "%") : v
      );
      const elementType = textual ? "text" : type && !typed?.isArray ? type : "text";
      const l = elementType === "text" && !textual ? `(${lhs})::text` : left;
      return `${l} ${op} ${c.modifier}(${ctx.params.add(toArrayLiteral(items))}::${elementType}[])`;
    }
    return `${left} ${op} ${textual ? ctx.params.add(value) : cast(ctx.params.add(value))}`;
  }
  switch (c.op) {
    case "in": {
      const v = c.value.trim();
      if (!v.startsWith("(") || !v.endsWith(")")) {
        throw RestError.parse(
          `"failed to parse filter (in.${c.value})" (line 1, column 4)`,
          'unexpected end of input expecting "("',
        );
      }
      const items = splitTopLevel(v.slice(1, -1)).map(unquoteItem);
      if (items.length === 0) return "false";
      const elementType = type && !typed?.isArray ? type : "text";
      const l = elementType === "text" && type && type !== "text" ? `(${lhs})::text` : lhs;
      return `${l} = any(${ctx.params.add(toArrayLiteral(items))}::${elementType}[])`;
    }
    case "is": {
      const v = c.value.toLowerCase();
      if (v === "null") return `${lhs} is null`;
      if (v === "not_null") return `${lhs} is not null`;
      if (v === "true") return `${lhs} is true`;
      if (v === "false") return `${lhs} is false`;
      if (v === "unknown") return `${lhs} is unknown`;
      throw RestError.parse(
        `"failed to parse filter (is.${c.value})" (line 1, column 4)`,
        'unexpected "' + c.value + '" expecting null or trilean value (unknown, true, false)',
      );
    }
    case "isdistinct":
      return `${lhs} is distinct from ${cast(ctx.params.add(c.value))}`;
    case "cs":
    case "cd":
    case "ov":
    case "sl":
    case "sr":
    case "nxl":
    case "nxr":
    case "adj": {
      let value = c.value;
      // PostgREST accepts ov with a parenthesised list for arrays: ov.(a,b) -> {a,b}
      if (typed?.isArray && value.startsWith("(") && value.endsWith(")")) {
        value = `{${value.slice(1, -1)}}`;
      }
      return `${lhs} ${RANGE_OPS[c.op]} ${cast(ctx.params.add(value))}`;
    }
    case "fts":
    case "plfts":
    case "phfts":
    case "wfts": {
      const config = c.modifier;
      if (config !== undefined && !/^[a-z_][a-z0-9_.]*$/i.test(config)) {
        throw RestError.parse(`"failed to parse filter (${c.op}(${config}))"`, "Invalid config");
      }
      const cfg = config ? `${literal(config)}::regconfig, ` : "";
      const doc = type === "tsvector" ? lhs : `to_tsvector(${cfg}(${lhs})::text)`;
      return `${doc} @@ ${FTS[c.op]}(${cfg}${ctx.params.add(c.value)})`;
    }
  }
  throw RestError.parse(`"failed to parse filter (${c.op})"`, "Unknown operator");
}

function unquoteItem(text: string): string {
  const t = text.trim();
  return t.startsWith('"') && t.endsWith('"') && t.length >= 2
    ? t.slice(1, -1).replace(/\\(.)/g, "$1")
    : t;
}

/** `{a,b}` or `(a,b)` -> items. */
function parseArrayValue(value: string): string[] {
  const v = value.trim();
  if ((v.startsWith("{") && v.endsWith("}")) || (v.startsWith("(") && v.endsWith(")"))) {
    return splitTopLevel(v.slice(1, -1)).map(unquoteItem);
  }
  throw RestError.parse(`"failed to parse filter (${value})"`, "Expected {a,b} for (any)/(all)");
}

/** A Postgres array literal with every element quoted. */
export function toArrayLiteral(items: readonly (string | null)[]): string {
  return `{${
    items.map((i) =>
      i === null || i === "null" ? "NULL" : `"${i.replaceAll("\\", "\\\\").replaceAll('"', '\\"')}"`
    ).join(",")
  }}`;
}

// ---------------------------------------------------------------------------------------------
// Order and range

export function orderSql(ctx: BuildContext, source: Source, order: readonly OrderTerm[]): string {
  if (!order.length) return "";
  const terms = order.map((o) => {
    let expr: string;
    if (o.relation) {
      const item = {
        kind: "embed",
        relation: o.relation,
        joinType: "left",
        spread: false,
        select: [],
      } as const;
      const embedding = resolveEmbedding(ctx, source, { ...item, select: [] });
      if (embedding.toMany) {
        throw RestError.of(
          400,
          "PGRST118",
          `A related order on '${o.relation}' is not possible`,
          `'${source.name}' and '${o.relation}' do not form a many-to-one or one-to-one relationship`,
        );
      }
      const child = ctx.nextAlias(o.relation);
      const target = embeddedSource(embedding, source.alias, child);
      expr = `(select ${fieldSql(child, o.field)} from ${target.from} as ${ident(child)} where ${
        embedding.on(source.alias, child)
      })`;
    } else {
      columnType(ctx, source, o.field);
      expr = columnSql(ctx, source, o.field);
    }
    const dir = o.direction ? ` ${o.direction}` : "";
    const nulls = o.nulls ? ` nulls ${o.nulls}` : "";
    return `${expr}${dir}${nulls}`;
  });
  return ` order by ${terms.join(", ")}`;
}

export function rangeSql(level: Pick<Level, "limit" | "offset"> | undefined): string {
  let sql = "";
  if (level?.limit !== undefined) sql += ` limit ${level.limit}`;
  if (level?.offset !== undefined) sql += ` offset ${level.offset}`;
  return sql;
}

/** Top-level filters of the form `rel=is.null` / `rel=not.is.null` on an embedded resource. */
export function splitNullEmbedFilters(
  filters: Filter[],
  select: readonly SelectItem[],
): { rest: Filter[]; nulls: Map<string, boolean> } {
  const embedNames = new Set(
    select.filter((s) => s.kind === "embed").map((s) =>
      (s as Extract<SelectItem, { kind: "embed" }>).alias ??
        (s as Extract<SelectItem, { kind: "embed" }>).relation
    ),
  );
  const nulls = new Map<string, boolean>();
  const rest: Filter[] = [];
  for (const f of filters) {
    if (
      f.kind === "condition" && f.op === "is" && f.field.path.length === 0 &&
      embedNames.has(f.field.name) && ["null", "not_null"].includes(f.value)
    ) {
      // `rel=not.is.null` / `rel=is.not_null`: has a match; `rel=is.null`: has none.
      nulls.set(f.field.name, f.value === "null" ? f.negated : !f.negated);
    } else rest.push(f);
  }
  return { rest, nulls };
}
