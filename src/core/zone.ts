// Calendar periods in an IANA time zone. Days, weeks (ISO, Monday) and months start at the
// zone's local midnight, found through Intl (the platform's tz database), so a day is 23 or 25
// hours across a daylight-saving change and a zone may be offset by :30 or :45 (Asia/Kolkata,
// Australia/Adelaide, Asia/Kathmandu). Every boundary is a UTC instant in ms.
import { invalid } from './errors';

export type ZonedPeriod = 'day' | 'week' | 'month';

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(zone: string): Intl.DateTimeFormat {
  let f = formatters.get(zone);
  if (f === undefined) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(zone, f);
  }
  return f;
}

/** Whether `zone` is an IANA zone name the platform knows ("UTC" included). */
export function isTimeZone(zone: unknown): zone is string {
  if (typeof zone !== 'string' || zone.length === 0 || zone.length > 64) return false;
  try {
    formatter(zone);
    return true;
  } catch {
    return false;
  }
}

/** The zone's canonical name, or invalid(field) naming what is accepted. */
export function checkTimeZone(zone: unknown, field = 'timezone'): string {
  if (!isTimeZone(zone))
    throw invalid(
      field,
      `"${String(zone).slice(0, 64)}" is not an IANA time zone (for example UTC, Europe/Paris, America/New_York, Asia/Kolkata)`,
    );
  // Keep the user's name (ICU would turn Asia/Kolkata into Asia/Calcutta); only fix its case.
  const resolved = formatter(zone).resolvedOptions().timeZone;
  return resolved.toLowerCase() === zone.toLowerCase() ? resolved : zone;
}

export interface LocalTime {
  readonly year: number;
  readonly month: number; // 1–12
  readonly day: number;
  readonly hour: number;
  readonly minute: number;
  readonly second: number;
}

export function localTime(zone: string, ms: number): LocalTime {
  const p: Record<string, number> = {};
  for (const part of formatter(zone).formatToParts(ms)) if (part.type !== 'literal') p[part.type] = Number(part.value);
  return { year: p.year!, month: p.month!, day: p.day!, hour: p.hour!, minute: p.minute!, second: p.second! };
}

/** Local wall time minus UTC at `ms` (+5:30 → 19 800 000). Whole seconds: zones have no finer offsets today. */
export function offsetAt(zone: string, ms: number): number {
  const t = localTime(zone, ms);
  const wall = Date.UTC(t.year, t.month - 1, t.day, t.hour, t.minute, t.second);
  return wall - (ms - (((ms % 1000) + 1000) % 1000));
}

/**
 * The first instant whose local date is (year, month, day): its midnight, or the end of the
 * daylight-saving gap when midnight does not exist there (America/Santiago, Asia/Beirut).
 */
export function startOfLocalDate(zone: string, year: number, month: number, day: number): number {
  const wall = Date.UTC(year, month - 1, day);
  let t = wall - offsetAt(zone, wall);
  t = wall - offsetAt(zone, t);
  // Off by a gap or a fold: step to the first instant of that date (bounded; gaps are ≤ 2 h).
  const key = (lt: LocalTime) => Date.UTC(lt.year, lt.month - 1, lt.day);
  for (let i = 0; i < 16 && key(localTime(zone, t)) < wall; i++) t += 15 * 60_000;
  for (let i = 0; i < 16 && key(localTime(zone, t - 15 * 60_000)) >= wall; i++) t -= 15 * 60_000;
  return t;
}

/** Start of the local day, ISO week (Monday) or month containing `ms`. */
export function zonedStart(zone: string, period: ZonedPeriod, ms: number): number {
  const t = localTime(zone, ms);
  if (period === 'month') return startOfLocalDate(zone, t.year, t.month, 1);
  if (period === 'day') return startOfLocalDate(zone, t.year, t.month, t.day);
  const weekday = (new Date(Date.UTC(t.year, t.month - 1, t.day)).getUTCDay() + 6) % 7; // 0 = Monday
  const monday = new Date(Date.UTC(t.year, t.month - 1, t.day - weekday));
  return startOfLocalDate(zone, monday.getUTCFullYear(), monday.getUTCMonth() + 1, monday.getUTCDate());
}

/** The start of the local period after the one that starts at `start`. */
export function zonedNext(zone: string, period: ZonedPeriod, start: number): number {
  const t = localTime(zone, start);
  const next = new Date(
    Date.UTC(t.year, t.month - 1 + (period === 'month' ? 1 : 0), period === 'month' ? 1 : t.day + (period === 'week' ? 7 : 1)),
  );
  return startOfLocalDate(zone, next.getUTCFullYear(), next.getUTCMonth() + 1, next.getUTCDate());
}

/** Period starts covering [from, to): the first is the start of the period holding `from`; the last entry is the end. */
export function zonedBoundaries(zone: string, period: ZonedPeriod, from: number, to: number): number[] {
  const out = [zonedStart(zone, period, from)];
  while (out[out.length - 1]! < to) out.push(zonedNext(zone, period, out[out.length - 1]!));
  return out;
}

/** "2026-11-02" (day, week) or "2026-11" (month): the local label of a period start. */
export function zonedLabel(zone: string, period: ZonedPeriod, start: number): string {
  const t = localTime(zone, start);
  const ym = `${t.year}-${String(t.month).padStart(2, '0')}`;
  return period === 'month' ? ym : `${ym}-${String(t.day).padStart(2, '0')}`;
}

/** The UTC instants of a local month "YYYY-MM" in `zone`: [from, to). */
export function zonedMonth(zone: string, month: string, field = 'month'): { from: number; to: number } {
  const m = /^(\d{4})-(\d{2})$/.exec(month);
  if (!m || Number(m[2]) < 1 || Number(m[2]) > 12) throw invalid(field, `"${month}" must be YYYY-MM`);
  const from = startOfLocalDate(zone, Number(m[1]), Number(m[2]), 1);
  return { from, to: zonedNext(zone, 'month', from) };
}
