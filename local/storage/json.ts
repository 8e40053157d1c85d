/** JSON request bodies, parsed once with zod; every failure is a 400 InvalidRequest. */
import { z } from "zod";
import { ERRORS } from "./errors.ts";

/** Reads and validates a JSON body; an empty body counts as `{}` (storage-js sends `{}`). */
export async function readJson<T extends z.ZodType>(
  request: Request,
  schema: T,
): Promise<z.infer<T>> {
  const text = await request.text();
  let value: unknown = {};
  if (text.trim() !== "") {
    try {
      value = JSON.parse(text);
    } catch {
      throw ERRORS.invalidRequest("Body is not valid JSON");
    }
  }
  checkJsonValue(value, "Body");
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    // Worded like upstream's (fastify/ajv) validation errors: "body/expiresIn must be ...".
    const issue = parsed.error.issues[0]!;
    const path = ["body", ...issue.path.map(String)].join("/");
    throw ERRORS.invalidRequest(`${path} ${issue.message}`);
  }
  return parsed.data;
}

/** How deeply request JSON may nest (GoTrue's emulator uses the same cap). */
export const MAX_JSON_DEPTH = 64;

/**
 * Refuses JSON the database cannot take, as 400 InvalidRequest instead of a failed statement:
 * nesting deeper than MAX_JSON_DEPTH (deep jsonb exhausts PGlite's stack), NUL characters and
 * lone UTF-16 surrogates (text and jsonb cannot hold them). Iterative, so any depth is safe.
 */
export function checkJsonValue(value: unknown, what: string): void {
  const pending: Array<[unknown, number]> = [[value, 0]];
  while (pending.length > 0) {
    const [item, depth] = pending.pop()!;
    if (typeof item === "string") {
      checkJsonString(item, what);
    } else if (typeof item === "object" && item !== null) {
      if (depth >= MAX_JSON_DEPTH) {
        throw ERRORS.invalidRequest(`${what} is nested deeper than ${MAX_JSON_DEPTH} levels`);
      }
      for (const [key, child] of Object.entries(item)) {
        checkJsonString(key, what);
        pending.push([child, depth + 1]);
      }
    }
  }
}

function checkJsonString(text: string, what: string): void {
  if (text.includes("\0")) throw ERRORS.invalidRequest(`${what} contains a NUL character`);
  if (!text.isWellFormed()) {
    throw ERRORS.invalidRequest(`${what} contains a lone UTF-16 surrogate`);
  }
}
