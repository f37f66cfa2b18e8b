// The month's statement: what central billing would invoice, checkable offline. One line per
// customer × service from the month rollups (whose costs already carry tiers and packages,
// see pricing.ts), plus the minimum-charge top-up of the rule in force at the month's end,
// and the overage above a monthly quota. Totals are BigInt sums of integer nanos.
import { sql, type Kysely } from 'kysely';
import type { Database } from '../storage/schema';
import { invalid } from '../core/errors';
import { formatNanos } from '../core/money';
import { describePrice, minimumChargeTopUp, ruleInForce } from '../core/pricing';
import { listPriceRules } from '../storage/repos/services';
import { toDisplay } from '../core/services';
import { nextMonthStart, toIso } from '../core/time';
import { exact, rollupCostText, rollupQuantityHi, rollupQuantityLo, roundDisplay, serviceMap, unitsToBase } from './common';
import { decimalsOf, joinLimbs, splitLimbs, unitsToNumber } from '../core/quantity';
import { aggregateOver } from './aggregated';
import { zonedCustomerMonths } from './zoned';
import type { CustomerCredits } from './credits';

export interface StatementQuery {
  /** YYYY-MM */
  readonly month: string;
  readonly customerId?: string | undefined;
  /** The installation's zone (config timezone): customers without their own are billed in it. */
  readonly timezone?: string | undefined;
}

export interface StatementLine {
  readonly customerId: string;
  readonly service: string;
  readonly events: number;
  /** Display units. */
  readonly usage: number;
  readonly unit: string;
  /** Exact quantity in the service's base unit, as decimal text (it may pass 2^53). */
  readonly quantity: string;
  readonly baseUnit: string;
  /** How the service is priced, e.g. "0.0001 per requests", "tiered (3 tiers)". */
  readonly pricing: string;
  readonly usageCost: string;
  readonly minimumTopUp: string;
  readonly lineTotal: string;
  readonly lineTotalNanos: number;
  /** The monthly quota in display units, and usage above it; null when no quota. */
  readonly quota: number | null;
  readonly overage: number | null;
}

export interface Statement {
  readonly month: string;
  readonly from: string;
  readonly to: string;
  readonly customerId: string | null;
  readonly lines: readonly StatementLine[];
  /** Per customer, exact. */
  readonly customers: ReadonlyArray<{ readonly customerId: string; readonly total: string }>;
  readonly total: string;
  readonly totalNanos: string;
  /** Prepaid credits drawn per customer (priority, then earliest expiry), and what is left to pay. */
  readonly credits: readonly CustomerCredits[];
  readonly creditsApplied: string;
  readonly amountDue: string;
  readonly amountDueNanos: string;
  /** Customers billed for their local month (a zone of their own), with its UTC bounds. */
  readonly timezones: ReadonlyArray<{ readonly customerId: string; readonly timezone: string; readonly from: string; readonly to: string }>;
}

export { describePrice };

