// Month-end (or day-end) projection: the period's usage so far extended at its run rate,
// priced with the rule in force now, and shown next to the quota.
import type { ReadDb } from '../storage/schema';
import { formatNanos } from '../core/money';
import { listPriceRules } from '../storage/repos/services';
import { Registry } from '../core/registry';
import { decimalsOf, joinLimbs, unitsToNumber } from '../core/quantity';
import { toDisplay } from '../core/services';
import { bucketEnd, bucketStart, toIso } from '../core/time';
import { requireService, roundDisplay, serviceMap } from './common';
import { checkPeriod, type QuotaPeriod } from '../quotas/quotas';
import { projectToEnd } from '../core/alerting';
import { zonedNext, zonedStart } from '../core/zone';
import { customerZone } from '../storage/repos/zones';
import { zonedSums } from './zoned';

export interface ProjectionQuery {
  readonly now: number;
  readonly period?: QuotaPeriod | undefined;
  readonly service?: string | undefined;
  readonly customerId?: string | undefined;
  /** The installation's zone: the days and months of customers without a zone of their own (as quotas count them). */
  readonly timezone?: string | undefined;
}

export interface ProjectionLine {
  readonly customerId: string;
  readonly service: string;
  readonly unit: string;
  readonly period: QuotaPeriod;
  readonly periodStart: string;
  readonly periodEnd: string;
  /** Share of the period elapsed, 0…1. */
  readonly elapsed: number;
  /** Display units so far and projected to the period's end. */
  readonly usage: number;
  readonly projected: number;
  readonly cost: string;
  readonly projectedCost: string;
  /** The quota for this customer × service × period, in display units; null when none. */
  readonly limit: number | null;
  readonly percent: number | null;
  readonly projectedPercent: number | null;
  /** Base units, for the alert check. */
  readonly usageQuantity: number;
  readonly projectedQuantity: number;
  readonly limitQuantity: number | null;
}

export interface Projection {
  readonly now: string;
  readonly period: QuotaPeriod;
  readonly method: 'linear run rate';
  readonly lines: readonly ProjectionLine[];
}

// Truncated at the digit shown, as every percentage (core/money.ts formatPercent): never shown as reached before it is.
const pct = (x: number, limit: number) => (limit > 0 ? Math.trunc((x / limit) * 1000) / 10 : x > 0 ? Infinity : 0);

interface Entry {
  customerId: string;
  service: string;
  quantity: number;
  cost: number;
  limit: number | null;
  /** The customer's period: local when it has a zone (or the installation has one). */
  start: number;
  end: number;
}

/**
 * Replaces the UTC-period figures of customers billed in a zone with their local period's (as
 * quota alerts count them, quotas/alerts.ts). Customers with usage only in the local period are
 * found through the hour rollups around it.
 */
async function zonedEntries(
  db: ReadDb,
  q: ProjectionQuery,
  period: QuotaPeriod,
  keys: Map<string, Entry>,
  services: Awaited<ReturnType<typeof serviceMap>>,
): Promise<void> {
  let customers = new Set([...keys.values()].map((e) => e.customerId));
  const near = await db
    .selectFrom('rollups')
    .select('customer_id')
    .distinct()
    .where('period', '=', 'hour')
    .where('bucket_start', '>=', bucketStart(period, q.now) - 86_400_000)
    .where('bucket_start', '<', bucketEnd(period, q.now) + 86_400_000)
    .execute();
  for (const r of near) customers.add(r.customer_id);
  if (q.customerId) customers = new Set([q.customerId]);
  for (const customerId of customers) {
    const own = (await customerZone(db, customerId)) ?? q.timezone ?? null;
    if (own === null || own === 'UTC') continue;
    const start = zonedStart(own, period, q.now);
    const end = zonedNext(own, period, start);
    const { sums } = await zonedSums(db, { zone: own, period, from: start, to: end, customerId, service: q.service });
    for (const [k, e] of keys) if (e.customerId === customerId) keys.set(k, { ...e, quantity: 0, cost: 0, start, end });
    for (const sum of sums) {
      const def = services.get(sum.service);
      const k = `${customerId}\u0000${sum.service}`;
      const e = keys.get(k) ?? { customerId, service: sum.service, quantity: 0, cost: 0, limit: null, start, end };
      const quantity = unitsToNumber(sum.units, def ? decimalsOf(def) : 0);
      keys.set(k, { ...e, quantity, cost: Number(sum.costNanos), start, end });
    }
  }
}

