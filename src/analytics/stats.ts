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
import { packedColumn, QuantityCounts } from '../storage/histogram';
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
  // The whole UTC days inside the range come from the day rollups and the quantity histogram
  // without reading records; the parts of a day at either edge (a range that starts mid-day, a
  // month in a customer's zone) from the raw records there.
  const first = dayStart(q.from) === q.from ? q.from : dayStart(q.from) + DAY;
  const last = dayStart(q.to);
  if (first < last) {
    const fast = await fromHistogram(db, def, q, first, last);
    if (fast !== null) return fast;
  }
  return fromRecords(db, def, q);
}

const DAY = 86_400_000;
const HOUR = 3_600_000;

interface Part {
  n: number;
  total: bigint;
  cost: bigint;
  min: bigint | null;
  max: bigint | null;
}

function joinParts(a: Part, b: Part): Part {
  const lesser = (x: bigint | null, y: bigint | null) => (x === null ? y : y === null || x <= y ? x : y);
  const greater = (x: bigint | null, y: bigint | null) => (x === null ? y : y === null || x >= y ? x : y);
  return { n: a.n + b.n, total: a.total + b.total, cost: a.cost + b.cost, min: lesser(a.min, b.min), max: greater(a.max, b.max) };
}

const big = (x: number | bigint | string | null | undefined): bigint | null => (x === null || x === undefined ? null : BigInt(x));

/**
 * The live records of [from, to) (inside one UTC day) for the edge of a range: their figures and
 * their quantities packed as the histogram's blobs. Null when some of them were archived (the
 * rollups over the hours it touches count more records than remain): the histogram keeps archived
 * records, the raw records do not, so the caller answers from the records alone with its note.
 */
async function edge(
  db: ReadDb,
  def: ServiceDefinition,
  q: StatsQuery,
  from: number,
  to: number,
  counts: QuantityCounts,
): Promise<Part | null> {
  let base = db
    .selectFrom('usage_records')
    .where('service', '=', def.name)
    .where('recorded_at', '>=', from)
    .where('recorded_at', '<', to)
    .where('voided_at', 'is', null);
  if (q.customerId) base = base.where('customer_id', '=', q.customerId);
  const hourFrom = from - (from % HOUR);
  const hourTo = to % HOUR === 0 ? to : to - (to % HOUR) + HOUR;
  let roll = db
    .selectFrom('rollups')
    .select(sql<number | null>`sum(event_count)`.as('n'))
    .where('period', '=', 'hour')
    .where('service', '=', def.name)
    .where('bucket_start', '>=', hourFrom)
    .where('bucket_start', '<', hourTo);
  if (q.customerId) roll = roll.where('customer_id', '=', q.customerId);
  let wide = db
    .selectFrom('usage_records')
    .select(sql<number>`count(*)`.as('n'))
    .where('voided_at', 'is', null)
    .where('service', '=', def.name)
    .where('recorded_at', '>=', hourFrom)
    .where('recorded_at', '<', hourTo);
  if (q.customerId) wide = wide.where('customer_id', '=', q.customerId);
  const [agg, rolled, raw] = await Promise.all([
    base
      .select([
        sql<number>`count(*)`.as('n'),
        rawQuantityHi.as('hi'),
        rawQuantityLo.as('lo'),
        sql<string | null>`CAST(min(quantity) AS TEXT)`.as('min'),
        sql<string | null>`CAST(max(quantity) AS TEXT)`.as('max'),
        rawCostText.as('cost'),
        sql<Uint8Array | null>`${sql.raw(packedColumn('quantity'))}`.as('values'),
      ])
      .executeTakeFirstOrThrow(),
    roll.executeTakeFirst(),
    wide.executeTakeFirstOrThrow(),
  ]);
  if ((rolled?.n ?? 0) !== raw.n) return null;
  counts.add(agg.values);
  return { n: agg.n, total: joinLimbs(agg.hi, agg.lo), cost: exact(agg.cost), min: big(agg.min), max: big(agg.max) };
}

/**
 * Exact stats of the whole days [first, last) from the day rollups (count, sum, cost, min, max)
 * and the quantity histogram (src/storage/histogram.ts) for p95/p99, plus the raw records of the
 * range's edges outside those days. The histogram is one packed row per day × customer (its
 * distinct quantities and their counts) plus the deltas not yet packed; the nearest ranks are
 * selected over all of them in typed arrays (a year of storage samples: 1 825 rows, ~300 000
 * distinct quantities, no sort). Where nothing is packed yet, the delta rows are walked from the
 * top in SQL. Where min = max, no histogram is read. Null when the histogram does not cover the
 * days (records archived before it existed) or records at an edge were archived: the raw records
 * answer then.
 */
