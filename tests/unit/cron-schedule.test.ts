import assert from "node:assert/strict";
import { firstRun, nextRun } from "../../local/workers/cron.ts";

const at = new Date("2026-03-14T10:07:30Z");

Deno.test("'N seconds' runs every N seconds from when the worker sees the job", () => {
  assert.equal(firstRun("10 seconds", at)?.toISOString(), "2026-03-14T10:07:40.000Z");
  const due = new Date("2026-03-14T10:07:40Z");
  assert.equal(nextRun("10 seconds", due, due)?.toISOString(), "2026-03-14T10:07:50.000Z");
  // A worker that fell behind does not replay missed runs.
  const late = new Date("2026-03-14T10:09:00Z");
  assert.equal(nextRun("1 second", due, late)?.toISOString(), "2026-03-14T10:09:01.000Z");
});

Deno.test("five-field schedules are evaluated in UTC", () => {
  assert.equal(firstRun("*/5 * * * *", at)?.toISOString(), "2026-03-14T10:10:00.000Z");
  assert.equal(firstRun("0 3 * * *", at)?.toISOString(), "2026-03-15T03:00:00.000Z");
  assert.equal(firstRun("30 10 * * 6", at)?.toISOString(), "2026-03-14T10:30:00.000Z");
});

Deno.test("'$' is the last day of the month, and @macros work", () => {
  assert.equal(firstRun("0 0 $ * *", at)?.toISOString(), "2026-03-31T00:00:00.000Z");
  assert.equal(firstRun("@hourly", at)?.toISOString(), "2026-03-14T11:00:00.000Z");
  assert.equal(firstRun("@daily", at)?.toISOString(), "2026-03-15T00:00:00.000Z");
  assert.equal(firstRun("@reboot", at)?.toISOString(), at.toISOString());
  assert.equal(nextRun("@reboot", at, at), null);
});

Deno.test("a schedule croner cannot read never runs", () => {
  assert.equal(firstRun("61 * * * *", at), null);
});
