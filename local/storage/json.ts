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
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    // Worded like upstream's (fastify/ajv) validation errors: "body/expiresIn must be ...".
    const issue = parsed.error.issues[0]!;
    const path = ["body", ...issue.path.map(String)].join("/");
    throw ERRORS.invalidRequest(`${path} ${issue.message}`);
  }
  return parsed.data;
}
