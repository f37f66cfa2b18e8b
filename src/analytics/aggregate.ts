// Aggregation (hourly / daily / monthly rows from the rollups) and the detailed breakdown of
// one service by its metadata keys (from the raw records: rollups do not keep metadata).
import { sql } from 'kysely';
import type { ReadDb } from '../storage/schema';
import { invalid } from '../core/errors';
import { formatNanos, toNanos } from '../core/money';
import { joinLimbs } from '../core/quantity';
import { bucketEnd, bucketStart, toIso, type Period } from '../core/time';
import { aggregateOver } from './aggregated';
import { checkSpan, MAX_HOURLY_RANGE_DAYS, MAX_RANGE_DAYS } from '../core/api/args';
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

export type Granularity = 'hourly' | 'daily' | 'weekly' | 'monthly';
export const GRANULARITIES: readonly Granularity[] = ['hourly', 'daily', 'weekly', 'monthly'];
// Weeks are the week rollups' ISO weeks (Monday 00:00 UTC).
const PERIOD_OF: Record<Granularity, Period> = { hourly: 'hour', daily: 'day', weekly: 'week', monthly: 'month' };

export interface AggregateQuery extends Range {
  readonly granularity: Granularity;
  readonly service?: string | undefined;
  readonly customerId?: string | undefined;
}

/** One row per bucket × service: the seed's columns. Quantities in the display unit. */
export interface AggregateRow {
  readonly service: string;
  /** Bucket start, ISO 8601 UTC. */
  readonly period: string;
  readonly event_count: number;
  readonly total_quantity: number;
  readonly unit: string;
  /** Exact decimal text. */
  readonly total_cost: string;
  readonly total_cost_nanos: number;
  readonly avg_quantity: number;
}

export interface AggregateResult {
  readonly granularity: Granularity;
  /** The range actually covered: widened to whole buckets. */
  readonly from: string;
  readonly to: string;
  readonly customerId: string | null;
  readonly rows: readonly AggregateRow[];
  readonly totals: { readonly event_count: number; readonly total_cost: string; readonly total_cost_nanos: number };
}

export async function aggregate(db: ReadDb, q: AggregateQuery): Promise<AggregateResult> {
  if (!GRANULARITIES.includes(q.granularity))
    throw invalid('granularity', `"${String(q.granularity)}" must be hourly, daily, weekly or monthly`);
  checkRange(q);
  checkSpan(q, q.granularity === 'hourly' ? MAX_HOURLY_RANGE_DAYS : MAX_RANGE_DAYS, `${q.granularity} analytics.aggregate`);
  const services = await serviceMap(db);
  if (q.service) requireService(services, q.service);
  const period = PERIOD_OF[q.granularity];
  // Whole buckets only: a rollup bucket cannot be split.
  const from = bucketStart(period, q.from);
  const to = bucketStart(period, q.to) === q.to ? q.to : bucketEnd(period, q.to);
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
    .where('period', '=', period)
    .where('bucket_start', '>=', from)
    .where('bucket_start', '<', to)
    .groupBy(['bucket_start', 'service'])
    .orderBy('bucket_start')
    .orderBy('service');
  if (q.service) query = query.where('service', '=', q.service);
  if (q.customerId) query = query.where('customer_id', '=', q.customerId);
  const rows = await Promise.all(
    (await query.execute()).map(async (r): Promise<AggregateRow> => {
      const def = services.get(r.service);
      const units = joinLimbs(r.hi, r.lo);
      // count / max / unique_count / latest services: the bucket's aggregate, not the sum of quantities.
      const agg = def
        ? await aggregateOver(db, def, { from: r.bucket_start, to: bucketEnd(period, r.bucket_start), customerId: q.customerId })
        : null;
      const usage = agg ? agg.usage : def ? unitsToDisplay(def, units) : Number(units);
      const cost = exact(r.cost);
      return {
        service: r.service,
        period: toIso(r.bucket_start),
        event_count: r.events,
        total_quantity: roundDisplay(usage),
        unit: def?.displayUnit ?? '',
        total_cost: formatNanos(cost),
        total_cost_nanos: Number(cost),
        avg_quantity: r.events > 0 ? roundDisplay(usage / r.events) : 0,
      };
    }),
  );
  let cost = 0n;
  let events = 0;
  for (const r of rows) {
    cost += toNanos(r.total_cost);
    events += r.event_count;
  }
  return {
    granularity: q.granularity,
    from: toIso(from),
    to: toIso(to),
    customerId: q.customerId ?? null,
    rows,
    totals: { event_count: events, total_cost: formatNanos(cost), total_cost_nanos: Number(cost) },
  };
}

