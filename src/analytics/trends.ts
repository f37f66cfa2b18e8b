// Trends (daily totals with the previous day and the change) and peaks (the busiest hours or
// days), both from the rollups, so they cost the same however many raw records there are.
import { sql } from 'kysely';
import type { ReadDb } from '../storage/schema';
import { invalid } from '../core/errors';
import { formatNanos } from '../core/money';
import type { DailyLine } from './usage';
import { joinLimbs } from '../core/quantity';
import { toIso } from '../core/time';
import {
  checkRange,
  exact,
  requireService,
  rollupCostText,
  rollupQuantityHi,
  rollupQuantityLo,
  roundDisplay,
  serviceMap,
  unitsToDisplay,
  type Range,
} from './common';
import { aggregateOver } from './aggregated';
import { checkSpan, MAX_RANGE_DAYS } from '../core/api/args';

export interface TrendsQuery extends Range {
  /** One service, or every service with usage in the range. */
  readonly service?: string | undefined;
  readonly customerId?: string | undefined;
  /** Now: the day holding it is partial, compared with the same part of the day before. */
  readonly now?: number | undefined;
}

/** A day's line of the usage report (usage in display units) with the day-over-day change. */
export interface TrendRow extends DailyLine {
  /**
   * The previous day's usage (0 when it had none), read even when that day is before the range.
   * On a partial day: the previous day up to the same whole hour (`comparedTo`).
   */
  readonly previous: number | null;
  /** Percent change from `previous`, truncated to one decimal; null when `previous` is 0 or none. */
  readonly changePercent: number | null;
  /** The day is still running (it holds `now`): its usage is so far. */
  readonly partial: boolean;
  /** On a partial day, the UTC time both days are compared up to ("14:00"); null otherwise. */
  readonly comparedTo: string | null;
}

export interface TrendsResult {
  readonly from: string;
  readonly to: string;
  readonly customerId: string | null;
  readonly rows: readonly TrendRow[];
}

const DAY = 86_400_000;
const HOUR = 3_600_000;

/** Percent change, truncated toward zero to one decimal (the one rule for percentages). */
function change(now: number, before: number | null): number | null {
  if (before === null || before === 0) return null;
  return Math.trunc(((now - before) / before) * 1000) / 10;
}

/** Per service: the first `hours` whole hours of `today` and of the day before, in base units. */
async function samePartOfDays(
  db: ReadDb,
  q: TrendsQuery,
  today: number,
  hours: number,
): Promise<Map<string, { current: bigint; previous: bigint }> & { hours: number }> {
  const out = Object.assign(new Map<string, { current: bigint; previous: bigint }>(), { hours });
  if (hours === 0) return out;
  let query = db
    .selectFrom('rollups')
    .select(['service', sql<number>`bucket_start >= ${today}`.as('is_today'), rollupQuantityHi.as('hi'), rollupQuantityLo.as('lo')])
    .where('period', '=', 'hour')
    .where((eb) =>
      eb.or([
        eb.and([eb('bucket_start', '>=', today), eb('bucket_start', '<', today + hours * HOUR)]),
        eb.and([eb('bucket_start', '>=', today - DAY), eb('bucket_start', '<', today - DAY + hours * HOUR)]),
      ]),
    )
    .groupBy(['service', 'is_today']);
  if (q.service) query = query.where('service', '=', q.service);
  if (q.customerId) query = query.where('customer_id', '=', q.customerId);
  for (const r of await query.execute()) {
    const e = out.get(r.service) ?? { current: 0n, previous: 0n };
    if (r.is_today) e.current = joinLimbs(r.hi, r.lo);
    else e.previous = joinLimbs(r.hi, r.lo);
    out.set(r.service, e);
  }
  return out;
}

