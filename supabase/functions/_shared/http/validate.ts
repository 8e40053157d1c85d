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
  });
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
