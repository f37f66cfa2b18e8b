// UTC calendar buckets. Rollups, quotas and reports all cut time the same way.
export type Period = 'hour' | 'day' | 'week' | 'month';

const HOUR = 3_600_000;
const DAY = 86_400_000;

export function hourStart(ms: number): number {
  return ms - (((ms % HOUR) + HOUR) % HOUR);
}

export function dayStart(ms: number): number {
  return ms - (((ms % DAY) + DAY) % DAY);
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

/**
 * Parses a user's date: "2026-11", "2026-11-22", or a full ISO timestamp. Without a zone it
 * is UTC. `end` makes a date-only or month-only value mean the end of that day/month
 * (exclusive), so `--to 2026-11-30` includes all of the 30th.
 */
export function parseDateInput(text: string, end = false): number | null {
  const t = text.trim();
  let m = /^(\d{4})-(\d{2})$/.exec(t);
  if (m) {
    const y = Number(m[1]);
    const mo = Number(m[2]) - 1;
    if (mo < 0 || mo > 11) return null;
    return Date.UTC(y, end ? mo + 1 : mo, 1);
  }
  m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(t);
  if (m) {
    const ms = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
    const back = new Date(ms);
    if (back.getUTCDate() !== Number(m[3]) || back.getUTCMonth() !== Number(m[2]) - 1) return null;
    return end ? ms + DAY : ms;
  }
  if (!/^\d{4}-\d{2}-\d{2}T/.test(t)) return null;
  const hasZone = /(Z|[+-]\d{2}:?\d{2})$/.test(t);
  const ms = Date.parse(hasZone ? t : `${t}Z`);
  return Number.isNaN(ms) ? null : ms;
}

export function toIso(ms: number): string {
  return new Date(ms).toISOString();
}
