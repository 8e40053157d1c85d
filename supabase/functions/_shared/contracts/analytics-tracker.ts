/**
 * `analytics-tracker`'s requests and responses: record usage events (`POST /`) and read an
 * organization's series (`GET /summary`, owners and admins).
 */
import { z } from "zod";

/** Event names: lowercase, dots and underscores, 1..64 characters. */
export const EVENT_NAME_PATTERN = /^[a-z][a-z0-9_.]{0,63}$/;
/** Largest `properties` object, in bytes of its JSON text. */
export const MAX_PROPERTIES_BYTES = 8192;
/** Most events in one request. */
export const MAX_EVENTS_PER_REQUEST = 500;
/** How old an event's occurred_at may be (7 days), and how far ahead (5 minutes), in ms. */
export const MAX_EVENT_AGE_MS = 7 * 24 * 60 * 60 * 1000;
export const MAX_EVENT_SKEW_MS = 5 * 60 * 1000;
/** `properties.outcome` values that make an event count as an error. */
export const ERROR_OUTCOMES = ["error", "failed", "failure", "timeout"] as const;

/**
 * One event. `id` is the client's id for it (stored once per user and organization however often
 * it is sent); `occurred_at` defaults to the time it is received; `duration_ms` feeds the
 * percentiles; `properties.outcome` ("error", "failed", "failure", "timeout") or
 * `properties.error: true` marks an error; `properties.tokens` (a non-negative integer) counts
 * tokens. Each event is checked on its own: a bad one is rejected, the others are kept.
 */
export const TrackedEvent = z.object({
  id: z.string().min(1).max(128).optional(),
  name: z.string().regex(EVENT_NAME_PATTERN, "Must match ^[a-z][a-z0-9_.]{0,63}$"),
  occurred_at: z.iso.datetime({ offset: true }).optional(),
  properties: z.record(z.string(), z.unknown()).optional(),
  duration_ms: z.number().min(0).max(2_147_483_647).optional(),
  value: z.number().optional(),
  session_id: z.string().min(1).max(128).optional(),
});
export type TrackedEvent = z.infer<typeof TrackedEvent>;

/**
 * `POST /functions/v1/analytics-tracker`. The envelope is checked as a whole (400); the events
 * one by one. `organization_id`: one of the caller's organizations (403 otherwise); default the
 * caller's personal organization. Required with the service credential. Unknown envelope fields
 * are refused (400), as on the other functions.
 */
export const TrackRequest = z.strictObject({
  events: z.array(z.unknown()).min(1).max(MAX_EVENTS_PER_REQUEST),
  organization_id: z.uuid().optional(),
});
export type TrackRequest = z.infer<typeof TrackRequest>;

export const TrackResponse = z.object({
  /** Events stored by this request. */
  accepted: z.int().nonnegative(),
  /** Valid events whose `id` was already stored (or repeated within the request). */
  duplicates: z.int().nonnegative(),
  /** Events refused, by their index in `events`. */
  rejected: z.array(z.object({ index: z.int().nonnegative(), error: z.string() })),
});
export type TrackResponse = z.infer<typeof TrackResponse>;

export const GRANULARITIES = ["hour", "day"] as const;

/**
 * `GET /functions/v1/analytics-tracker/summary`. Defaults: `to` now, `from` 24 hours (hour) or
 * 30 days (day) before `to`; at most 31 days of hours or 800 days of days.
 */
export const SummaryQuery = z.object({
  from: z.iso.datetime({ offset: true }).optional(),
  to: z.iso.datetime({ offset: true }).optional(),
  granularity: z.enum(GRANULARITIES).default("hour"),
  name: z.string().regex(EVENT_NAME_PATTERN, "Must match ^[a-z][a-z0-9_.]{0,63}$").optional(),
  organization_id: z.uuid().optional(),
});
export type SummaryQuery = z.input<typeof SummaryQuery>;

export const SummaryPoint = z.object({
  /** Start of the UTC hour or day, ISO 8601. */
  bucket: z.string(),
  name: z.string(),
  count: z.int().nonnegative(),
  /** errors / count. */
  error_rate: z.number(),
  /** percentile_cont over the bucket's durations; null when no event had one. */
  p50_ms: z.number().nullable(),
  p95_ms: z.number().nullable(),
  p99_ms: z.number().nullable(),
  tokens: z.int().nonnegative(),
});
export type SummaryPoint = z.infer<typeof SummaryPoint>;

export const SummaryResponse = z.object({
  organization_id: z.uuid(),
  granularity: z.enum(GRANULARITIES),
  from: z.string(),
  to: z.string(),
  series: z.array(SummaryPoint),
});
export type SummaryResponse = z.infer<typeof SummaryResponse>;
