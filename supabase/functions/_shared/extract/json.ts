/**
 * JSON as text: every leaf becomes a line `path: value` (`orders[2].customer.name: Ada`), and each
 * top-level key of an object opens a section of its own. Flattening walks an explicit stack, so
 * deep nesting cannot exhaust the call stack; nesting beyond MAX_DEPTH is refused.
 */
import { BlockBuilder } from "./blocks.ts";
import { fileFailure } from "./failure.ts";
import type { Block } from "./types.ts";

export const MAX_JSON_DEPTH = 64;

export function jsonToBlocks(text: string): Block[] {
  let value: unknown;
  try {
    value = JSON.parse(text.replace(/^\uFEFF/, ""));
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    throw fileFailure("corrupt", `The file is not valid JSON: ${detail}`);
  }
  const builder = new BlockBuilder();
  if (isObject(value)) {
    for (const [key, child] of Object.entries(value)) {
      builder.heading(1, key);
      for (const line of flatten(child, pathSegment(key))) builder.text(line);
    }
  } else {
    for (const line of flatten(value, "")) builder.text(line);
  }
  return builder.blocks();
}

/** `path: value` lines for every leaf under `root`, in document order. */
export function flatten(root: unknown, rootPath: string): string[] {
  const lines: string[] = [];
  const stack: Array<{ value: unknown; path: string; depth: number }> = [
    { value: root, path: rootPath, depth: 1 },
  ];
  while (stack.length) {
    const { value, path, depth } = stack.pop()!;
    if (depth > MAX_JSON_DEPTH) {
      throw fileFailure("corrupt", `The JSON nests deeper than ${MAX_JSON_DEPTH} levels`);
    }
    if (Array.isArray(value)) {
      for (let i = value.length - 1; i >= 0; i--) {
        stack.push({ value: value[i], path: `${path}[${i}]`, depth: depth + 1 });
      }
    } else if (isObject(value)) {
      const entries = Object.entries(value);
      for (let i = entries.length - 1; i >= 0; i--) {
        const [key, child] = entries[i]!;
        const segment = pathSegment(key);
        stack.push({ value: child, path: path ? `${path}.${segment}` : segment, depth: depth + 1 });
      }
    } else if (value !== null && value !== "") {
      lines.push(path ? `${path}: ${String(value)}` : String(value));
    }
  }
  return lines;
}

/** A key as written in a path: bare when it is an identifier, else quoted. */
function pathSegment(key: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(key) ? key : JSON.stringify(key);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
