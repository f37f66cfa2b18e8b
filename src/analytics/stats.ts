// Stats of one service over a range: count, total, average, min, max, and p95 / p99 exact over
// the raw records. Percentiles use the nearest-rank definition: pXX is the smallest recorded
// quantity q such that at least XX % of the records have quantity ≤ q (rank ⌈XX/100 × N⌉).
// Records that were archived are gone from usage_records but still counted in the rollups;
// comparing the two tells the caller when the percentiles cover only part of the range.
import { sql } from 'kysely';
import type { ReadDb } from '../storage/schema';
import { formatNanos } from '../core/money';
import { joinLimbs } from '../core/quantity';
import { dayStart, hourStart, toIso } from '../core/time';
import type { ServiceDefinition } from '../core/services';
import {
  checkRange,
  exact,
  rawCostText,
  rawQuantityHi,
  rawQuantityLo,
  requireService,
  rollupCostText,
  rollupQuantityHi,
  rollupQuantityLo,
  roundDisplay,
  serviceMap,
  unitsToDisplay,
  type Range,
} from './common';

export interface StatsQuery extends Range {
  readonly service: string;
  readonly customerId?: string | undefined;
}

export interface UsageStats {
  readonly service: string;
  readonly unit: string;
  readonly from: string;
  readonly to: string;
  readonly customerId: string | null;
  readonly totalEvents: number;
  /** Display units. */
  readonly totalQuantity: number;
  readonly average: number;
  readonly min: number | null;
  readonly max: number | null;
  readonly p95: number | null;
  readonly p99: number | null;
  readonly percentileMethod: 'nearest-rank';
  readonly totalCost: string;
  readonly totalCostNanos: number;
  /** Records the rollups count in the range's hours but usage_records no longer holds (archived). */
  readonly archivedEvents: number;
  /** A sentence for the user when archivedEvents > 0, else null. */
  readonly note: string | null;
}

/** 1-based nearest rank of percentile p (0 < p ≤ 100) among n values. */
export function nearestRank(p: number, n: number): number {
  return Math.max(1, Math.ceil((p / 100) * n));
}

export async function usageStats(db: ReadDb, q: StatsQuery): Promise<UsageStats> {
  checkRange(q);
  const def = requireService(await serviceMap(db), q.service);
  // Whole UTC days: the day rollups and the quantity histogram answer without reading records.
  if (dayStart(q.from) === q.from && dayStart(q.to) === q.to) {
    const fast = await fromHistogram(db, def, q);
    if (fast !== null) return fast;
  }
  return fromRecords(db, def, q);
}

/**
 * Exact stats from the day rollups (count, sum, cost, min, max) and the per-day quantity
 * histogram (migration 0016) for p95/p99: the distinct quantities of the range, largest first,
 * counted down to the nearest rank. Reads one row per distinct quantity and day, not one per
 * record (a month of request counts: a few dozen rows). Null when the histogram does not cover
 * the range (records archived before it existed): the raw records answer then.
 */
async function fromHistogram(db: ReadDb, def: ServiceDefinition, q: StatsQuery): Promise<UsageStats | null> {
  let roll = db
    .selectFrom('rollups')
    .select([
      sql<number>`coalesce(sum(event_count), 0)`.as('n'),
      rollupQuantityHi.as('hi'),
      rollupQuantityLo.as('lo'),
      rollupCostText.as('cost'),
      sql<number | null>`min(min_quantity)`.as('min'),
      sql<number | null>`max(max_quantity)`.as('max'),
    ])
    .where('period', '=', 'day')
    .where('service', '=', def.name)
    .where('bucket_start', '>=', q.from)
    .where('bucket_start', '<', q.to);
  if (q.customerId) roll = roll.where('customer_id', '=', q.customerId);
  let hist = db.selectFrom('quantity_histogram').where('service', '=', def.name).where('day', '>=', q.from).where('day', '<', q.to);
  if (q.customerId) hist = hist.where('customer_id', '=', q.customerId);
  const [agg, counted] = await Promise.all([
    roll.executeTakeFirstOrThrow(),
    hist.select(sql<number>`coalesce(sum(n), 0)`.as('n')).executeTakeFirstOrThrow(),
  ]);
  const n = agg.n;
  if (counted.n !== n) return null;
  let p95: string | null = null;
  let p99: string | null = null;
  if (n > 0) {
    // Rank r (ascending) is position n − r + 1 from the top: walk down until it is reached.
    const want99 = n - nearestRank(99, n) + 1;
    const want95 = n - nearestRank(95, n) + 1;
    let seen = 0;
    // Rows in quantity order (equal quantities of other days and customers are neighbours, so
    // no grouping); at most want95 rows are needed, which lets SQLite keep a bounded top-k
    // sorter instead of sorting the whole range (storage samples: a row per record).
    const top = hist
      .select([sql<string>`CAST(quantity AS TEXT)`.as('q'), 'n'])
      .orderBy('quantity', 'desc')
      .limit(want95);
    for await (const row of top.stream(1000)) {
      seen += row.n;
      if (p99 === null && seen >= want99) p99 = row.q;
      if (seen >= want95) {
        p95 = row.q;
        break;
      }
    }
  }
  const d = (x: number | bigint | string | null) => (x === null ? null : roundDisplay(unitsToDisplay(def, BigInt(x))));
  const total = joinLimbs(agg.hi, agg.lo);
  const cost = exact(agg.cost);
  return {
    ...header(def, q),
    totalEvents: n,
    totalQuantity: d(total)!,
    average: n > 0 ? roundDisplay(unitsToDisplay(def, total) / n) : 0,
    min: d(agg.min),
    max: d(agg.max),
    p95: d(p95),
    p99: d(p99),
    percentileMethod: 'nearest-rank',
    totalCost: formatNanos(cost),
    totalCostNanos: Number(cost),
    // The histogram and the rollups keep archived records: these stats cover them all.
    archivedEvents: 0,
    note: null,
  };
}

