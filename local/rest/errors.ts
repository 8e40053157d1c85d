/**
 * The Data API's errors, with PostgREST's bodies (`{ code, details, hint, message }`) and
 * statuses: its own PGRST codes for request errors, and Postgres errors by SQLSTATE through the
 * table in PostgREST's docs (references/errors): 23503/23505 409, 42501 401 for anon and 403
 * otherwise, 42883/42P01 404, P0001 400, PTxxx its own status, class 08/53 503, the rest of the
 * server-side classes 500 and anything else 400.
 */
export interface RestErrorBody {
  code: string;
  /** Text, or (PGRST201) the candidate relationships. */
  details: string | null | unknown[];
  hint: string | null;
  message: string;
}

export class RestError extends Error {
  constructor(
    readonly status: number,
    readonly body: RestErrorBody,
    readonly headers: Record<string, string> = {},
  ) {
    super(body.message);
    this.name = "RestError";
  }

  static of(
    status: number,
    code: string,
    message: string,
    details?: string | null | unknown[],
    hint?: string | null,
  ) {
    return new RestError(status, { code, details: details ?? null, hint: hint ?? null, message });
  }

  static parse(message: string, details: string) {
    return RestError.of(400, "PGRST100", message, details);
  }

  static aggregatesDisabled() {
    return RestError.of(400, "PGRST123", "Use of aggregate functions is not allowed");
  }

  static body(message: string) {
    return RestError.of(400, "PGRST102", message);
  }

  static tableNotFound(schema: string, name: string) {
    return RestError.of(
      404,
      "PGRST205",
      `Could not find the table '${schema}.${name}' in the schema cache`,
      null,
      null,
    );
  }

  static columnNotFound(column: string, table: string) {
    return RestError.of(
      400,
      "PGRST204",
      `Could not find the '${column}' column of '${table}' in the schema cache`,
    );
  }

  static functionNotFound(schema: string, name: string, args: string[]) {
    const sorted = [...args].sort();
    const searched = sorted.length === 0
      ? " without parameters"
      : ` with parameter${sorted.length > 1 ? "s" : ""} ${sorted.join(", ")}`;
    return RestError.of(
      404,
      "PGRST202",
      `Could not find the function ${schema}.${name}${
        sorted.length === 0 ? " without parameters" : `(${sorted.join(", ")})`
      } in the schema cache`,
      `Searched for the function ${schema}.${name}${searched} or with a single unnamed json/jsonb parameter, but no matches were found in the schema cache.`,
      null,
    );
  }

  /** PGRST203: several overloads fit the arguments. */
  static ambiguousFunction(
    candidates: Array<
      {
        schema: string;
        name: string;
        args: Array<{ name: string; type: string }>;
        argTypeOids: number[];
      }
    >,
  ) {
    // Listed as PostgREST lists them: by their argument types' OIDs.
    const byTypes = (a: number[], b: number[]) => {
      for (let i = 0; i < Math.min(a.length, b.length); i++) {
        if (a[i] !== b[i]) return a[i]! - b[i]!;
      }
      return a.length - b.length;
    };
    const sorted = [...candidates].sort((a, b) => byTypes(a.argTypeOids, b.argTypeOids));
    const list = sorted.map((c) =>
      `${c.schema}.${c.name}(${c.args.map((a) => `${a.name} => ${a.type}`).join(", ")})`
    ).join(", ");
    return RestError.of(
      300,
      "PGRST203",
      `Could not choose the best candidate function between: ${list}`,
      null,
      "Try renaming the parameters or the function itself in the database so function overloading can be resolved",
    );
  }

  static noRelationship(from: string, to: string, schema: string, hint?: string) {
    return RestError.of(
      400,
      "PGRST200",
      `Could not find a relationship between '${from}' and '${to}' in the schema cache`,
      `Searched for a foreign key relationship between '${from}' and '${to}'${
        hint !== undefined ? ` using the hint '${hint}'` : ""
      } in the schema '${schema}', but no matches were found.`,
      null,
    );
  }

  static ambiguousRelationship(
    from: string,
    to: string,
    found: Array<{ cardinality: string; embedding: string; relationship: string; name: string }>,
  ) {
    return RestError.of(
      300,
      "PGRST201",
      `Could not embed because more than one relationship was found for '${from}' and '${to}'`,
      found.map(({ name: _, ...detail }) => detail),
      `Try changing '${to}' to one of the following: ${
        found.map((f) => `'${to}!${f.name}'`).join(", ")
      }. Find the desired relationship in the 'details' key.`,
    );
  }

  static singular(rows: number) {
    return RestError.of(
      406,
      "PGRST116",
      "Cannot coerce the result to a single JSON object",
      `The result contains ${rows} rows`,
    );
  }

  static schema(schema: string, allowed: readonly string[]) {
    return RestError.of(
      406,
      "PGRST106",
      "Invalid schema: " + schema,
      null,
      `Only the following schemas are exposed: ${allowed.join(", ")}`,
    );
  }

  static jwt(message: string, code = "PGRST301") {
    return new RestError(401, { code, details: null, hint: null, message }, {
      "WWW-Authenticate": `Bearer error="invalid_token", error_description="${message}"`,
    });
  }
}

interface PgErrorLike {
  code: string;
  message: string;
  detail?: string | undefined;
  hint?: string | undefined;
}

/** A Postgres error (PGlite's or a CommitError) as PostgREST answers it; null if not one. */
export function fromPostgres(error: unknown, authenticated: boolean): RestError | null {
  if (typeof error !== "object" || error === null) return null;
  const e = error as Record<string, unknown>;
  if (typeof e.code !== "string" || !/^[0-9A-Z]{5}$/.test(e.code)) return null;
  const pg = e as unknown as PgErrorLike;
  return new RestError(statusFor(pg.code, authenticated), {
    code: pg.code,
    details: typeof pg.detail === "string" ? pg.detail : null,
    hint: typeof pg.hint === "string" ? pg.hint : null,
    message: pg.message,
  });
}

export function statusFor(code: string, authenticated: boolean): number {
  if (code === "42501") return authenticated ? 403 : 401;
  const exact: Record<string, number> = {
    "23503": 409,
    "23505": 409,
    "25006": 405,
    "53400": 500,
    "P0001": 400,
    "42883": 404,
    "42P01": 404,
    "42P17": 500,
  };
  if (exact[code]) return exact[code];
  if (/^PT\d{3}$/.test(code)) return Number(code.slice(2));
  const byClass: Record<string, number> = {
    "08": 503,
    "09": 500,
    "0L": 403,
    "0P": 403,
    "25": 500,
    "28": 403,
    "2D": 500,
    "38": 500,
    "39": 500,
    "3B": 500,
    "40": 500,
    "53": 503,
    "54": 500,
    "55": 500,
    "57": 500,
    "58": 500,
    "F0": 500,
    "HV": 500,
    "P0": 500,
    "XX": 500,
  };
  return byClass[code.slice(0, 2)] ?? 400;
}