/** Every customer × service with usage in the current period or a quota for it. */
export async function projection(db: ReadDb, q: ProjectionQuery): Promise<Projection> {
  const period = q.period ?? 'month';
  checkPeriod(period);
  const services = await serviceMap(db);
  if (q.service !== undefined) requireService(services, q.service);
  const registry = new Registry([...services.values()], await listPriceRules(db));
  const start = bucketStart(period, q.now);
  const end = bucketEnd(period, q.now);
  let usageQ = db
    .selectFrom('rollups')
    .select(['customer_id', 'service', 'sum_quantity_hi', 'sum_quantity_lo', 'sum_cost_nanos'])
    .where('period', '=', period)
    .where('bucket_start', '=', start);
  let quotaQ = db.selectFrom('quotas').select(['customer_id', 'service', 'limit_quantity']).where('period', '=', period);
  if (q.service) {
    usageQ = usageQ.where('service', '=', q.service);
    quotaQ = quotaQ.where('service', '=', q.service);
  }
  if (q.customerId) {
    usageQ = usageQ.where('customer_id', '=', q.customerId);
    quotaQ = quotaQ.where('customer_id', '=', q.customerId);
  }
  const [usage, quotas] = await Promise.all([usageQ.execute(), quotaQ.execute()]);
  const keys = new Map<string, Entry>();
  const key = (c: string, s: string) => `${c}\u0000${s}`;
  for (const u of usage) {
    const def = services.get(u.service);
    // Base quantities as doubles: projections and percentages are estimates of a rate.
    const quantity = unitsToNumber(joinLimbs(u.sum_quantity_hi, u.sum_quantity_lo), def ? decimalsOf(def) : 0);
    keys.set(key(u.customer_id, u.service), {
      customerId: u.customer_id,
      service: u.service,
      quantity,
      cost: u.sum_cost_nanos,
      limit: null,
      start,
      end,
    });
  }
  for (const l of quotas) {
    const k = key(l.customer_id, l.service);
    const e = keys.get(k);
    if (e) e.limit = l.limit_quantity;
    else keys.set(k, { customerId: l.customer_id, service: l.service, quantity: 0, cost: 0, limit: l.limit_quantity, start, end });
  }
  await zonedEntries(db, q, period, keys, services);
  const lines = [...keys.values()]
    .sort((a, b) => a.customerId.localeCompare(b.customerId) || a.service.localeCompare(b.service))
    .map((e): ProjectionLine => {
      const def = services.get(e.service);
      const disp = (x: number) => roundDisplay(def ? toDisplay(def, x) : x);
      const at = Math.min(q.now, e.end);
      const elapsed = Math.min(1, Math.max(0, (q.now - e.start) / (e.end - e.start)));
      const projectedQuantity = projectToEnd(e.quantity, e.start, e.end, at);
      // Monthly prices are cumulative over the month (tiers): the rest of the month costs what the
      // rule in force now charges from the usage so far to the projected total, on top of what the
      // usage so far was priced at when recorded (a price changed mid-month re-prices nothing).
      // A day is a slice of the month, so its cost is extended at the same rate.
      const price = registry.priceAt(e.service, q.now);
      const rest = Math.max(0, price.charge(projectedQuantity) - price.charge(e.quantity));
      const projectedCost = period === 'month' ? e.cost + rest : Math.round(projectToEnd(e.cost, e.start, e.end, at));
      return {
        customerId: e.customerId,
        service: e.service,
        unit: def?.displayUnit ?? '',
        period,
        periodStart: toIso(e.start),
        periodEnd: toIso(e.end),
        elapsed: Math.round(elapsed * 10000) / 10000,
        usage: disp(e.quantity),
        projected: disp(projectedQuantity),
        cost: formatNanos(e.cost),
        projectedCost: formatNanos(projectedCost),
        limit: e.limit === null ? null : disp(e.limit),
        percent: e.limit === null ? null : pct(e.quantity, e.limit),
        projectedPercent: e.limit === null ? null : pct(projectedQuantity, e.limit),
        usageQuantity: e.quantity,
        projectedQuantity,
        limitQuantity: e.limit,
      };
    });
  return { now: toIso(q.now), period, method: 'linear run rate', lines };
}
