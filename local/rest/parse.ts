/**
 * PostgREST's query language, parsed: `select` (columns, aliases, casts, JSON paths, embedded
 * resources with hints, `!inner`, spreads), horizontal filters (`col=op.value`, `not.`, operator
 * modifiers `(any)`/`(all)`, full-text `fts(config)`), logic trees (`or=(...)`, `and=(...)`,
 * nested), `order`, `limit` and `offset`, each at the top level or for an embedded resource
 * (`rel.col=...`, `rel.order=...`).
 *
 * No npm package parses this grammar soundly (see the README's design notes); it is small and
 * specified by PostgREST's docs, so it is written here. Every failure is a PGRST100 (400) with
 * the offending text, never an exception the gateway would turn into a 500.
 */
import { RestError } from "./errors.ts";

export interface Field {
  name: string;
  /** JSON path steps: `->` keeps json, `->>` gives text (only the last may be `->>`). */
  path: Array<{ op: "->" | "->>"; key: string }>;
}

export type SelectItem =
  | { kind: "star" }
  | { kind: "column"; field: Field; alias?: string; cast?: string }
  /** `count()`, `col.sum()`, `col.avg()`, `col.max()`, `col.min()`, `col.count()`. */
  | { kind: "aggregate"; fn: AggregateFn; field?: Field; alias?: string; cast?: string }
  | {
    kind: "embed";
    relation: string;
    alias?: string;
    hint?: string;
    joinType: "left" | "inner";
    spread: boolean;
    select: SelectItem[];
  };

export type AggregateFn = "count" | "sum" | "avg" | "max" | "min";

export type FilterOp =
  | "eq"
  | "neq"
  | "gt"
  | "gte"
  | "lt"
  | "lte"
  | "like"
  | "ilike"
  | "match"
  | "imatch"
  | "in"
  | "is"
  | "isdistinct"
  | "cs"
  | "cd"
  | "ov"
  | "sl"
  | "sr"
  | "nxl"
  | "nxr"
  | "adj"
  | "fts"
  | "plfts"
  | "phfts"
  | "wfts";

const OPS = new Set<string>([
  "eq",
  "neq",
  "gt",
  "gte",
  "lt",
  "lte",
  "like",
  "ilike",
  "match",
  "imatch",
  "in",
  "is",
  "isdistinct",
  "cs",
  "cd",
  "ov",
  "sl",
  "sr",
  "nxl",
  "nxr",
  "adj",
  "fts",
  "plfts",
  "phfts",
  "wfts",
]);

export interface Condition {
  kind: "condition";
  field: Field;
  negated: boolean;
  op: FilterOp;
  /** `(any)` / `(all)` on eq, like, ilike, gt... ; or the text search configuration for fts. */
  modifier?: string;
  value: string;
}

export interface LogicTree {
  kind: "logic";
  op: "and" | "or";
  negated: boolean;
  children: Array<Condition | LogicTree>;
}

export type Filter = Condition | LogicTree;

export interface OrderTerm {
  /** An embedded (to-one) resource the term orders by, `rel(col)`. */
  relation?: string;
  field: Field;
  direction?: "asc" | "desc";
  nulls?: "first" | "last";
}

/** The filters, order and range of one level (the root or an embedded resource). */
export interface Level {
  filters: Filter[];
  order: OrderTerm[];
  limit?: number;
  offset?: number;
}

export interface ParsedQuery {
  select: SelectItem[];
  /** By embedding path: "" is the root, "rel" and "rel.sub" are embedded resources. */
  levels: Map<string, Level>;
  /** Query parameters that are not part of the language (RPC arguments, `columns`, ...). */
  other: Map<string, string>;
  /** Set by the app: the authenticator's `pgrst.db_aggregates_enabled` (off: PGRST123). */
  aggregatesEnabled?: boolean;
}

/** Whether a select list (at any depth) uses an aggregate. */
export function usesAggregates(items: readonly SelectItem[]): boolean {
  return items.some((i) =>
    i.kind === "aggregate" || (i.kind === "embed" && usesAggregates(i.select))
  );
}

/** Nesting bounds: deep embeds or logic trees would only exhaust Postgres's stack. */
const MAX_EMBED_DEPTH = 8;
const MAX_TREE_DEPTH = 16;

const RESERVED = new Set(["select", "order", "limit", "offset", "columns", "on_conflict"]);

