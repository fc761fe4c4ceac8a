/**
 * Periods of personal data: calendar months, UTC, named `YYYY-MM` (so they sort as strings). Each
 * subject gets one data key per period, so retention can destroy a month at a time.
 */

const DAY_MS = 86_400_000;

/** The period that time `ms` (epoch milliseconds) falls in. */
export function periodOf(ms: number): string {
  const date = new Date(ms);
  return `${date.getUTCFullYear()}-${String(date.getUTCMonth() + 1).padStart(2, '0')}`;
}

/**
 * The first period not wholly older than `retentionDays` at `now`: every period before it ended
 * at least that long ago, and only those may be expired.
 */
export function firstRetainedPeriod(now: number, retentionDays: number): string {
  return periodOf(now - retentionDays * DAY_MS);
}
