// UTC calendar buckets. Rollups, quotas and reports all cut time the same way.
export type Period = 'hour' | 'day' | 'week' | 'month';

const HOUR = 3_600_000;
const DAY = 86_400_000;

// Math.floor of the quotient, not a double remainder (fmod: about twice the time, once per record
// in the writer). Exact for every integer millisecond a Date holds: the quotient's error is far
// below 1/HOUR, so it never rounds up across a bucket's edge (checked in test/core/buckets.test.ts).
export function hourStart(ms: number): number {
  return Math.floor(ms / HOUR) * HOUR;
}

export function dayStart(ms: number): number {
  return Math.floor(ms / DAY) * DAY;
}

/** ISO week: starts on Monday 00:00 UTC. 1970-01-01 was a Thursday. */
export function weekStart(ms: number): number {
  const day = dayStart(ms);
  const weekday = (Math.floor(day / DAY) + 3) % 7; // 0 = Monday
  return day - ((weekday + 7) % 7) * DAY;
}

export function monthStart(ms: number): number {
  const d = new Date(ms);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
}

export function nextMonthStart(ms: number): number {
  const d = new Date(ms);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
}

export function bucketStart(period: Period, ms: number): number {
  switch (period) {
    case 'hour':
      return hourStart(ms);
    case 'day':
      return dayStart(ms);
    case 'week':
      return weekStart(ms);
    case 'month':
      return monthStart(ms);
  }
}

/** The first instant after the bucket that contains `ms`. */
export function bucketEnd(period: Period, ms: number): number {
  switch (period) {
    case 'hour':
      return hourStart(ms) + HOUR;
    case 'day':
      return dayStart(ms) + DAY;
    case 'week':
      return weekStart(ms) + 7 * DAY;
    case 'month':
      return nextMonthStart(ms);
  }
}

export const MS = { HOUR, DAY } as const;

/** What every date field accepts, for error messages. */
export const DATE_FORMS =
  'RFC 3339 / ISO 8601 (2026-11-22T14:05:00Z, 2026-11-22T15:05:00+01:00, 2026-11-22) or "2026-11-22 14:05:00" (UTC), from 1970 on';

const INSTANT = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|z|[+-]\d{2}:?\d{2})?)?$/;

/**
 * Instants are milliseconds since 1970 (negative ones mean nothing to a meter), and Date.UTC
 * would read years 0-99 as 1900-1999: earlier years are refused rather than moved.
 */
const FIRST_YEAR = 1970;

function isLeap(y: number): boolean {
  return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
}

const MONTH_DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** Days in `month` (1-12) of `year`; no Date object (a hot path). */
function daysInMonth(year: number, month: number): number {
  return month === 2 && isLeap(year) ? 29 : MONTH_DAYS[month - 1]!;
}

/** Days from 1970-01-01 to `y`-`m`-`d` (proleptic Gregorian), by integer arithmetic. */
function daysFromCivil(y: number, m: number, d: number): number {
  y -= m <= 2 ? 1 : 0;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  return era * 146_097 + yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy - 719_468;
}

/** The number written by the `n` digits at `i`, or -1 when one is not a digit. */
function digits(t: string, i: number, n: number): number {
  let v = 0;
  for (let end = i + n; i < end; i++) {
    const c = t.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return -1;
    v = v * 10 + c;
  }
  return v;
}

/**
 * "2026-11-22T14:05:00.123Z", the form toISOString() writes and most files carry, read without
 * the regular expression: the same checks and the same result as the general path below, or
 * undefined for any other shape (which the general path then reads).
 */
function parseIsoMillisUtc(t: string): number | null | undefined {
  if (
    t.length !== 24 ||
    t.charCodeAt(4) !== 45 /* - */ ||
    t.charCodeAt(7) !== 45 ||
    t.charCodeAt(10) !== 84 /* T */ ||
    t.charCodeAt(13) !== 58 /* : */ ||
    t.charCodeAt(16) !== 58 ||
    t.charCodeAt(19) !== 46 /* . */ ||
    t.charCodeAt(23) !== 90 /* Z */
  ) {
    return undefined;
  }
  const year = digits(t, 0, 4);
  const month = digits(t, 5, 2);
  const day = digits(t, 8, 2);
  const hour = digits(t, 11, 2);
  const minute = digits(t, 14, 2);
  const second = digits(t, 17, 2);
  const ms = digits(t, 20, 3);
  if ((year | month | day | hour | minute | second | ms) < 0) return undefined;
  if (year < FIRST_YEAR || month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return null;
  if (hour > 23 || minute > 59 || second > 59) return null;
  return daysFromCivil(year, month, day) * DAY + hour * HOUR + minute * 60_000 + second * 1000 + ms;
}

/** "+05:30" / "-0800" / "Z" → minutes east of UTC, or null when impossible. */
function offsetMinutes(zone: string | undefined): number | null {
  if (zone === undefined || zone === 'Z' || zone === 'z') return 0;
  const m = /^([+-])(\d{2}):?(\d{2})$/.exec(zone)!;
  const h = Number(m[2]);
  const min = Number(m[3]);
  if (h > 23 || min > 59) return null;
  return (m[1] === '-' ? -1 : 1) * (h * 60 + min);
}

/**
 * The one strict parser for instants (API, CLI, imports, config): RFC 3339 / ISO 8601 with "T"
 * or a space, a date alone (midnight UTC), no zone meaning UTC. Every field is range-checked, so
 * an impossible date ("2024-02-30") is refused instead of rolling into the next month.
 * (RFC 3339 allows the space; Python's str(datetime) writes it.)
 */
export function parseInstant(text: string): number | null {
  const fast = parseIsoMillisUtc(text);
  if (fast !== undefined) return fast;
  const m = INSTANT.exec(text.trim());
  if (!m) return null;
  const [, y, mo, d, h, mi, sec, frac, zone] = m;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  if (year < FIRST_YEAR || month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return null;
  const date = daysFromCivil(year, month, day) * DAY;
  if (h === undefined) return date;
  const hour = Number(h);
  const minute = Number(mi);
  const second = sec === undefined ? 0 : Number(sec);
  if (hour > 23 || minute > 59 || second > 59) return null;
  const offset = offsetMinutes(zone);
  if (offset === null) return null;
  const ms = frac === undefined ? 0 : Number(frac.padEnd(3, '0').slice(0, 3));
  const instant = date + hour * HOUR + minute * 60_000 + second * 1000 + ms - offset * 60_000;
  // 1970-01-01T00:30+01:00 is still 1969 in UTC.
  return instant < 0 ? null : instant;
}

/**
 * Parses a user's date for a range: "2026-11", "2026-11-22", or an instant (parseInstant).
 * `end` makes a date-only or month-only value mean the end of that day/month (exclusive), so
 * `--to 2026-11-30` includes all of the 30th.
 */
export function parseDateInput(text: string, end = false): number | null {
  const t = text.trim();
  const month = /^(\d{4})-(\d{2})$/.exec(t);
  if (month) {
    const y = Number(month[1]);
    const mo = Number(month[2]);
    if (y < FIRST_YEAR || mo < 1 || mo > 12) return null;
    const first = end ? mo + 1 : mo; // the month after, for an end
    return daysFromCivil(first > 12 ? y + 1 : y, first > 12 ? 1 : first, 1) * DAY;
  }
  const ms = parseInstant(t);
  if (ms === null) return null;
  return end && /^\d{4}-\d{2}-\d{2}$/.test(t) ? ms + DAY : ms;
}

export function toIso(ms: number): string {
  return new Date(ms).toISOString();
}