/** What each built-in service is broken down by; others use their registered breakdown keys. */
export const DEFAULT_BREAKDOWN: Readonly<Record<string, readonly string[]>> = {
  api: ['endpoint', 'method'],
  bandwidth: ['interface', 'direction'],
  functions: ['function'],
  database: ['type'],
  storage: ['volume'],
  compute: ['instance'],
};

export interface BreakdownQuery extends Range {
  readonly service: string;
  readonly customerId?: string | undefined;
  /** Metadata keys to group by (default: the service's usual ones). */
  readonly keys?: readonly string[] | undefined;
  /** Adds the day as the first group key. */
  readonly perDay?: boolean | undefined;
}

export interface BreakdownRow {
  /** YYYY-MM-DD when perDay. */
  readonly day?: string;
  /** The metadata values, one per key; null when a record lacks the key. */
  readonly values: Readonly<Record<string, string | number | null>>;
  readonly events: number;
  readonly usage: number;
  readonly cost: string;
  readonly costNanos: number;
}

export interface BreakdownResult {
  readonly service: string;
  readonly unit: string;
  readonly keys: readonly string[];
  readonly from: string;
  readonly to: string;
  readonly rows: readonly BreakdownRow[];
  readonly totalEvents: number;
  readonly totalCost: string;
}

const KEY = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

export async function breakdown(db: ReadDb, q: BreakdownQuery): Promise<BreakdownResult> {
  checkRange(q);
  const services = await serviceMap(db);
  const def = requireService(services, q.service);
  const keys = q.keys && q.keys.length > 0 ? q.keys : (DEFAULT_BREAKDOWN[def.name] ?? def.breakdownKeys.slice(0, 2));
  if (keys.length === 0) throw invalid('keys', `service "${def.name}" has no breakdown keys: name one or more metadata keys`);
  if (keys.length > 4) throw invalid('keys', 'at most 4 keys');
  keys.forEach((k, i) => {
    if (!KEY.test(k)) throw invalid(`keys[${i}]`, 'must be a metadata key (letters, digits, _)');
  });
  // `user` and `customer` are the record's own columns, not metadata (the second seed's per-user view).
  const groups = keys.map((k, i) =>
    (k === 'user'
      ? sql<string | null>`user_id`
      : k === 'customer'
        ? sql<string>`customer_id`
        : sql<string | number | null>`json_extract(metadata, ${'$.' + k})`
    ).as(`k${i}`),
  );
  let query = db
    .selectFrom('usage_records')
    .select([
      ...groups,
      sql<number>`(recorded_at / 86400000) * 86400000`.as('day'),
      sql<number>`count(*)`.as('events'),
      rawQuantityHi.as('hi'),
      rawQuantityLo.as('lo'),
      rawCostText.as('cost'),
    ])
    .where('service', '=', def.name)
    .where('recorded_at', '>=', q.from)
    .where('recorded_at', '<', q.to)
    .where('voided_at', 'is', null); // voided events count no more
  if (q.customerId) query = query.where('customer_id', '=', q.customerId);
  const groupCols = keys.map((_, i) => sql.ref(`k${i}`));
  let grouped = query.groupBy(q.perDay ? [sql.ref('day'), ...groupCols] : groupCols);
  if (q.perDay) grouped = grouped.orderBy(sql`day`);
  const rows = await grouped
    .orderBy(sql`sum(cost_nanos)`, 'desc')
    .orderBy(sql`count(*)`, 'desc')
    .execute();
  let total = 0n;
  let events = 0;
  const out = rows.map((r): BreakdownRow => {
    const rec = r as unknown as Record<string, string | number | null>;
    const values: Record<string, string | number | null> = {};
    keys.forEach((k, i) => (values[k] = rec[`k${i}`] ?? null));
    const cost = exact(r.cost);
    total += cost;
    events += r.events;
    const usage = roundDisplay(unitsToDisplay(def, joinLimbs(r.hi, r.lo)));
    const row = { values, events: r.events, usage, cost: formatNanos(cost), costNanos: Number(cost) };
    return q.perDay ? { day: toIso(r.day).slice(0, 10), ...row } : row;
  });
  return {
    service: def.name,
    unit: def.displayUnit,
    keys,
    from: toIso(q.from),
    to: toIso(q.to),
    rows: out,
    totalEvents: events,
    totalCost: formatNanos(total),
  };
}
