// Quotas: a limit per customer × service × period (day or month), stored in base units and
// set in display units (GB, requests, CPU-hours; GB = GiB). Plans are ready quota sets.
import type { Kysely } from 'kysely';
import type { Database, QuotaRow, ReadDb } from '../storage/schema';
import { invalid } from '../core/errors';
import { listServices } from '../storage/repos/services';
import { CUSTOMER_ID, fromDisplay, smallestBaseQuantity, toDisplay, type ServiceDefinition } from '../core/services';
import { roundDisplay } from '../analytics/common';

export type QuotaPeriod = 'day' | 'month';
export const QUOTA_PERIODS: readonly QuotaPeriod[] = ['day', 'month'];

export interface Quota {
  readonly customerId: string;
  readonly service: string;
  readonly period: QuotaPeriod;
  /** Base units. */
  readonly limitQuantity: number;
  /** Display units. */
  readonly limit: number;
  readonly unit: string;
}

function rowToQuota(row: QuotaRow, services: Map<string, ServiceDefinition>): Quota {
  const def = services.get(row.service);
  return {
    customerId: row.customer_id,
    service: row.service,
    period: row.period,
    limitQuantity: row.limit_quantity,
    limit: def ? roundDisplay(toDisplay(def, row.limit_quantity)) : row.limit_quantity,
    unit: def?.displayUnit ?? '',
  };
}

async function services(db: ReadDb): Promise<Map<string, ServiceDefinition>> {
  return new Map((await listServices(db)).map((s) => [s.name, s]));
}

export async function listQuotas(
  db: ReadDb,
  filter: { customerId?: string | undefined; service?: string | undefined } = {},
): Promise<Quota[]> {
  let q = db.selectFrom('quotas').selectAll().orderBy('customer_id').orderBy('service').orderBy('period');
  if (filter.customerId) q = q.where('customer_id', '=', filter.customerId);
  if (filter.service) q = q.where('service', '=', filter.service);
  const map = await services(db);
  return (await q.execute()).map((r) => rowToQuota(r, map));
}

export function checkCustomer(customerId: string, field = 'customerId'): void {
  if (typeof customerId !== 'string' || !CUSTOMER_ID.test(customerId)) throw invalid(field, 'letters, digits and . _ : @ - (at most 128)');
}

export function checkPeriod(period: unknown, field = 'period'): asserts period is QuotaPeriod {
  if (!QUOTA_PERIODS.includes(period as QuotaPeriod)) throw invalid(field, `"${String(period)}" must be day or month`);
}

export interface QuotaInput {
  readonly customerId: string;
  readonly service: string;
  readonly period: QuotaPeriod;
  /** In the service's display unit (GB, requests, CPU-hours…). */
  readonly limit: number;
}

/** The largest quota, in the service's display unit: a quadrillion requests, GB or CPU-hours. */
export const QUOTA_LIMIT_MAX = 1e15;

/**
 * A limit in display units → its base quantity. It must be > 0 and at most QUOTA_LIMIT_MAX, and
 * hold at least one stored unit of the service (1 request; a millionth of a CPU-second): 1e300
 * overflowed to Infinity (stored, read back as null), 5e-324 became a limit of 0 (∞ %).
 */
export function quotaLimitQuantity(def: ServiceDefinition, limit: unknown): number {
  if (typeof limit !== 'number' || !Number.isFinite(limit) || limit <= 0 || limit > QUOTA_LIMIT_MAX)
    throw invalid('limit', `must be a number > 0 and at most 1e15 (in ${def.displayUnit})`);
  const base = fromDisplay(def, limit);
  const smallest = smallestBaseQuantity(def);
  if (base < smallest) {
    const least = roundDisplay(toDisplay(def, smallest));
    throw invalid('limit', `must be at least ${least} ${def.displayUnit} (one stored unit: ${smallest} ${def.baseUnit})`);
  }
  // 1.5 requests is no limit a counted service can meet (alerts showed it as 2).
  if (def.integerOnly && def.displayFactor === 1 && !Number.isInteger(limit))
    throw invalid('limit', `must be a whole number of ${def.displayUnit}`);
  return base;
}

/** Sets (or replaces) one quota. */
export async function setQuota(db: Kysely<Database>, input: QuotaInput, now: number): Promise<Quota> {
  checkCustomer(input.customerId);
  checkPeriod(input.period);
  const map = await services(db);
  const def = map.get(input.service);
  if (!def) throw invalid('service', `unknown service "${input.service}"`);
  const limitQuantity = quotaLimitQuantity(def, input.limit);
  await db
    .insertInto('quotas')
    .values({ customer_id: input.customerId, service: def.name, period: input.period, limit_quantity: limitQuantity, created_at: now })
    .onConflict((oc) => oc.columns(['customer_id', 'service', 'period']).doUpdateSet({ limit_quantity: limitQuantity }))
    .execute();
  return {
    customerId: input.customerId,
    service: def.name,
    period: input.period,
    limitQuantity,
    limit: input.limit,
    unit: def.displayUnit,
  };
}

/** Removes one quota (or all of a customer's quotas for the service when period is absent). Returns how many. */
export async function removeQuota(
  db: Kysely<Database>,
  q: { customerId: string; service: string; period?: QuotaPeriod | undefined },
): Promise<number> {
  checkCustomer(q.customerId);
  if (q.period !== undefined) checkPeriod(q.period);
  let del = db.deleteFrom('quotas').where('customer_id', '=', q.customerId).where('service', '=', q.service);
  if (q.period) del = del.where('period', '=', q.period);
  const res = await del.executeTakeFirst();
  return Number(res.numDeletedRows);
}

export type PlanName = 'free' | 'starter' | 'pro' | 'enterprise';
export const PLAN_NAMES: readonly PlanName[] = ['free', 'starter', 'pro', 'enterprise'];

/**
 * The first seed's plans as monthly limits in display units. Storage is metered in GB-hours:
 * "1 GB of storage" is 1 GB kept all month, 730 GB-hours (the average month's hours).
 * The seed gives pro no invocation limit; 100 000 (10× starter) keeps the ladder.
 * Enterprise is unlimited: applying it removes the customer's monthly quotas.
 */
export const PLANS: Readonly<Record<PlanName, Readonly<Record<string, number>>>> = {
  free: { api: 10_000, storage: 730, bandwidth: 10, compute: 10, functions: 1_000 },
  starter: { api: 100_000, storage: 7_300, bandwidth: 100, compute: 100, functions: 10_000 },
  pro: { api: 1_000_000, storage: 73_000, bandwidth: 1_000, compute: 1_000, functions: 100_000 },
  enterprise: {},
};

/** Replaces the customer's monthly quotas with the plan's, in one transaction. Day quotas stay. */
export async function applyPlan(db: Kysely<Database>, plan: string, customerId: string, now: number): Promise<Quota[]> {
  if (!PLAN_NAMES.includes(plan as PlanName)) throw invalid('plan', `"${plan}" must be one of ${PLAN_NAMES.join(', ')}`);
  checkCustomer(customerId);
  const map = await services(db);
  await db.transaction().execute(async (trx) => {
    await trx.deleteFrom('quotas').where('customer_id', '=', customerId).where('period', '=', 'month').execute();
    for (const [service, limit] of Object.entries(PLANS[plan as PlanName])) {
      const def = map.get(service);
      if (!def) continue;
      await trx
        .insertInto('quotas')
        .values({ customer_id: customerId, service, period: 'month', limit_quantity: fromDisplay(def, limit), created_at: now })
        .execute();
    }
  });
  return listQuotas(db, { customerId });
}
