// Trends (daily totals with the previous day and the change) and peaks (the busiest hours or
// days), both from the rollups, so they cost the same however many raw records there are.
import { sql, type Kysely } from 'kysely';
import type { Database } from '../storage/schema';
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

export interface TrendsQuery extends Range {
  /** One service, or every service with usage in the range. */
  readonly service?: string | undefined;
  readonly customerId?: string | undefined;
}

/** A day's line of the usage report (usage in display units) with the day-over-day change. */
export interface TrendRow extends DailyLine {
  /** The previous day's usage (0 when it had none); null on the first day of the range. */
  readonly previous: number | null;
  /** Percent change of usage from the previous day; null when there is no previous day or it was 0. */
  readonly changePercent: number | null;
}

export interface TrendsResult {
  readonly from: string;
  readonly to: string;
  readonly customerId: string | null;
  readonly rows: readonly TrendRow[];
}

const DAY = 86_400_000;

export async function trends(db: Kysely<Database>, q: TrendsQuery): Promise<TrendsResult> {
  checkRange(q);
  const services = await serviceMap(db);
  if (q.service) requireService(services, q.service);
  const from = q.from - (((q.from % DAY) + DAY) % DAY);
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
    .where('bucket_start', '>=', from)
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
  const rows: TrendRow[] = [];
  // Every day of the range appears, zero-usage days included, so changes are day over day.
  for (const [service, days] of [...byService].sort(([a], [b]) => a.localeCompare(b))) {
    const def = services.get(service);
    let previous: number | null = null;
    for (let day = from; day < q.to; day += DAY) {
      const r = days.get(day);
      const units = joinLimbs(r?.hi, r?.lo);
      const usage = roundDisplay(def ? unitsToDisplay(def, units) : Number(units));
      const cost = exact(r?.cost);
      rows.push({
        day: toIso(day).slice(0, 10),
        service,
        events: r?.events ?? 0,
        usage,
        unit: def?.displayUnit ?? '',
        cost: formatNanos(cost),
        costNanos: Number(cost),
        previous,
        changePercent: previous === null || previous === 0 ? null : Math.round(((usage - previous) / previous) * 1000) / 10,
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

export async function peaks(db: Kysely<Database>, q: PeaksQuery): Promise<PeaksResult> {
  checkRange(q);
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
    // The limbs joined as a double: enough to rank by (the figures shown are exact).
    .orderBy(sql`sum(sum_quantity_hi) * 4294967296.0 + sum(sum_quantity_lo)`, 'desc')
    .orderBy('bucket_start')
    .limit(q.top);
  if (q.customerId) query = query.where('customer_id', '=', q.customerId);
  const rows = (await query.execute()).map((r, i) => ({
    rank: i + 1,
    start: toIso(r.bucket_start),
    events: r.events,
    usage: roundDisplay(unitsToDisplay(def, joinLimbs(r.hi, r.lo))),
    unit: def.displayUnit,
    cost: formatNanos(exact(r.cost)),
  }));
  return { service: def.name, by: q.by, from: toIso(q.from), to: toIso(q.to), rows };
}
