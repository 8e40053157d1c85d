/**
 * The work behind `POST /analytics-tracker`: check each event on its own, resolve the caller's
 * organization under their RLS, take the rate limit, and store the valid events in one insert
 * that skips client ids already stored.
 */
import {
  ERROR_OUTCOMES,
  MAX_EVENT_AGE_MS,
  MAX_EVENT_SKEW_MS,
  MAX_PROPERTIES_BYTES,
  TrackedEvent,
  type TrackRequest,
  type TrackResponse,
} from "../_shared/contracts/analytics-tracker.ts";
import type { UserClaims } from "../_shared/auth.ts";
import type { Columns } from "../_shared/db/rows.ts";
import type { Deps } from "../_shared/deps.ts";
import { AppError } from "../_shared/errors.ts";
import { enforceRateLimit } from "../_shared/rate-limit.ts";

/** Who sends events: a signed-in user, or a machine with the service credential. */
export type Caller = { kind: "user"; claims: UserClaims } | { kind: "service" };

/**
 * An event ready to insert into public.analytics_events (every column it sets, occurred_at as
 * ISO 8601), with its index in the request.
 */
export type EventRow =
  & Columns<
    "analytics_events",
    | "client_id"
    | "name"
    | "occurred_at"
    | "duration_ms"
    | "value"
    | "session_id"
    | "is_error"
    | "tokens"
  >
  // properties: jsonb; an object here, which the checks read.
  & { ord: number; properties: Record<string, unknown> };

export interface Rejection {
  index: number;
  error: string;
}

const encoder = new TextEncoder();

/** Splits the request's events into rows to insert and rejections, by index. */
export function checkEvents(
  events: readonly unknown[],
  now: Date,
): { rows: EventRow[]; rejected: Rejection[] } {
  const rows: EventRow[] = [];
  const rejected: Rejection[] = [];
  events.forEach((raw, index) => {
    const result = checkEvent(raw, index, now);
    if ("error" in result) rejected.push(result);
    else rows.push(result);
  });
  return { rows, rejected };
}

function checkEvent(raw: unknown, index: number, now: Date): EventRow | Rejection {
  const parsed = TrackedEvent.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const path = issue?.path.map(String).join(".") || "(event)";
    return { index, error: `Invalid "${path}": ${issue?.message ?? "malformed event"}` };
  }
  const event = parsed.data;
  const occurred = event.occurred_at ? new Date(event.occurred_at) : now;
  if (occurred.getTime() < now.getTime() - MAX_EVENT_AGE_MS) {
    return { index, error: 'Field "occurred_at" is more than 7 days ago' };
  }
  if (occurred.getTime() > now.getTime() + MAX_EVENT_SKEW_MS) {
    return { index, error: 'Field "occurred_at" is more than 5 minutes ahead' };
  }
  const properties = event.properties ?? {};
  const size = encoder.encode(JSON.stringify(properties)).length;
  if (size > MAX_PROPERTIES_BYTES) {
    return { index, error: `Field "properties" is ${size} bytes; at most ${MAX_PROPERTIES_BYTES}` };
  }
  const tokens = properties.tokens;
  if (tokens !== undefined && !(Number.isSafeInteger(tokens) && (tokens as number) >= 0)) {
    return { index, error: 'Field "properties.tokens" must be a non-negative integer' };
  }
  const outcome = properties.outcome;
  return {
    ord: index,
    client_id: event.id ?? null,
    name: event.name,
    occurred_at: occurred.toISOString(),
    properties,
    duration_ms: event.duration_ms ?? null,
    value: event.value ?? null,
    session_id: event.session_id ?? null,
    is_error: properties.error === true ||
      (typeof outcome === "string" && (ERROR_OUTCOMES as readonly string[]).includes(outcome)),
    tokens: (tokens as number | undefined) ?? null,
  };
}

/**
 * The organization the events belong to. A user: the given one if they are a member (403
 * otherwise), else their personal organization, read under their RLS. The service credential:
 * the given one, which must exist.
 */
