/**
 * The work behind `GET /analytics-tracker/summary`: the organization's series from
 * `public.analytics_series` (rollups plus the raw events not yet rolled up), read under the
 * caller's RLS after checking they own or administer the organization.
 */
import type { UserClaims } from "../_shared/auth.ts";
import type {
  SummaryPoint,
  SummaryQuery,
  SummaryResponse,
} from "../_shared/contracts/analytics-tracker.ts";
import type { Queryable } from "../_shared/db/mod.ts";
import type { Columns } from "../_shared/db/rows.ts";
import type { Deps } from "../_shared/deps.ts";
import { AppError } from "../_shared/errors.ts";

type Query = Required<Pick<SummaryQuery, "granularity">> & Omit<SummaryQuery, "granularity">;

const HOUR_MS = 60 * 60 * 1000;
const DAY_MS = 24 * HOUR_MS;
/** Widest range per granularity: 31 days of hours, 800 days of days. */
const MAX_RANGE_MS = { hour: 31 * DAY_MS, day: 800 * DAY_MS } as const;
const DEFAULT_RANGE_MS = { hour: DAY_MS, day: 30 * DAY_MS } as const;

interface SeriesRow extends Record<string, unknown> {
  bucket: Date | string;
  name: string;
  count: number | string;
  error_count: number | string;
  p50_ms: number | null;
  p95_ms: number | null;
  p99_ms: number | null;
  tokens: number | string;
}

/** The summary for one organization; 403 unless the caller is its owner or admin. */
export async function readSummary(
  claims: UserClaims,
  query: Query,
  deps: Deps,
): Promise<SummaryResponse> {
  const to = query.to ? new Date(query.to) : deps.now();
  const from = query.from
    ? new Date(query.from)
    : new Date(to.getTime() - DEFAULT_RANGE_MS[query.granularity]);
  if (from.getTime() >= to.getTime()) {
    throw new AppError("invalid_request", "The range must start before it ends");
  }
  if (to.getTime() - from.getTime() > MAX_RANGE_MS[query.granularity]) {
    const days = MAX_RANGE_MS[query.granularity] / DAY_MS;
    throw new AppError(
      "invalid_request",
      `The range is at most ${days} days for granularity "${query.granularity}"`,
    );
  }

  return await deps.db.asUser(claims, async (tx) => {
    const organizationId = query.organization_id ?? await personalOrganization(tx);
    const [role] = await tx.query<Columns<"organization_members", "role">>(
      `select role from public.organization_members
       where organization_id = $1 and user_id = (select auth.uid())`,
      [organizationId],
    );
    if (!role || !["owner", "admin"].includes(role.role)) {
      throw new AppError(
        "forbidden",
        `Only owners and admins of organization "${organizationId}" can read its analytics`,
      );
    }
    const rows = await tx.query<SeriesRow>(
      `select bucket, name, count, error_count, p50_ms, p95_ms, p99_ms, tokens
       from public.analytics_series($1::uuid, $2::timestamptz, $3::timestamptz, $4, $5)`,
      [organizationId, from.toISOString(), to.toISOString(), query.granularity, query.name ?? null],
    );
    return {
      organization_id: organizationId,
      granularity: query.granularity,
      from: from.toISOString(),
      to: to.toISOString(),
      series: rows.map(toPoint),
    };
  });
}

async function personalOrganization(tx: Queryable): Promise<string> {
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
}

function toPoint(row: SeriesRow): SummaryPoint {
  const count = Number(row.count);
  return {
    bucket: new Date(row.bucket).toISOString(),
    name: row.name,
    count,
    error_rate: count === 0 ? 0 : Number(row.error_count) / count,
    p50_ms: row.p50_ms === null ? null : Number(row.p50_ms),
    p95_ms: row.p95_ms === null ? null : Number(row.p95_ms),
    p99_ms: row.p99_ms === null ? null : Number(row.p99_ms),
    tokens: Number(row.tokens),
  };
}