export async function monthStatement(db: Kysely<Database>, q: StatementQuery): Promise<Statement> {
  const m = /^(\d{4})-(\d{2})$/.exec(q.month ?? '');
  if (!m || Number(m[2]) < 1 || Number(m[2]) > 12) throw invalid('month', `"${q.month}" must be YYYY-MM`);
  const from = Date.UTC(Number(m[1]), Number(m[2]) - 1, 1);
  const to = nextMonthStart(from);
  const services = await serviceMap(db);
  const rules = await listPriceRules(db);
  let usageQ = db
    .selectFrom('rollups')
    .select([
      'customer_id',
      'service',
      sql<number>`sum(event_count)`.as('events'),
      rollupQuantityHi.as('hi'),
      rollupQuantityLo.as('lo'),
      rollupCostText.as('cost'),
    ])
    .where('period', '=', 'month')
    .where('bucket_start', '=', from)
    .groupBy(['customer_id', 'service']);
  if (q.customerId) usageQ = usageQ.where('customer_id', '=', q.customerId);
  // A customer with a zone of its own is billed for its local month, read exactly (zoned.ts).
  const zoned = await zonedCustomerMonths(db, q.month, q.customerId, q.timezone);
  const usage = [
    ...(await usageQ.execute()).filter((u) => !zoned.has(u.customer_id)),
    ...[...zoned.values()].flatMap((z) =>
      z.sums.map((s) => {
        const [hi, lo] = splitLimbs(s.units);
        return {
          customer_id: z.customerId,
          service: s.service,
          events: s.events,
          hi: String(hi),
          lo: String(lo),
          cost: String(s.costNanos),
        };
      }),
    ),
  ];
  let quotaQ = db.selectFrom('quotas').select(['customer_id', 'service', 'limit_quantity']).where('period', '=', 'month');
  if (q.customerId) quotaQ = quotaQ.where('customer_id', '=', q.customerId);
  const quotas = new Map((await quotaQ.execute()).map((r) => [`${r.customer_id}\u0000${r.service}`, r.limit_quantity]));

  const customers = new Set(usage.map((u) => u.customer_id));
  if (q.customerId) customers.add(q.customerId);
  const byKey = new Map(usage.map((u) => [`${u.customer_id}\u0000${u.service}`, u]));
  const lines: StatementLine[] = [];
  const perCustomer = new Map<string, bigint>();
  let total = 0n;
  for (const customerId of [...customers].sort()) {
    for (const def of services.values()) {
      const u = byKey.get(`${customerId}\u0000${def.name}`);
      const rule = ruleInForce(
        rules.filter((r) => r.service === def.name),
        to - 1,
      );
      const exactCost = exact(u?.cost);
      const cost = Number(exactCost);
      const topUp = minimumChargeTopUp(rule, cost);
      // A service with neither usage nor a minimum charge has nothing to bill.
      if (!u && topUp === 0) continue;
      const units = joinLimbs(u?.hi, u?.lo);
      // count / max / unique_count / latest services bill their month's aggregate (priced that way by the writer).
      const agg = await aggregateOver(db, def, {
        from: zoned.get(customerId)?.from ?? from,
        to: zoned.get(customerId)?.to ?? to,
        customerId,
      });
      const quantity = agg ? Number(agg.quantity) : unitsToNumber(units, decimalsOf(def));
      const limit = quotas.get(`${customerId}\u0000${def.name}`);
      const lineTotal = exactCost + BigInt(topUp);
      total += lineTotal;
      perCustomer.set(customerId, (perCustomer.get(customerId) ?? 0n) + lineTotal);
      lines.push({
        customerId,
        service: def.name,
        events: u?.events ?? 0,
        usage: roundDisplay(toDisplay(def, quantity)),
        unit: def.displayUnit,
        quantity: agg ? agg.quantity : unitsToBase(def, units),
        baseUnit: def.baseUnit,
        pricing: describePrice(rule?.spec, def.displayUnit),
        usageCost: formatNanos(exactCost),
        minimumTopUp: formatNanos(topUp),
        lineTotal: formatNanos(lineTotal),
        lineTotalNanos: Number(lineTotal),
        quota: limit === undefined ? null : roundDisplay(toDisplay(def, limit)),
        overage: limit === undefined ? null : roundDisplay(toDisplay(def, Math.max(0, quantity - limit))),
      });
    }
  }
  return {
    month: q.month,
    from: toIso(from),
    to: toIso(to),
    customerId: q.customerId ?? null,
    lines,
    customers: [...perCustomer].map(([customerId, t]) => ({ customerId, total: formatNanos(t) })),
    total: formatNanos(total),
    totalNanos: total.toString(),
    // Credits are drawn by closing.ts (billingStatement), which knows what earlier months billed.
    credits: [],
    creditsApplied: formatNanos(0n),
    amountDue: formatNanos(total),
    amountDueNanos: total.toString(),
    timezones: [...zoned.values()].map((z) => ({ customerId: z.customerId, timezone: z.timezone, from: toIso(z.from), to: toIso(z.to) })),
  };
}
