// Usage per local day, week or month in a time zone, exact. The hourly rollups serve every hour
// that lies inside one local period: all of them in whole-hour zones, daylight saving included
// (New York's 23- and 25-hour days are whole hours). In a zone offset by :30 or :45 (Kolkata,
// Adelaide, Kathmandu) the hour that holds a local midnight is split by it: only those hours are
// read from the raw records, each record falling on its side of the midnight. A month in
// Kolkata reads two such half-split hours; a month of days reads one per day.
import { sql } from 'kysely';
import type { ReadDb } from '../storage/schema';
import { dayStart, hourStart, MS, parseDateInput, toIso } from '../core/time';
import { getClosedStatement } from '../storage/repos/statements';
import { zonedBoundaries, zonedLabel, zonedMonth, type ZonedPeriod } from '../core/zone';
import { checkRange, exact, serviceMap, unitsToDisplay, roundDisplay, type Range } from './common';
import { joinLimbs } from '../core/quantity';
import { formatNanos } from '../core/money';
import { checkSpan, MAX_RANGE_DAYS } from '../core/api/args';

export interface ZonedQuery extends Range {
  readonly zone: string;
  readonly period: ZonedPeriod;
  readonly customerId?: string | undefined;
  readonly service?: string | undefined;
  /** [from, to) summed as one period as it is, not widened to whole local periods (a statement window that starts where the last closed one ended). */
  readonly asIs?: boolean | undefined;
}

export interface ZonedSum {
  /** First instant of the local period (UTC ms) and its local label ("2026-11-02", "2026-11"). */
  readonly start: number;
  readonly label: string;
  readonly service: string;
  readonly events: number;
  /** Exact quantity in integer units (src/core/quantity.ts). */
  readonly units: bigint;
  readonly costNanos: bigint;
}

export interface ZonedRow {
  readonly period: string;
  readonly start: string;
  readonly hours: number;
  readonly service: string;
  readonly events: number;
  /** Display units (GB = GiB). */
  readonly usage: number;
  readonly unit: string;
  readonly cost: string;
}

