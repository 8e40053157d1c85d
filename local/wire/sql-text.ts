/**
 * Just enough SQL lexing for the wire server to recognise the few statements it must treat
 * specially (COPY FROM STDIN, role changes) without being fooled by string literals, quoted
 * identifiers, dollar quotes or comments. It never rewrites or validates SQL: Postgres does that.
 */

/** Matches a statement that may change the session's role; a false positive only costs a RESET. */
const ROLE_CHANGE = /\brole\b|\bsession\s+authorization\b/i;

/**
 * The top-level statements of an SQL string, each as the list of its bare words, lowercased.
 * Literals and quoted identifiers appear as the placeholders `'` and `"`; comments vanish.
 * Empty statements (`;;`) are left out.
 */
export function statementWords(sql: string): string[][] {
  const statements: string[][] = [];
  let words: string[] = [];
  let at = 0;
  while (at < sql.length) {
    const char = sql[at]!;
    const next = sql[at + 1];
    if (char === ";") {
      if (words.length > 0) statements.push(words);
      words = [];
      at++;
    } else if (char === "-" && next === "-") {
      const newline = sql.indexOf("\n", at);
      at = newline < 0 ? sql.length : newline + 1;
    } else if (char === "/" && next === "*") {
      at = skipBlockComment(sql, at);
    } else if (char === "'") {
      const escaped = /[eE]/.test(sql[at - 1] ?? "") && !isWordChar(sql[at - 2] ?? "");
      if (escaped) words.pop(); // the E prefix was read as a word
      at = skipQuoted(sql, at, "'", escaped);
      words.push("'");
    } else if (char === '"') {
      at = skipQuoted(sql, at, '"', false);
      words.push('"');
    } else if (char === "$") {
      const tag = /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.exec(sql.slice(at, at + 64))?.[0];
      if (tag === undefined) {
        at++; // a parameter such as $1
      } else {
        const close = sql.indexOf(tag, at + tag.length);
        at = close < 0 ? sql.length : close + tag.length;
        words.push("'");
      }
    } else if (isWordStart(char)) {
      let end = at + 1;
      while (end < sql.length && isWordChar(sql[end]!)) end++;
      words.push(sql.slice(at, end).toLowerCase());
      at = end;
    } else {
      at++;
    }
  }
  if (words.length > 0) statements.push(words);
  return statements;
}

/** True for `COPY ... FROM STDIN`, which reads its data from the client. */
export function isCopyFromStdin(words: readonly string[]): boolean {
  return words[0] === "copy" && stdinIndex(words) >= 0;
}

/** The overall format of a COPY FROM STDIN: 1 (binary) or 0 (text, csv). */
export function copyFormat(words: readonly string[]): 0 | 1 {
  const stdin = stdinIndex(words);
  return words.indexOf("binary", stdin) > stdin ? 1 : 0;
}

/** True when the SQL may set the role or session authorization (`SET ROLE`, `set_config('role')`). */
export function mayChangeRole(sql: string): boolean {
  return ROLE_CHANGE.test(sql);
}

/**
 * Custom (dotted) setting names the SQL may set: `SET [SESSION] a.b = ...`, `RESET a.b`,
 * `set_config('a.b', ...)`. A false positive only costs saving an empty value.
 */
export function customSettingNames(sql: string): string[] {
  const names = new Set<string>();
  for (const match of sql.matchAll(SET_CUSTOM)) names.add(match[1]!.toLowerCase());
  for (const match of sql.matchAll(SET_CONFIG_CUSTOM)) names.add(match[1]!.toLowerCase());
  return [...names];
}

const SET_CUSTOM = /\bset\s+(?:session\s+)?([A-Za-z_][\w$]*(?:\.[A-Za-z_][\w$]*)+)/gi;
const SET_CONFIG_CUSTOM = /\bset_config\s*\(\s*'([A-Za-z_][\w$]*(?:\.[A-Za-z_][\w$]*)+)'/gi;

function stdinIndex(words: readonly string[]): number {
  for (let i = 1; i + 1 < words.length; i++) {
    if (words[i] === "from" && words[i + 1] === "stdin") return i + 1;
  }
  return -1;
}

function skipBlockComment(sql: string, at: number): number {
  let depth = 0;
  while (at < sql.length) {
    if (sql.startsWith("/*", at)) {
      depth++;
      at += 2;
    } else if (sql.startsWith("*/", at)) {
      depth--;
      at += 2;
      if (depth === 0) return at;
    } else {
      at++;
    }
  }
  return at;
}

/** Skips a quoted literal or identifier starting at `at`; a doubled quote is part of it. */
function skipQuoted(sql: string, at: number, quote: string, backslashEscapes: boolean): number {
  let i = at + 1;
  while (i < sql.length) {
    const char = sql[i]!;
    if (backslashEscapes && char === "\\") {
      i += 2;
    } else if (char === quote) {
      if (sql[i + 1] !== quote) return i + 1;
      i += 2;
    } else {
      i++;
    }
  }
  return i;
}

function isWordStart(char: string): boolean {
  return /[A-Za-z_\u0080-\uffff]/.test(char);
}

function isWordChar(char: string): boolean {
  return /[A-Za-z0-9_$\u0080-\uffff]/.test(char);
}