export async function trends(db: ReadDb, q: TrendsQuery): Promise<TrendsResult> {
  checkRange(q);
  // A row per day (and a query per day for count/max/latest services): bounded before any read.
  checkSpan(q, MAX_RANGE_DAYS, 'analytics.trends');
  const services = await serviceMap(db);
  if (q.service) requireService(services, q.service);
  const from = q.from - (((q.from % DAY) + DAY) % DAY);
  // One day more than asked: the first day's change needs the day before it.
  let query = db
    .selectFrom('rollups')
    .select([
      'service',
      'bucket_start',
      sql<number>`sum(event_count)`.as('events'),
      rollupQuantityHi.as('hi'),
      rollupQuantityLo.as('lo'),
      rollupCostText.as('cost'),
    ])
    .where('period', '=', 'day')
    .where('bucket_start', '>=', from - DAY)
    .where('bucket_start', '<', q.to)
    .groupBy(['service', 'bucket_start'])
    .orderBy('service')
    .orderBy('bucket_start');
  if (q.service) query = query.where('service', '=', q.service);
  if (q.customerId) query = query.where('customer_id', '=', q.customerId);
  const found = await query.execute();
  const byService = new Map<string, Map<number, (typeof found)[number]>>();
  for (const r of found) {
    let m = byService.get(r.service);
    if (!m) byService.set(r.service, (m = new Map()));
    m.set(r.bucket_start, r);
  }
  if (q.service && !byService.has(q.service)) byService.set(q.service, new Map());
  const today = q.now !== undefined && q.now >= from && q.now < q.to ? q.now - (((q.now % DAY) + DAY) % DAY) : null;
  const samePart = today === null ? null : await samePartOfDays(db, q, today, Math.floor((q.now! - today) / HOUR));
  const rows: TrendRow[] = [];
  // Every day of the range appears, zero-usage days included, so changes are day over day.
  for (const [service, days] of [...byService].sort(([a], [b]) => a.localeCompare(b))) {
    const def = services.get(service);
    const display = (units: bigint) => roundDisplay(def ? unitsToDisplay(def, units) : Number(units));
    // count / max / unique_count / latest services: each day's aggregate, not the sum of quantities.
    const dayAggregate = async (day: number) =>
      def && (def.aggregation ?? 'sum') !== 'sum'
        ? await aggregateOver(db, def, { from: day, to: day + DAY, customerId: q.customerId })
        : null;
    const before = days.get(from - DAY);
    const beforeAgg = await dayAggregate(from - DAY);
    let previous: number | null = beforeAgg ? roundDisplay(beforeAgg.usage) : display(joinLimbs(before?.hi, before?.lo));
    for (let day = from; day < q.to; day += DAY) {
      const r = days.get(day);
      const units = joinLimbs(r?.hi, r?.lo);
      const agg = await dayAggregate(day);
      const usage = agg ? roundDisplay(agg.usage) : display(units);
      const cost = exact(r?.cost);
      const partial = day === today;
      // A day still running is compared with the same whole hours of the day before, not all of it.
      const part = partial ? samePart!.get(service) : undefined;
      const shownPrevious = partial ? (part ? display(part.previous) : 0) : previous;
      const compared = partial ? (part ? display(part.current) : 0) : usage;
      rows.push({
        day: toIso(day).slice(0, 10),
        service,
        events: r?.events ?? 0,
        usage,
        unit: def?.displayUnit ?? '',
        cost: formatNanos(cost),
        costNanos: Number(cost),
        previous: shownPrevious,
        changePercent: change(compared, shownPrevious),
        partial,
        comparedTo: partial ? `${String(samePart!.hours).padStart(2, '0')}:00` : null,
      });
      previous = usage;
    }
  }
  return { from: toIso(from), to: toIso(q.to), customerId: q.customerId ?? null, rows };
}

export interface PeaksQuery extends Range {
  readonly service: string;
  readonly by: 'hour' | 'day';
  readonly top: number;
  readonly customerId?: string | undefined;
}

export interface PeakRow {
  readonly rank: number;
  /** Bucket start, ISO 8601 UTC. */
  readonly start: string;
  readonly events: number;
  readonly usage: number;
  readonly unit: string;
  readonly cost: string;
}

export interface PeaksResult {
  readonly service: string;
  readonly by: 'hour' | 'day';
  readonly from: string;
  readonly to: string;
  readonly rows: readonly PeakRow[];
}

export async function peaks(db: ReadDb, q: PeaksQuery): Promise<PeaksResult> {
  checkRange(q);
  checkSpan(q, MAX_RANGE_DAYS, 'analytics.peaks');
  if (q.by !== 'hour' && q.by !== 'day') throw invalid('by', `"${String(q.by)}" must be hour or day`);
  if (!Number.isInteger(q.top) || q.top < 1 || q.top > 1000) throw invalid('top', 'must be a whole number from 1 to 1000');
  const def = requireService(await serviceMap(db), q.service);
  let query = db
    .selectFrom('rollups')
    .select([
      'bucket_start',
      sql<number>`sum(event_count)`.as('events'),
      rollupQuantityHi.as('hi'),
      rollupQuantityLo.as('lo'),
      rollupCostText.as('cost'),
    ])
    .where('period', '=', q.by)
    .where('service', '=', def.name)
    .where('bucket_start', '>=', q.from)
    .where('bucket_start', '<', q.to)
    .groupBy('bucket_start')
    // The limbs joined as a double: enough to rank by (the figures shown are exact). A count or max
    // service ranks by its events or its peak reading (rollups hold both).
    .orderBy(
      def.aggregation === 'count'
        ? sql`sum(event_count)`
        : def.aggregation === 'max'
          ? sql`max(max_quantity)`
          : sql`sum(sum_quantity_hi) * 4294967296.0 + sum(sum_quantity_lo)`,
      'desc',
    )
    .orderBy('bucket_start')
    .limit(q.top);
  if (q.customerId) query = query.where('customer_id', '=', q.customerId);
  const peak = def.aggregation === 'count' || def.aggregation === 'max';
  const rows = (
    await Promise.all(
      (await query.execute()).map(async (r) => ({
        r,
        agg: peak
          ? await aggregateOver(db, def, {
              from: r.bucket_start,
              to: r.bucket_start + (q.by === 'hour' ? HOUR : DAY),
              customerId: q.customerId,
            })
          : null,
      })),
    )
  ).map(({ r, agg }, i) => ({
    rank: i + 1,
    start: toIso(r.bucket_start),
    events: r.events,
    usage: agg ? roundDisplay(agg.usage) : roundDisplay(unitsToDisplay(def, joinLimbs(r.hi, r.lo))),
    unit: def.displayUnit,
    cost: formatNanos(exact(r.cost)),
  }));
  return { service: def.name, by: q.by, from: toIso(q.from), to: toIso(q.to), rows };
}
