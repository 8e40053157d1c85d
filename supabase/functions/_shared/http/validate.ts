/**
 * Input validation at the edge of each route, with zod through @hono/zod-validator and one hook,
 * so every invalid input gets the same 400 body: `invalid_request` with the issues as details.
 */
import { zValidator } from "@hono/zod-validator";
import type { ValidationTargets } from "hono";
import type { z } from "zod";
import { AppError } from "../errors.ts";

export interface Issue {
  path: string;
  message: string;
}

/** `validate("json", Schema)`: a route middleware; read the result with `c.req.valid("json")`. */
export function validate<
  Target extends keyof ValidationTargets,
  Schema extends z.ZodType,
>(target: Target, schema: Schema) {
  return zValidator(target, schema, (result) => {
    if (!result.success) {
      throw new AppError("invalid_request", `Invalid ${describe(target)}`, {
        details: toIssues(result.error.issues),
      });
    }
    if (target === "json" && nestedDeeperThan(result.data, MAX_JSON_DEPTH)) {
      throw new AppError(
        "invalid_request",
        `Request body is nested deeper than ${MAX_JSON_DEPTH} levels`,
      );
    }
  });
}

/**
 * How deeply a JSON body may nest. No contract needs more, and deep jsonb is a stack-depth error
 * on Postgres and can break the local stack's PGlite session (issue 10).
 */
export const MAX_JSON_DEPTH = 64;

/** Whether objects/arrays nest deeper than `limit`; iterative, so any depth is safe to check. */
export function nestedDeeperThan(value: unknown, limit: number): boolean {
  const pending: Array<[unknown, number]> = [[value, 0]];
  while (pending.length > 0) {
    const [item, depth] = pending.pop()!;
    if (typeof item !== "object" || item === null) continue;
    if (depth >= limit) return true;
    for (const child of Object.values(item)) pending.push([child, depth + 1]);
  }
  return false;
}

/** zod issues as `{ path, message }` pairs, paths dotted (`messages.0.content`). */
export function toIssues(issues: readonly z.core.$ZodIssue[]): Issue[] {
  return issues.map((issue) => ({
    path: issue.path.map(String).join(".") || "(root)",
    message: issue.message,
  }));
}

function describe(target: keyof ValidationTargets): string {
  switch (target) {
    case "json":
      return "request body";
    case "query":
      return "query parameters";
    case "param":
      return "path parameters";
    default:
      return target;
  }
}
