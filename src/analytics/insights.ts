// The second seed's analytics over the raw records (rollups keep no users or metadata): top
// users by cost or usage, error rates (api by status class, functions by a failure flag) with
// the failing endpoints, and latency percentiles of duration_ms / latency_ms. Live records only.
import { sql, type RawBuilder } from 'kysely';
import type { ReadDb } from '../storage/schema';
import { invalid } from '../core/errors';
import { formatNanos } from '../core/money';
import { joinLimbs } from '../core/quantity';
import { toIso } from '../core/time';
import {
  checkRange,
  exact,
  rawCostText,
  rawQuantityHi,
  rawQuantityLo,
  requireService,
  roundDisplay,
  serviceMap,
  unitsToDisplay,
  type Range,
} from './common';

interface Scope extends Range {
  readonly customerId?: string | undefined;
}

function live(db: ReadDb, q: Scope & { service?: string | undefined }) {
  let query = db
    .selectFrom('usage_records')
    .where('recorded_at', '>=', q.from)
    .where('recorded_at', '<', q.to)
    .where('voided_at', 'is', null);
  if (q.customerId) query = query.where('customer_id', '=', q.customerId);
  if (q.service) query = query.where('service', '=', q.service);
  return query;
}

// --- top users ----------------------------------------------------------------------------------

export interface TopUser {
  readonly customer: string;
  readonly user: string;
  readonly events: number;
  /** In the service's display unit when one service is asked for, else null (units differ). */
  readonly usage: number | null;
  readonly cost: string;
}

export async function topUsers(
  db: ReadDb,
  q: Scope & { service?: string | undefined; by: 'cost' | 'usage'; limit: number },
): Promise<{ from: string; to: string; service: string | null; unit: string | null; by: 'cost' | 'usage'; users: TopUser[] }> {
  checkRange(q);
  const def = q.service === undefined ? null : requireService(await serviceMap(db), q.service);
  if (q.by === 'usage' && def === null) throw invalid('by', 'usage ranks need one service (units differ between services)');
  const rows = await live(db, q)
    .where('user_id', 'is not', null)
    .select([
      'customer_id',
      'user_id',
      sql<number>`count(*)`.as('events'),
      rawQuantityHi.as('hi'),
      rawQuantityLo.as('lo'),
      rawCostText.as('cost'),
    ])
    .groupBy(['customer_id', 'user_id'])
    .orderBy(q.by === 'cost' ? sql`sum(cost_nanos)` : sql`sum(quantity)`, 'desc')
    .orderBy(sql`count(*)`, 'desc')
    .limit(q.limit)
    .execute();
  return {
    from: toIso(q.from),
    to: toIso(q.to),
    service: def?.name ?? null,
    unit: def?.displayUnit ?? null,
    by: q.by,
    users: rows.map((r) => ({
      customer: r.customer_id,
      user: r.user_id!,
      events: r.events,
      usage: def ? roundDisplay(unitsToDisplay(def, joinLimbs(r.hi, r.lo))) : null,
      cost: formatNanos(exact(r.cost)),
    })),
  };
}

// --- errors -------------------------------------------------------------------------------------

const STATUS = sql<number | null>`CAST(coalesce(json_extract(metadata, '$.status'), json_extract(metadata, '$.status_code')) AS INTEGER)`;
/** A function invocation failed when it says so: error/failed true, or success false. */
const FAILED = sql<number>`(coalesce(json_extract(metadata, '$.error'), json_extract(metadata, '$.failed'), 0) IN (1, 'true') OR json_extract(metadata, '$.success') IN (0, 'false'))`;

export interface ErrorBucket {
  readonly start: string;
  readonly service: string;
  readonly events: number;
  /** api: events per status class (2xx … 5xx, "none" without a status); functions: ok / failed. */
  readonly classes: Readonly<Record<string, number>>;
  /** 5xx (api) or failed (functions) over all events of the bucket. */
  readonly errorRate: number;
}

export interface FailingEndpoint {
  readonly endpoint: string;
  readonly method: string | null;
  readonly events: number;
  readonly errors: number;
  readonly errorRate: number;
}