/** Parses a Data API query string. `argNames` are an RPC's GET arguments, kept out of filters. */
export function parseQuery(params: URLSearchParams, argNames: ReadonlySet<string> = new Set()) {
  const levels = new Map<string, Level>();
  const level = (path: string) => {
    let l = levels.get(path);
    if (!l) levels.set(path, l = { filters: [], order: [] });
    return l;
  };
  level("");
  const other = new Map<string, string>();
  const selectText = params.get("select");
  const select = selectText === null || selectText.trim() === ""
    ? [{ kind: "star" } as SelectItem]
    : parseSelect(selectText);

  for (const [key, value] of params) {
    if (key === "select" || key === "columns" || key === "on_conflict") {
      if (key !== "select") other.set(key, value);
      continue;
    }
    if (argNames.has(key)) {
      other.set(key, value);
      continue;
    }
    const dot = key.lastIndexOf(".");
    const last = dot >= 0 ? key.slice(dot + 1) : key;
    const prefix = dot >= 0 ? key.slice(0, dot) : "";
    if (["order", "limit", "offset"].includes(last)) {
      const l = level(prefix);
      if (last === "order") l.order.push(...parseOrder(value));
      else {
        const n = parseNonNegative(value, key);
        if (last === "limit") l.limit = n;
        else l.offset = n;
      }
      continue;
    }
    if (last === "or" || last === "and" || last === "not.or" || last === "not.and") {
      level(prefix).filters.push(parseLogicParam(last, value));
      continue;
    }
    // `rel.not.or=(...)`
    const notLogic = /^(.*)\.not\.(or|and)$/.exec(key);
    if (notLogic) {
      level(notLogic[1]!).filters.push(parseLogicParam(`not.${notLogic[2]}`, value));
      continue;
    }
    // A horizontal filter: `col` (maybe with a JSON path containing dots? no: paths use ->)
    // or `rel.col`, `rel.sub.col`.
    const { path, field } = splitEmbeddedField(key);
    level(path).filters.push(parseCondition(field, value));
  }
  const parsed: ParsedQuery = { select, levels, other };
  return parsed;
}

function parseNonNegative(value: string, key: string): number {
  if (!/^\d+$/.test(value)) {
    throw RestError.parse(`"failed to parse ${key} parameter (${value})"`, `Unexpected ${key}`);
  }
  return Number(value);
}

/** `rel.sub.col->a` -> path "rel.sub", field "col->a". Dots inside a JSON path are not splits. */
function splitEmbeddedField(key: string): { path: string; field: string } {
  const arrow = key.indexOf("->");
  const head = arrow >= 0 ? key.slice(0, arrow) : key;
  const dot = head.lastIndexOf(".");
  if (dot < 0) return { path: "", field: key };
  return { path: head.slice(0, dot), field: key.slice(dot + 1) };
}

export function parseField(text: string): Field {
  const parts = text.split(/(->>|->)/);
  const name = unquote(parts[0]!.trim());
  if (!name) throw RestError.parse(`"failed to parse field (${text})"`, "Empty column name");
  const path: Field["path"] = [];
  for (let i = 1; i < parts.length; i += 2) {
    const key = unquote(parts[i + 1]!.trim());
    if (!key) throw RestError.parse(`"failed to parse field (${text})"`, "Empty JSON key");
    path.push({ op: parts[i] as "->" | "->>", key });
  }
  return { name, path };
}

function unquote(text: string): string {
  if (text.length >= 2 && text.startsWith('"') && text.endsWith('"')) {
    return text.slice(1, -1).replace(/\\(.)/g, "$1");
  }
  return text;
}

/** `op.value`, `not.op.value`, `op(mod).value` -> a condition on `field`. */
export function parseCondition(fieldText: string, expression: string): Condition {
  let rest = expression;
  let negated = false;
  if (rest.startsWith("not.")) {
    negated = true;
    rest = rest.slice(4);
  }
  const m = /^([a-z]+)(?:\(([^)]*)\))?\.([\s\S]*)$/.exec(rest);
  if (!m || !OPS.has(m[1]!)) {
    throw RestError.parse(
      `"failed to parse filter (${expression})" (line 1, column 1)`,
      `unexpected "${rest.slice(0, 20)}" expecting an operator`,
    );
  }
  const op = m[1] as FilterOp;
  const modifier = m[2];
  if (modifier !== undefined && !["fts", "plfts", "phfts", "wfts"].includes(op)) {
    if (modifier !== "any" && modifier !== "all") {
      throw RestError.parse(
        `"failed to parse filter (${expression})"`,
        `Unknown operator modifier "${modifier}"`,
      );
    }
  }
  return {
    kind: "condition",
    field: parseField(fieldText),
    negated,
    op,
    ...(modifier !== undefined ? { modifier } : {}),
    value: m[3]!,
  };
}