async function fromHistogram(db: ReadDb, def: ServiceDefinition, q: StatsQuery, first: number, last: number): Promise<UsageStats | null> {
  let roll = db
    .selectFrom('rollups')
    .select([
      sql<number>`coalesce(sum(event_count), 0)`.as('n'),
      rollupQuantityHi.as('hi'),
      rollupQuantityLo.as('lo'),
      rollupCostText.as('cost'),
      sql<string | null>`CAST(min(min_quantity) AS TEXT)`.as('min'),
      sql<string | null>`CAST(max(max_quantity) AS TEXT)`.as('max'),
    ])
    .where('period', '=', 'day')
    .where('service', '=', def.name)
    .where('bucket_start', '>=', first)
    .where('bucket_start', '<', last);
  if (q.customerId) roll = roll.where('customer_id', '=', q.customerId);
  let packed = db
    .selectFrom('quantity_histogram_packed')
    .select(['n', 'quantities', 'counts'])
    .where('service', '=', def.name)
    .where('day', '>=', first)
    .where('day', '<', last);
  if (q.customerId) packed = packed.where('customer_id', '=', q.customerId);
  let deltas = db.selectFrom('quantity_histogram').where('service', '=', def.name).where('day', '>=', first).where('day', '<', last);
  if (q.customerId) deltas = deltas.where('customer_id', '=', q.customerId);
  const agg = await roll.executeTakeFirstOrThrow();
  const counts = new QuantityCounts();
  let part: Part = { n: agg.n, total: joinLimbs(agg.hi, agg.lo), cost: exact(agg.cost), min: big(agg.min), max: big(agg.max) };
  for (const [from, to] of [
    [q.from, first],
    [last, q.to],
  ] as const) {
    if (from >= to) continue;
    const e = await edge(db, def, q, from, to, counts);
    if (e === null) return null;
    part = joinParts(part, e);
  }
  const n = part.n;
  let p95: number | bigint | null = null;
  let p99: number | bigint | null = null;
  if (n > 0 && part.min === part.max) {
    p95 = p99 = part.min; // every record has the same quantity (request counts): nothing to select
  } else if (n > 0) {
    const [rows, delta] = await Promise.all([
      packed.execute(),
      deltas.select([sql<number>`coalesce(sum(n), 0)`.as('n'), sql<number | null>`min(n)`.as('least')]).executeTakeFirstOrThrow(),
    ]);
    let counted = delta.n;
    for (const r of rows) counted += r.n;
    if (counted !== agg.n) return null;
    if (rows.length === 0 && counts.size === 0 && (delta.least ?? 1) > 0) {
      // Nothing packed yet (no maintenance has run): the delta rows alone, walked from the top
      // down to the rank; SQLite keeps the top 5 % in a bounded sorter.
      const want99 = n - nearestRank(99, n) + 1;
      const want95 = n - nearestRank(95, n) + 1;
      let seen = 0;
      const top = deltas
        .select([sql<string>`CAST(quantity AS TEXT)`.as('q'), 'n'])
        .orderBy('quantity', 'desc')
        .limit(want95);
      for await (const row of top.stream(1000)) {
        seen += row.n;
        if (p99 === null && seen >= want99) p99 = BigInt(row.q);
        if (seen >= want95) {
          p95 = BigInt(row.q);
          break;
        }
      }
    } else {
      // Packed days and the deltas not packed yet (packed on the fly), all selected together.
      const packedDeltas = await deltas
        .select([
          sql<Uint8Array | null>`${sql.raw(packedColumn('quantity'))}`.as('quantities'),
          sql<Uint8Array | null>`${sql.raw(packedColumn('n'))}`.as('counts'),
        ])
        .executeTakeFirstOrThrow();
      for (const r of rows) counts.add(r.quantities, r.counts);
      counts.add(packedDeltas.quantities, packedDeltas.counts);
      p95 = counts.select(nearestRank(95, n));
      p99 = counts.select(nearestRank(99, n));
    }
  }
  const d = (x: number | bigint | null) => (x === null ? null : roundDisplay(unitsToDisplay(def, BigInt(x))));
  return {
    ...header(def, q),
    totalEvents: n,
    totalQuantity: d(part.total)!,
    average: n > 0 ? roundDisplay(unitsToDisplay(def, part.total) / n) : 0,
    min: d(part.min),
    max: d(part.max),
    p95: d(p95),
    p99: d(p99),
    percentileMethod: 'nearest-rank',
    totalCost: formatNanos(part.cost),
    totalCostNanos: Number(part.cost),
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