export async function errorRates(
  db: ReadDb,
  q: Scope & { bucket: 'hour' | 'day'; limit: number },
): Promise<{ from: string; to: string; bucket: 'hour' | 'day'; buckets: ErrorBucket[]; failingEndpoints: FailingEndpoint[] }> {
  checkRange(q);
  const width = q.bucket === 'hour' ? 3_600_000 : 86_400_000;
  // Inlined: a bound JS number is a REAL to SQLite, and recorded_at / 3600000.0 is no bucket.
  const start = sql<number>`(recorded_at / ${sql.lit(width)}) * ${sql.lit(width)}`;
  const apiRows = await live(db, { ...q, service: 'api' })
    .select([
      start.as('start'),
      sql<string>`CASE WHEN ${STATUS} IS NULL THEN 'none' ELSE (${STATUS} / 100) || 'xx' END`.as('class'),
      sql<number>`count(*)`.as('n'),
    ])
    .groupBy([sql`1`, sql`2`])
    .execute();
  const fnRows = await live(db, { ...q, service: 'functions' })
    .select([start.as('start'), sql<string>`CASE WHEN ${FAILED} THEN 'failed' ELSE 'ok' END`.as('class'), sql<number>`count(*)`.as('n')])
    .groupBy([sql`1`, sql`2`])
    .execute();
  const buckets = new Map<string, { start: number; service: string; classes: Record<string, number>; events: number; errors: number }>();
  const add = (service: string, rows: ReadonlyArray<{ start: number; class: string; n: number }>, isError: (c: string) => boolean) => {
    for (const r of rows) {
      const key = `${r.start}|${service}`;
      const b = buckets.get(key) ?? { start: r.start, service, classes: {}, events: 0, errors: 0 };
      b.classes[r.class] = (b.classes[r.class] ?? 0) + r.n;
      b.events += r.n;
      if (isError(r.class)) b.errors += r.n;
      buckets.set(key, b);
    }
  };
  add('api', apiRows, (c) => c === '5xx');
  add('functions', fnRows, (c) => c === 'failed');
  const failing = await live(db, { ...q, service: 'api' })
    .select([
      sql<string>`json_extract(metadata, '$.endpoint')`.as('endpoint'),
      sql<string | null>`json_extract(metadata, '$.method')`.as('method'),
      sql<number>`count(*)`.as('events'),
      sql<number>`sum(CASE WHEN ${STATUS} >= 400 THEN 1 ELSE 0 END)`.as('errors'),
    ])
    .groupBy([sql`1`, sql`2`])
    .having(sql`sum(CASE WHEN ${STATUS} >= 400 THEN 1 ELSE 0 END)`, '>', 0)
    .orderBy(sql`4`, 'desc')
    .limit(q.limit)
    .execute();
  return {
    from: toIso(q.from),
    to: toIso(q.to),
    bucket: q.bucket,
    buckets: [...buckets.values()]
      .sort((a, b) => a.start - b.start || a.service.localeCompare(b.service))
      .map((b) => ({ start: toIso(b.start), service: b.service, events: b.events, classes: b.classes, errorRate: b.errors / b.events })),
    failingEndpoints: failing.map((f) => ({ ...f, errorRate: f.errors / f.events })),
  };
}

// --- latency ------------------------------------------------------------------------------------

const LATENCY = sql<number | null>`coalesce(json_extract(metadata, '$.duration_ms'), json_extract(metadata, '$.latency_ms'))`;
const GROUPS: Readonly<Record<'service' | 'endpoint' | 'model', RawBuilder<string | null>>> = {
  service: sql<string | null>`service`,
  endpoint: sql<string | null>`json_extract(metadata, '$.endpoint')`,
  model: sql<string | null>`json_extract(metadata, '$.model')`,
};

export interface LatencyRow {
  readonly service: string;
  /** The endpoint or model, when grouped by one. */
  readonly group: string | null;
  readonly count: number;
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
  readonly max: number;
}

/** Nearest-rank percentile of sorted values. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

export async function latency(
  db: ReadDb,
  q: Scope & { service?: string | undefined; by: 'service' | 'endpoint' | 'model' },
): Promise<{ from: string; to: string; by: string; rows: LatencyRow[] }> {
  checkRange(q);
  if (q.service !== undefined) requireService(await serviceMap(db), q.service);
  // Ordered by group then value, so each group's values arrive sorted for the percentiles.
  let query = live(db, q).where(LATENCY, 'is not', null);
  // By endpoint or model: only the events that name one.
  if (q.by !== 'service') query = query.where(GROUPS[q.by], 'is not', null);
  const rows = await query
    .select([sql<string>`service`.as('service'), GROUPS[q.by].as('grp'), LATENCY.as('ms')])
    .orderBy(sql`1`)
    .orderBy(sql`2`)
    .orderBy(sql`3`)
    .execute();
  const out: LatencyRow[] = [];
  let values: number[] = [];
  const flush = (service: string, group: string | null) => {
    if (values.length === 0) return;
    out.push({
      service,
      group,
      count: values.length,
      p50: percentile(values, 50),
      p95: percentile(values, 95),
      p99: percentile(values, 99),
      max: values.at(-1)!,
    });
    values = [];
  };
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i]!;
    values.push(Number(r.ms));
    const next = rows[i + 1];
    const group = q.by === 'service' ? null : r.grp === null ? null : String(r.grp);
    if (!next || next.service !== r.service || next.grp !== r.grp) flush(r.service, group);
  }
  return { from: toIso(q.from), to: toIso(q.to), by: q.by, rows: out.sort((a, b) => b.p95 - a.p95) };
}