function parseLogicParam(key: string, value: string): LogicTree {
  const negated = key.startsWith("not.");
  const op = (negated ? key.slice(4) : key) as "and" | "or";
  const v = value.trim();
  if (!v.startsWith("(") || !v.endsWith(")")) {
    throw RestError.parse(
      `"failed to parse logic tree (${value})" (line 1, column 1)`,
      'unexpected end of input expecting "("',
    );
  }
  return {
    kind: "logic",
    op,
    negated,
    children: splitTopLevel(v.slice(1, -1)).map(parseLogicItem),
  };
}

/** One item of a logic tree: `col.op.value`, `col.not.op.value`, `and(...)`, `not.or(...)`. */
function parseLogicItem(text: string, depth: number): Filter {
  const t = text.trim();
  const tree = /^(not\.)?(and|or)\(([\s\S]*)\)$/.exec(t);
  if (tree) {
    if (depth >= MAX_TREE_DEPTH) {
      throw RestError.parse(`"failed to parse logic tree"`, `Nested deeper than ${MAX_TREE_DEPTH}`);
    }
    return {
      kind: "logic",
      op: tree[2] as "and" | "or",
      negated: tree[1] !== undefined,
      children: splitTopLevel(tree[3]!).map((item) => parseLogicItem(item, depth + 1)),
    };
  }
  // field is up to the first "." that is followed by an operator (or not.)
  const m =
    /^((?:"[^"]*"|[^.])+?(?:->>?(?:"[^"]*"|[^.>-])+)*)\.((?:not\.)?[a-z]+(?:\([^)]*\))?\.[\s\S]*)$/
      .exec(t);
  if (!m) {
    throw RestError.parse(
      `"failed to parse logic tree (${text})"`,
      "Expected column.operator.value",
    );
  }
  const condition = parseCondition(m[1]!, m[2]!);
  condition.value = unquoteValue(condition.value);
  return condition;
}

function unquoteValue(value: string): string {
  return value.startsWith('"') && value.endsWith('"') && value.length >= 2
    ? value.slice(1, -1).replace(/\\(.)/g, "$1")
    : value;
}

/** Splits on commas outside parentheses, braces and double quotes. */
export function splitTopLevel(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quoted = false;
  let current = "";
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      current += ch;
      if (ch === "\\" && i + 1 < text.length) current += text[++i];
      else if (ch === '"') quoted = false;
      continue;
    }
    if (ch === '"') quoted = true;
    else if (ch === "(" || ch === "{" || ch === "[") depth++;
    else if (ch === ")" || ch === "}" || ch === "]") depth--;
    if (depth < 0) throw RestError.parse(`"failed to parse (${text})"`, "Unbalanced parentheses");
    if (ch === "," && depth === 0) {
      parts.push(current);
      current = "";
    } else current += ch;
  }
  if (depth !== 0 || quoted) {
    throw RestError.parse(`"failed to parse (${text})"`, "Unbalanced parentheses or quotes");
  }
  if (current !== "" || parts.length > 0) parts.push(current);
  return parts;
}

export function parseOrder(text: string): OrderTerm[] {
  return splitTopLevel(text).map((term) => {
    const t = term.trim();
    let relation: string | undefined;
    let rest = t;
    const rel = /^([^(.]+)\(([^)]+)\)(.*)$/.exec(t);
    if (rel) {
      relation = rel[1];
      rest = rel[2]! + rel[3]!;
    }
    const parts = rest.split(".");
    const fieldText = parts.shift()!;
    const order: OrderTerm = { field: parseField(fieldText) };
    if (relation) order.relation = relation;
    for (const p of parts) {
      if (p === "asc" || p === "desc") order.direction = p;
      else if (p === "nullsfirst") order.nulls = "first";
      else if (p === "nullslast") order.nulls = "last";
      else {
        throw RestError.parse(
          `"failed to parse order (${text})" (line 1, column ${t.length})`,
          `unexpected "${p}" expecting "asc", "desc", "nullsfirst" or "nullslast"`,
        );
      }
    }
    return order;
  });
}

