// Shared pieces of the analytics queries: the service catalogue as a map, range checks, exact sums.
import { sql } from 'kysely';
import type { ReadDb } from '../storage/schema';
import { invalid } from '../core/errors';
import { listServices } from '../storage/repos/service-rows';
import { toDisplay, type ServiceDefinition } from '../core/services';
import { decimalsOf, formatUnits, unitsToNumber } from '../core/quantity';

export interface Range {
  readonly from: number;
  /** Exclusive. */
  readonly to: number;
}

export async function serviceMap(db: ReadDb): Promise<Map<string, ServiceDefinition>> {
  return new Map((await listServices(db)).map((s) => [s.name, s]));
}

/** The definition of `name`, or an invalid_input error naming `field`. */
export function requireService(services: Map<string, ServiceDefinition>, name: string, field = 'service'): ServiceDefinition {
  const def = services.get(name);
  if (!def) throw invalid(field, `unknown service "${name}" (known: ${[...services.keys()].join(', ')})`);
  return def;
}

export function checkRange(r: Range): void {
  if (!Number.isFinite(r.from) || !Number.isFinite(r.to)) throw invalid('from', 'must be a time');
  if (r.to <= r.from) throw invalid('to', 'must be after from');
}

/** Whole days → milliseconds, validated (1 … 3660). */
export function daysToMs(days: number, field = 'days'): number {
  if (!Number.isInteger(days) || days < 1 || days > 3660) throw invalid(field, 'must be a whole number of days from 1 to 3660');
  return days * 86_400_000;
}

/** Display numbers: integers as-is, fractions to at most 6 significant decimals, no float noise. */

// ── Exact sums ──────────────────────────────────────────────────────────────────────────────
// Quantities are integer units (src/core/quantity.ts) whose sums can pass 2^63: rollups hold
// them as two limbs, raw records are split into the same limbs in SQL, and each limb sum is
// read as decimal text (CAST … AS TEXT) so nothing passes through a double on the way.

/** Selections for the exact sum of rollup quantities: join the two with joinLimbs. */
export const rollupQuantityHi = sql<string | null>`CAST(sum(sum_quantity_hi) AS TEXT)`;
export const rollupQuantityLo = sql<string | null>`CAST(sum(sum_quantity_lo) AS TEXT)`;
/** The same over raw records. */
export const rawQuantityHi = sql<string | null>`CAST(sum(quantity >> 32) AS TEXT)`;
export const rawQuantityLo = sql<string | null>`CAST(sum(quantity & 4294967295) AS TEXT)`;
/** Exact cost sums (nanos past 2^53 at 10^12 requests a month). */
export const rollupCostText = sql<string | null>`CAST(sum(sum_cost_nanos) AS TEXT)`;
export const rawCostText = sql<string | null>`CAST(sum(cost_nanos) AS TEXT)`;

/** An exact sum read as text → bigint (NULL: no rows → 0). */
export function exact(text: string | number | bigint | null | undefined): bigint {
  return BigInt(text ?? 0);
}

/** Units → display units (GB-hours, CPU-hours, …) as a double, for people. */
export function unitsToDisplay(def: ServiceDefinition, units: bigint | number): number {
  return toDisplay(def, unitsToNumber(units, decimalsOf(def)));
}

/** Units → the exact base quantity as decimal text ("1.5" CPU-seconds, "178000000000000000" byte-seconds). */
export function unitsToBase(def: Pick<ServiceDefinition, 'integerOnly'>, units: bigint | number): string {
  return formatUnits(units, decimalsOf(def));
}

export { roundDisplay } from '../core/services';
