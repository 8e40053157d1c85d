/**
 * Reading pgTAP output and preparing pgTAP suite files, for tests/db/pgtap.test.ts.
 *
 * pgTAP functions return their TAP lines as text rows (`plan()` -> "1..N", `ok()` -> "ok 1 - x",
 * a failure -> "not ok 2 - y\n# Failed test 2: ..."). PGlite's `exec` returns one result per
 * statement of a multi-statement string, with its rows, so a whole suite runs in one call and the
 * TAP lines are collected from every single-column text result afterwards.
 */
import type { Results } from "@electric-sql/pglite";
import { dirname, resolve } from "node:path";

export interface TapTest {
  number: number;
  ok: boolean;
  description: string;
  /** `# TODO ...` or `# SKIP ...`; a failing TODO test does not fail the suite. */
  directive?: string;
  /** The `#` lines that follow the test line. */
  diagnostics: string[];
}

export interface TapReport {
  planned: number | null;
  tests: TapTest[];
  /** `#` lines before the first test or after the last (e.g. finish()'s summary). */
  diagnostics: string[];
}

const TEST_LINE = /^(not )?ok (\d+)\b(.*)$/;
/** pgTAP escapes `#` in descriptions, so an unescaped one after a space starts the directive. */
const DIRECTIVE = /(?:^|\s)#\s*(TODO|SKIP)\b\s*(.*)$/i;
const PLAN_LINE = /^1\.\.(\d+)/;

/** The TAP lines in the results of a suite: every line of every single-column text row. */
export function tapLines(results: Results[]): string[] {
  const lines: string[] = [];
  for (const result of results) {
    const [field] = result.fields;
    if (result.fields.length !== 1 || !field) continue;
    for (const row of result.rows as Record<string, unknown>[]) {
      const value = row[field.name];
      if (typeof value !== "string") continue;
      for (const line of value.split("\n")) {
        if (PLAN_LINE.test(line) || TEST_LINE.test(line) || line.startsWith("#")) lines.push(line);
      }
    }
  }
  return lines;
}

/** Parses TAP lines into a plan, tests and diagnostics. */
export function parseTap(lines: readonly string[]): TapReport {
  const report: TapReport = { planned: null, tests: [], diagnostics: [] };
  let current: TapTest | undefined;
  for (const line of lines) {
    const plan = PLAN_LINE.exec(line);
    if (plan) {
      report.planned = Number(plan[1]);
      current = undefined;
      continue;
    }
    const test = TEST_LINE.exec(line);
    if (test) {
      let rest = test[3] ?? "";
      const directive = DIRECTIVE.exec(rest);
      if (directive) rest = rest.slice(0, directive.index);
      current = {
        number: Number(test[2]),
        ok: test[1] === undefined,
        description: rest.replace(/^\s*-?\s*/, "").trim(),
        diagnostics: [],
        ...(directive
          ? { directive: `${directive[1]!.toUpperCase()} ${directive[2] ?? ""}`.trim() }
          : {}),
      };
      report.tests.push(current);
      continue;
    }
    if (line.startsWith("#")) {
      const text = line.replace(/^#\s?/, "");
      if (current && !/^Looks like you/.test(text)) current.diagnostics.push(text);
      else report.diagnostics.push(text);
    }
  }
  return report;
}

/** Why a suite failed, one problem per line; empty when it passed. */
export function tapProblems(report: TapReport): string[] {
  const problems: string[] = [];
  if (report.planned === null) problems.push("No plan: the suite never called plan()");
  for (const test of report.tests) {
    if (test.ok || test.directive?.startsWith("TODO")) continue;
    problems.push(
      [`not ok ${test.number} - ${test.description}`, ...test.diagnostics.map((d) => `    ${d}`)]
        .join("\n"),
    );
  }
  if (report.planned !== null && report.planned !== report.tests.length) {
    problems.push(`Planned ${report.planned} tests but ran ${report.tests.length}`);
  }
  const numbers = report.tests.map((t) => t.number);
  if (numbers.some((n, i) => n !== i + 1)) {
    problems.push(`Tests are not numbered 1..${numbers.length}: ${numbers.join(", ")}`);
  }
  return problems;
}

/**
 * The SQL of a suite file with psql's `\i` and `\ir` includes inlined (relative to the including
 * file), as psql would run it. Other psql meta-commands are refused: only psql can run them.
 */
export async function readSuite(path: string, depth = 0): Promise<string> {
  if (depth > 5) throw new Error(`Includes nested too deeply at ${path}`);
  const text = await Deno.readTextFile(path);
  const out: string[] = [];
  for (const line of text.split("\n")) {
    const include = /^\s*\\(i|ir|include|include_relative)\s+(\S+)\s*$/.exec(line);
    if (include) {
      out.push(await readSuite(resolve(dirname(path), include[2]!), depth + 1));
    } else if (/^\s*\\/.test(line)) {
      throw new Error(`${path}: unsupported psql meta-command: ${line.trim()}`);
    } else {
      out.push(line);
    }
  }
  return out.join("\n");
}