/** Parses a `select` parameter. */
export function parseSelect(text: string): SelectItem[] {
  const compact = stripSpaces(text);
  return splitTopLevel(compact).map((item) => parseSelectItem(item, text, 0));
}

function stripSpaces(text: string): string {
  let out = "";
  let quoted = false;
  for (const ch of text) {
    if (ch === '"') quoted = !quoted;
    if (!quoted && /\s/.test(ch)) continue;
    out += ch;
  }
  return out;
}

function parseSelectItem(item: string, whole: string, depth: number): SelectItem {
  if (item === "") {
    throw RestError.parse(`"failed to parse select parameter (${whole})"`, "Empty select item");
  }
  if (item === "*") return { kind: "star" };
  // An aggregate: `count()`, `alias:count()`, `col.sum()`, `alias:col.avg()::int`.
  const aggregate =
    /^(?:([^():."]+):(?!:))?(?:([^():]+)\.)?(count|sum|avg|max|min)\(\)(?:::([a-z_][a-z0-9_]*))?$/
      .exec(item);
  if (aggregate) {
    const [, alias, field, fn, cast] = aggregate;
    if (field === undefined && fn !== "count") {
      throw RestError.parse(
        `"failed to parse select parameter (${whole})"`,
        `The aggregate ${fn}() needs a column`,
      );
    }
    return {
      kind: "aggregate",
      fn: fn as AggregateFn,
      ...(field !== undefined ? { field: parseField(field) } : {}),
      ...(alias !== undefined ? { alias: unquote(alias) } : {}),
      ...(cast !== undefined ? { cast } : {}),
    };
  }
  const open = firstUnquoted(item, "(");
  if (open >= 0 && item.endsWith(")") && !/^[^(]*::/.test(item.slice(0, open))) {
    let head = item.slice(0, open);
    const inner = item.slice(open + 1, -1);
    if (depth >= MAX_EMBED_DEPTH) {
      throw RestError.parse(
        `"failed to parse select parameter"`,
        `Embedded resources nested deeper than ${MAX_EMBED_DEPTH}`,
      );
    }
    let spread = false;
    if (head.startsWith("...")) {
      spread = true;
      head = head.slice(3);
    }
    let alias: string | undefined;
    const colon = firstUnquoted(head, ":");
    if (colon >= 0) {
      alias = unquote(head.slice(0, colon));
      head = head.slice(colon + 1);
    }
    const [relation, ...hints] = head.split("!");
    if (!relation) {
      throw RestError.parse(`"failed to parse select parameter (${whole})"`, "Empty relation");
    }
    let joinType: "left" | "inner" = "left";
    let hint: string | undefined;
    for (const h of hints) {
      if (h === "inner") joinType = "inner";
      else if (h === "left") joinType = "left";
      else if (h) hint = unquote(h);
    }
    return {
      kind: "embed",
      relation: unquote(relation),
      ...(alias !== undefined ? { alias } : {}),
      ...(hint !== undefined ? { hint } : {}),
      joinType,
      spread,
      select: inner === ""
        ? []
        : splitTopLevel(inner).map((i) => parseSelectItem(i, whole, depth + 1)),
    };
  }
  let rest = item;
  let alias: string | undefined;
  const colon = findAliasColon(rest);
  if (colon >= 0) {
    alias = unquote(rest.slice(0, colon));
    rest = rest.slice(colon + 1);
  }
  let cast: string | undefined;
  const castAt = rest.lastIndexOf("::");
  if (castAt >= 0) {
    cast = rest.slice(castAt + 2);
    rest = rest.slice(0, castAt);
    if (!/^[a-z_][a-z0-9_ ]*(\[\])?$/i.test(cast)) {
      throw RestError.parse(
        `"failed to parse select parameter (${whole})"`,
        `Invalid cast "${cast}"`,
      );
    }
  }
  return {
    kind: "column",
    field: parseField(rest),
    ...(alias !== undefined ? { alias } : {}),
    ...(cast !== undefined ? { cast } : {}),
  };
}

/** The alias separator: a single ":" that is not part of "::". */
function findAliasColon(text: string): number {
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === '"') quoted = !quoted;
    if (quoted || ch !== ":") continue;
    if (text[i + 1] === ":") return -1;
    return i;
  }
  return -1;
}

function firstUnquoted(text: string, needle: string): number {
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === '"') quoted = !quoted;
    if (!quoted && ch === needle) return i;
  }
  return -1;
}

export const isReserved = (key: string) => RESERVED.has(key);
