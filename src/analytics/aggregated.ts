// A service's usage over a period under its aggregation (src/core/aggregation.ts), read exactly:
//   count         events (rollup event counts)
//   max           the largest quantity (the max of the rollups' maxima: a month's max is the max of its days)
//   unique_count  distinct values: the month's unique_values, or COUNT(DISTINCT) over the day
//                 buckets that tile the range, or over the raw records when the range is not whole days
//   latest        the last live reading in the range (raw records, newest first)
// Sums are the rollups' own figures and are not handled here (null).
import { sql } from 'kysely';
import type { ReadDb } from '../storage/schema';
import type { ServiceDefinition } from '../core/services';
import { decimalsOf, formatUnits, unitsToNumber } from '../core/quantity';
import { dayStart, hourStart, monthStart } from '../core/time';
import { toDisplay } from '../core/services';

export interface AggregateQuery {
  readonly from: number;
  /** Exclusive. */
  readonly to: number;
  readonly customerId?: string | undefined;
}

export interface AggregateValue {
  /** Exact base quantity as decimal text (count and unique_count: a whole number). */
  readonly quantity: string;
  /** In the service's display unit (count and unique_count: the number itself). */
  readonly usage: number;
}

const countLike = (n: number | bigint): AggregateValue => ({ quantity: String(n), usage: Number(n) });

function fromUnits(def: ServiceDefinition, units: bigint): AggregateValue {
  const d = decimalsOf(def);
  return { quantity: formatUnits(units, d), usage: toDisplay(def, unitsToNumber(units, d)) };
}

/** The coarsest rollup period whose buckets tile [from, to) (as the usage report picks it). */
function rollupPeriodFor(from: number, to: number): 'month' | 'day' | 'hour' | null {
  if (monthStart(from) === from && monthStart(to) === to) return 'month';
  if (dayStart(from) === from && dayStart(to) === to) return 'day';
  if (hourStart(from) === from && hourStart(to) === to) return 'hour';
  return null;
}

/** The aggregate of `def` over [from, to), or null for a sum service (read the rollups' sums). */
export async function aggregateOver(db: ReadDb, def: ServiceDefinition, q: AggregateQuery): Promise<AggregateValue | null> {
  const a = def.aggregation ?? 'sum';
  if (a === 'sum') return null;
  const period = rollupPeriodFor(q.from, q.to);
  const customer = <T extends { where: (...args: never[]) => T }>(query: T): T =>
    q.customerId === undefined ? query : (query.where as (c: string, op: string, v: string) => T)('customer_id', '=', q.customerId);
  if (a === 'count' || a === 'max') {
    if (period !== null) {
      const row = await customer(
        db
          .selectFrom('rollups')
          .select([sql<number>`sum(event_count)`.as('n'), sql<string | null>`CAST(max(max_quantity) AS TEXT)`.as('mx')])
          .where('period', '=', period)
          .where('bucket_start', '>=', q.from)
          .where('bucket_start', '<', q.to)
          .where('service', '=', def.name),
      ).executeTakeFirst();
      return a === 'count' ? countLike(row?.n ?? 0) : fromUnits(def, BigInt(row?.mx ?? 0));
    }
    const row = await customer(
      db
        .selectFrom('usage_records')
        .select([sql<number>`count(*)`.as('n'), sql<string | null>`CAST(max(quantity) AS TEXT)`.as('mx')])
        .where('recorded_at', '>=', q.from)
        .where('recorded_at', '<', q.to)
        .where('service', '=', def.name)
        .where('voided_at', 'is', null),
    ).executeTakeFirst();
    return a === 'count' ? countLike(row?.n ?? 0) : fromUnits(def, BigInt(row?.mx ?? 0));
  }
  if (a === 'latest') {
    const row = await customer(
      db
        .selectFrom('usage_records')
        .select(sql<string>`CAST(quantity AS TEXT)`.as('q'))
        .where('recorded_at', '>=', q.from)
        .where('recorded_at', '<', q.to)
        .where('service', '=', def.name)
        .where('voided_at', 'is', null)
        .orderBy('recorded_at', 'desc')
        .orderBy('seq', 'desc')
        .limit(1),
    ).executeTakeFirst();
    return fromUnits(def, BigInt(row?.q ?? 0));
  }
  return countLike(await distinctCount(db, def, q));
}

/** The unique_values period whose buckets tile [from, to) exactly (a single month, or whole days), or null. */
function uniquePeriod(from: number, to: number): 'day' | 'month' | null {
  if (monthStart(from) === from && monthStart(to) === to && monthStart(to - 1) === from) return 'month';
  if (dayStart(from) === from && dayStart(to) === to) return 'day';
  return null;
}

async function distinctCount(db: ReadDb, def: ServiceDefinition, q: AggregateQuery): Promise<number> {
  const period = uniquePeriod(q.from, q.to);
  if (period !== null) {
    let query = db
      .selectFrom('unique_values')
      .select(sql<number>`count(DISTINCT value)`.as('n'))
      .where('period', '=', period)
      .where('bucket_start', '>=', q.from)
      .where('bucket_start', '<', q.to)
      .where('service', '=', def.name);
    if (q.customerId !== undefined) query = query.where('customer_id', '=', q.customerId);
    return (await query.executeTakeFirst())?.n ?? 0;
  }
  let raw = db
    .selectFrom('usage_records')
    .select(sql<number>`count(DISTINCT json_extract(metadata, ${`$.${def.aggregationField}`}))`.as('n'))
    .where('recorded_at', '>=', q.from)
    .where('recorded_at', '<', q.to)
    .where('service', '=', def.name)
    .where('voided_at', 'is', null);
  if (q.customerId !== undefined) raw = raw.where('customer_id', '=', q.customerId);
  return (await raw.executeTakeFirst())?.n ?? 0;
}
