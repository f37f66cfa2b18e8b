// Shared pieces of the analytics queries: the service catalogue as a map, and range checks.
import type { Kysely } from 'kysely';
import type { Database } from '../storage/schema';
import { invalid } from '../core/errors';
import { listServices } from '../storage/repos/services';
import type { ServiceDefinition } from '../core/services';

export interface Range {
  readonly from: number;
  /** Exclusive. */
  readonly to: number;
}

export async function serviceMap(db: Kysely<Database>): Promise<Map<string, ServiceDefinition>> {
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
export function roundDisplay(n: number): number {
  if (Number.isInteger(n)) return n;
  return Number(n.toPrecision(12));
}