/** Index of the period holding `t` among sorted boundaries (last entry = end). */
function periodIndex(bounds: readonly number[], t: number): number {
  let lo = 0;
  let hi = bounds.length - 2;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (bounds[mid]! <= t) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** Exact sums per local period × service over the periods that cover [from, to). */
export async function zonedSums(db: ReadDb, q: ZonedQuery): Promise<{ bounds: number[]; sums: ZonedSum[] }> {
  checkRange(q);
  // Boundaries, day lists and split hours all grow with the period: bounded before any is built.
  checkSpan(q, MAX_RANGE_DAYS, 'report.zoned');
  const bounds = q.asIs ? [q.from, q.to] : zonedBoundaries(q.zone, q.period, q.from, q.to);
  const first = bounds[0]!;
  const end = bounds[bounds.length - 1]!;
  // Hours a local period boundary cuts in two: read from raw records instead of the rollup.
  const split = new Set(bounds.filter((b) => b % MS.HOUR !== 0).map(hourStart));
  const acc = new Map<string, { start: number; service: string; events: number; units: bigint; cost: bigint }>();
  const add = (t: number, service: string, events: number, units: bigint, cost: bigint) => {
    const i = periodIndex(bounds, t);
    const key = `${i}\u0000${service}`;
    const a = acc.get(key);
    if (a === undefined) acc.set(key, { start: bounds[i]!, service, events, units, cost });
    else {
      a.events += events;
      a.units += units;
      a.cost += cost;
    }
  };

  // UTC days that lie inside one local period are read from the day rollups; the hours of the
  // other days (a local midnight falls in them) from the hour rollups: a month is ~30 day rows
  // and ~48 hour rows per customer × service instead of ~720.
  const days: number[] = [];
  for (let d = dayStart(first) + (dayStart(first) < first ? MS.DAY : 0); d + MS.DAY <= end; d += MS.DAY) {
    if (periodIndex(bounds, d) === periodIndex(bounds, d + MS.DAY - 1)) days.push(d);
  }
  const hourRanges: Array<[number, number]> = [];
  let cursor = hourStart(first);
  for (const d of days) {
    if (d > cursor) hourRanges.push([cursor, d]);
    cursor = d + MS.DAY;
  }
  if (cursor < end) hourRanges.push([cursor, end]);
  const ranges: Array<['hour' | 'day', number, number]> = [
    ...hourRanges.map(([f, t]): ['hour', number, number] => ['hour', f, t]),
    ...(days.length > 0 ? [['day', days[0]!, days[days.length - 1]! + MS.DAY] as ['day', number, number]] : []),
  ];
  const kept = new Set(days);
  for (const [period, f, t] of ranges) {
    let rollup = db
      .selectFrom('rollups')
      .select([
        'bucket_start',
        'service',
        sql<number>`sum(event_count)`.as('events'),
        sql<string>`CAST(sum(sum_quantity_hi) AS TEXT)`.as('hi'),
        sql<string>`CAST(sum(sum_quantity_lo) AS TEXT)`.as('lo'),
        sql<string>`CAST(sum(sum_cost_nanos) AS TEXT)`.as('cost'),
      ])
      .where('period', '=', period)
      .where('bucket_start', '>=', f)
      .where('bucket_start', '<', t)
      .groupBy(['bucket_start', 'service']);
    if (q.customerId !== undefined) rollup = rollup.where('customer_id', '=', q.customerId);
    if (q.service !== undefined) rollup = rollup.where('service', '=', q.service);
    for (const r of await rollup.execute()) {
      if (period === 'day' ? !kept.has(r.bucket_start) : split.has(r.bucket_start) || r.bucket_start < first) continue;
      add(r.bucket_start, r.service, r.events, joinLimbs(r.hi, r.lo), exact(r.cost));
    }
  }

  // A split hour is summed in SQL on each side of its local midnight (a few rows, not one per record).
  for (const h of split) {
    const cuts = [
      Math.max(h, first),
      ...bounds.filter((x) => x > h && x < h + MS.HOUR && x > first && x < end),
      Math.min(h + MS.HOUR, end),
    ];
    for (let i = 0; i + 1 < cuts.length; i++) {
      let raw = db
        .selectFrom('usage_records')
        .select([
          'service',
          sql<number>`count(*)`.as('events'),
          sql<string>`CAST(sum(quantity >> 32) AS TEXT)`.as('hi'),
          sql<string>`CAST(sum(quantity & 4294967295) AS TEXT)`.as('lo'),
          sql<string>`CAST(sum(cost_nanos) AS TEXT)`.as('cost'),
        ])
        .where('recorded_at', '>=', cuts[i]!)
        .where('recorded_at', '<', cuts[i + 1]!)
        .where('voided_at', 'is', null)
        .groupBy('service');
      if (q.customerId !== undefined) raw = raw.where('customer_id', '=', q.customerId);
      if (q.service !== undefined) raw = raw.where('service', '=', q.service);
      for (const r of await raw.execute()) add(cuts[i]!, r.service, r.events, joinLimbs(r.hi, r.lo), exact(r.cost));
    }
  }

  const sums = [...acc.values()]
    .map((a) => ({
      start: a.start,
      label: zonedLabel(q.zone, q.period, a.start),
      service: a.service,
      events: a.events,
      units: a.units,
      costNanos: a.cost,
    }))
    .sort((x, y) => x.start - y.start || x.service.localeCompare(y.service));
  return { bounds, sums };
}

/** The same as rows for people and machine formats: display units, exact cost text, the period's length in hours. */
export async function zonedReport(db: ReadDb, q: ZonedQuery): Promise<ZonedRow[]> {
  const services = await serviceMap(db);
  const { bounds, sums } = await zonedSums(db, q);
  const next = new Map(bounds.slice(0, -1).map((b, i) => [b, bounds[i + 1]!]));
  return sums.map((s) => {
    const def = services.get(s.service);
    return {
      period: s.label,
      start: new Date(s.start).toISOString(),
      hours: roundDisplay((next.get(s.start)! - s.start) / MS.HOUR),
      service: s.service,
      events: s.events,
      usage: def ? unitsToDisplay(def, s.units) : Number(s.units),
      unit: def?.displayUnit ?? '',
      cost: formatNanos(s.costNanos),
    };
  });
}

export interface ZonedMonth {
  readonly customerId: string;
  readonly timezone: string;
  readonly from: number;
  readonly to: number;
  /** One row per service: the customer's local month, exact. */
  readonly sums: readonly ZonedSum[];
}

/**
 * Where each customer's billing of the month before `month` ended, when that month is closed: the
 * `to` of its window (a zone listed in the frozen statement), else the UTC month's end. Null when
 * it is open, or was frozen before statements listed zones.
 */
async function billedUntil(db: ReadDb, month: string): Promise<{ until: (customerId: string) => number; zoned: string[] } | null> {
  const start = parseDateInput(month);
  if (start === null) return null;
  const closed = await getClosedStatement(db, toIso(start - 1).slice(0, 7));
  const zones = closed ? (JSON.parse(closed.body) as { timezones?: Array<{ customerId: string; to: string }> }).timezones : undefined;
  if (zones === undefined) return null;
  const ends = new Map(zones.map((z) => [z.customerId, Date.parse(z.to)]));
  return { until: (c) => ends.get(c) ?? start, zoned: [...ends.keys()] };
}

/**
 * The local month ("YYYY-MM") of every customer with a zone of its own other than UTC (or of one
 * customer): statements bill these months instead of the UTC month rollup. When the month before
 * is closed, a customer's window starts where that one's ended: a zone changed since (or set, or
 * cleared: then billed in UTC from there) neither bills the hours between twice nor skips them.
 */
export async function zonedCustomerMonths(
  db: ReadDb,
  month: string,
  customerId?: string,
  installation?: string,
): Promise<Map<string, ZonedMonth>> {
  const fallback = installation === undefined || installation === 'UTC' ? null : installation;
  let q = db.selectFrom('customers').select(['id', 'timezone']);
  if (fallback === null) q = q.where('timezone', 'is not', null);
  if (customerId !== undefined) q = q.where('id', '=', customerId);
  const prev = await billedUntil(db, month);
  const windows: Array<{ customerId: string; zone: string; from: number; to: number; natural: boolean }> = [];
  for (const c of await q.execute()) {
    const zone = c.timezone ?? fallback;
    if (zone === null || zone === 'UTC') continue;
    const local = zonedMonth(zone, month);
    const from = prev ? prev.until(c.id) : local.from;
    windows.push({ customerId: c.id, zone, from, to: local.to, natural: from === local.from });
  }
  // Zoned last month, billed in UTC now: from where last month's window ended to the UTC month's end.
  const utc = zonedMonth('UTC', month);
  for (const id of prev?.zoned ?? []) {
    if ((customerId !== undefined && id !== customerId) || windows.some((w) => w.customerId === id)) continue;
    const from = prev!.until(id);
    if (from !== utc.from) windows.push({ customerId: id, zone: 'UTC', from, to: utc.to, natural: false });
  }
  const out = new Map<string, ZonedMonth>();
  for (const w of windows) {
    const window = { zone: w.zone, period: 'month' as const, from: w.from, to: w.to, customerId: w.customerId, asIs: !w.natural };
    out.set(w.customerId, { customerId: w.customerId, timezone: w.zone, from: w.from, to: w.to, sums: (await zonedSums(db, window)).sums });
  }
  return out;
}
