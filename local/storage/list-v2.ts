/**
 * `POST /object/list-v2/{bucket}` (storage-js `listV2`): the objects under a prefix, as the
 * caller's RLS shows them, either flat (every key below the prefix) or with `with_delimiter`
 * grouped one level down into folders and files. Pages of `limit` entries (default 1000); the
 * cursor is opaque to clients (here: the offset of the next page).
 */
import { z } from "zod";
import type { StorageContext } from "./context.ts";
import { ERRORS } from "./errors.ts";
import { type Call, withScope } from "./scope.ts";

export const ListV2Body = z.object({
  prefix: z.string().optional(),
  limit: z.int().min(1).max(1000).optional(),
  cursor: z.string().optional(),
  with_delimiter: z.boolean().optional(),
  sortBy: z.object({
    column: z.enum(["name", "updated_at", "created_at"]).default("name"),
    order: z.enum(["asc", "desc", "ASC", "DESC"]).default("asc"),
  }).optional(),
});
export type ListV2Body = z.infer<typeof ListV2Body>;

interface ObjectEntry {
  id: string;
  key: string;
  name: string;
  updated_at: string;
  created_at: string;
  last_accessed_at: string;
  metadata: Record<string, unknown> | null;
}

export interface ListV2Result {
  hasNext: boolean;
  folders: Array<{ key: string; name: string }>;
  objects: ObjectEntry[];
  nextCursor?: string;
}

export function listObjectsV2(
  ctx: StorageContext,
  call: Call,
  bucketId: string,
  body: ListV2Body,
): Promise<ListV2Result> {
  const prefix = body.prefix ?? "";
  const limit = body.limit ?? 1000;
  const offset = decodeCursor(body.cursor);
  const column = body.sortBy?.column ?? "name";
  const order = body.sortBy?.order.toLowerCase() === "desc" ? "desc" : "asc";
  return withScope(ctx.session, call, async (scope) => {
    const { rows } = await scope.tx.query<{ row: ObjectEntry }>(
      `select jsonb_build_object(
         'id', o.id, 'key', o.name, 'name', o.name, 'metadata', o.metadata,
         'created_at', ${iso("o.created_at")}, 'updated_at', ${iso("o.updated_at")},
         'last_accessed_at', ${iso("o.last_accessed_at")}) as row
       from storage.objects o
       where o.bucket_id = $1 and left(o.name, length($2)) = $2
       order by o.${column} ${order}, o.name ${order}`,
      [bucketId, prefix],
    );
    const entries: Array<{ folder: true; key: string } | { folder: false; object: ObjectEntry }> =
      [];
    const seen = new Set<string>();
    for (const { row } of rows) {
      const rest = row.key.slice(prefix.length);
      const slash = rest.indexOf("/");
      if (body.with_delimiter && slash >= 0) {
        const key = prefix + rest.slice(0, slash + 1);
        if (!seen.has(key)) entries.push({ folder: true, key });
        seen.add(key);
      } else {
        entries.push({ folder: false, object: row });
      }
    }
    const page = entries.slice(offset, offset + limit);
    const hasNext = entries.length > offset + limit;
    return {
      hasNext,
      // As upstream: the folder's key without its trailing slash, its name with it.
      folders: page.flatMap((e) => e.folder ? [{ key: e.key.slice(0, -1), name: e.key }] : []),
      objects: page.flatMap((e) => e.folder ? [] : [e.object]),
      ...(hasNext ? { nextCursor: btoa(String(offset + limit)) } : {}),
    };
  });
}

function decodeCursor(cursor: string | undefined): number {
  if (!cursor) return 0;
  let offset = NaN;
  try {
    offset = Number(atob(cursor));
  } catch {
    // fall through to the error below
  }
  if (!Number.isInteger(offset) || offset < 0) {
    throw ERRORS.invalidRequest(`Invalid cursor: "${cursor}"`);
  }
  return offset;
}

/** A timestamp as upstream's JSON has it (a JS Date): ISO 8601 in UTC with milliseconds. */
export function iso(column: string): string {
  return `to_char(${column} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
}