function header(def: ServiceDefinition, q: StatsQuery): Pick<UsageStats, 'service' | 'unit' | 'from' | 'to' | 'customerId'> {
  return { service: def.name, unit: def.displayUnit, from: toIso(q.from), to: toIso(q.to), customerId: q.customerId ?? null };
}

/** Stats over the raw records: ranges with edges inside a day. */
async function fromRecords(db: ReadDb, def: ServiceDefinition, q: StatsQuery): Promise<UsageStats> {
  let base = db
    .selectFrom('usage_records')
    .where('service', '=', def.name)
    .where('recorded_at', '>=', q.from)
    .where('recorded_at', '<', q.to)
    .where('voided_at', 'is', null); // voided events count no more
  if (q.customerId) base = base.where('customer_id', '=', q.customerId);
  const agg = await base
    .select([
      sql<number>`count(*)`.as('n'),
      rawQuantityHi.as('hi'),
      rawQuantityLo.as('lo'),
      sql<number | null>`min(quantity)`.as('min'),
      sql<number | null>`max(quantity)`.as('max'),
      rawCostText.as('cost'),
    ])
    .executeTakeFirstOrThrow();
  const n = agg.n;
  let p95: number | null = null;
  let p99: number | null = null;
  if (n > 0 && agg.min === agg.max) {
    p95 = p99 = agg.min; // every record has the same quantity (request counts): no sort needed
  } else if (n > 0) {
    // Rank r (ascending) is position n − r + 1 from the top: read only the top 5 % in descending
    // order, which SQLite keeps in a small bounded sorter instead of sorting every record.
    const r95 = nearestRank(95, n);
    const r99 = nearestRank(99, n);
    const top = await base
      .select('quantity')
      .orderBy('quantity', 'desc')
      .limit(n - r95 + 1)
      .execute();
    p95 = Number(top[n - r95]!.quantity);
    p99 = Number(top[n - r99]!.quantity);
  }
  // Compare with the rollups over the whole hours the range touches: a shortfall is archived data.
  let roll = db
    .selectFrom('rollups')
    .select(sql<number | null>`sum(event_count)`.as('n'))
    .where('period', '=', 'hour')
    .where('service', '=', def.name)
    .where('bucket_start', '>=', hourStart(q.from))
    .where('bucket_start', '<', q.to);
  if (q.customerId) roll = roll.where('customer_id', '=', q.customerId);
  let rawWide = db
    .selectFrom('usage_records')
    .select(sql<number>`count(*)`.as('n'))
    .where('voided_at', 'is', null)
    .where('service', '=', def.name)
    .where('recorded_at', '>=', hourStart(q.from))
    .where('recorded_at', '<', hourStart(q.to) === q.to ? q.to : hourStart(q.to) + 3_600_000);
  if (q.customerId) rawWide = rawWide.where('customer_id', '=', q.customerId);
  const [rolled, raw] = await Promise.all([roll.executeTakeFirst(), rawWide.executeTakeFirstOrThrow()]);
  const archivedEvents = Math.max(0, (rolled?.n ?? 0) - raw.n);
  const total = joinLimbs(agg.hi, agg.lo);
  const cost = exact(agg.cost);
  // Units → display units; the average divides exactly before the one conversion to a double.
  const d = (x: number | bigint | null) => (x === null ? null : roundDisplay(unitsToDisplay(def, x)));
  return {
    ...header(def, q),
    totalEvents: n,
    totalQuantity: d(total)!,
    average: n > 0 ? roundDisplay(unitsToDisplay(def, total) / n) : 0,
    min: d(agg.min),
    max: d(agg.max),
    p95: d(p95),
    p99: d(p99),
    percentileMethod: 'nearest-rank',
    totalCost: formatNanos(cost),
    totalCostNanos: Number(cost),
    archivedEvents,
    note:
      archivedEvents > 0
        ? `${archivedEvents} records in this range were archived: the rollups still count them, but these stats (and p95/p99) cover only the ${n} records still in the database`
        : null,
  };
}