export async function resolveOrganization(
  caller: Caller,
  organizationId: string | undefined,
  deps: Deps,
): Promise<string> {
  if (caller.kind === "service") {
    if (!organizationId) {
      throw new AppError(
        "invalid_request",
        'Field "organization_id" is required with the service credential',
      );
    }
    const found = await deps.db.asService((tx) =>
      tx.query("select 1 from public.organizations where id = $1", [organizationId])
    );
    if (found.length === 0) {
      throw new AppError("not_found", `Unknown organization: "${organizationId}"`);
    }
    return organizationId;
  }
  return await deps.db.asUser(caller.claims, async (tx) => {
    if (organizationId) {
      const member = await tx.query(
        `select 1 from public.organization_members
         where organization_id = $1 and user_id = (select auth.uid())`,
        [organizationId],
      );
      if (member.length === 0) {
        throw new AppError(
          "forbidden",
          `Not a member of organization "${organizationId}"`,
        );
      }
      return organizationId;
    }
    const [personal] = await tx.query<Columns<"organizations", "id">>(
      "select id from public.organizations where personal_user_id = (select auth.uid())",
    );
    if (!personal) {
      throw new AppError(
        "invalid_request",
        'Field "organization_id" is required: the caller has no personal organization',
      );
    }
    return personal.id;
  });
}

// One round trip: rows whose stored properties would exceed the limit (jsonb's text can be
// longer than JSON.stringify's) are reported instead of failing the whole insert. The rows go as
// text (`$1::text::jsonb`): postgres.js would JSON-encode a string bound to a jsonb parameter again.
const INSERT_EVENTS = `
  with input as (
    select *
    from jsonb_to_recordset($1::text::jsonb) as x(
      ord integer, client_id text, name text, occurred_at timestamptz, properties jsonb,
      duration_ms double precision, value double precision, session_id text, is_error boolean,
      tokens bigint
    )
  ),
  fitting as (
    select * from input where octet_length(properties::text) <= ${MAX_PROPERTIES_BYTES}
  ),
  inserted as (
    insert into public.analytics_events (
      organization_id, user_id, client_id, source, name, occurred_at, properties, duration_ms,
      value, session_id, is_error, tokens
    )
    select $2::uuid, $3::uuid, f.client_id, 'client', f.name, f.occurred_at, f.properties,
           f.duration_ms, f.value, f.session_id, f.is_error, f.tokens
    from fitting f
    order by f.ord
    on conflict (organization_id, user_id, client_id) where client_id is not null do nothing
    returning 1
  )
  select
    (select count(*) from inserted)::integer as accepted,
    (select count(*) from fitting)::integer as valid,
    coalesce((select array_agg(ord order by ord) from input
              where octet_length(properties::text) > ${MAX_PROPERTIES_BYTES}), '{}') as too_large`;

/** Checks, stores and counts the events of one request. */
export async function recordEvents(
  caller: Caller,
  request: TrackRequest,
  deps: Deps,
): Promise<TrackResponse> {
  const { rows, rejected } = checkEvents(request.events, deps.now());
  const organizationId = await resolveOrganization(caller, request.organization_id, deps);
  const userId = caller.kind === "user" ? caller.claims.sub : null;

  const result = await deps.db.asService(async (tx) => {
    if (userId) {
      await enforceRateLimit(tx, { userId, organizationId, bucket: "analytics-tracker" });
    }
    if (rows.length === 0) return { accepted: 0, valid: 0, too_large: [] as number[] };
    const [row] = await tx.query<{ accepted: number; valid: number; too_large: number[] }>(
      INSERT_EVENTS,
      [JSON.stringify(rows), organizationId, userId],
    );
    return row ?? { accepted: 0, valid: 0, too_large: [] };
  });

  for (const index of result.too_large) {
    rejected.push({
      index,
      error: `Field "properties" is over ${MAX_PROPERTIES_BYTES} bytes as stored`,
    });
  }
  rejected.sort((a, b) => a.index - b.index);
  return {
    accepted: result.accepted,
    duplicates: result.valid - result.accepted,
    rejected,
  };
}
