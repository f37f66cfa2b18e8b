// Org-wide reports: the core's usageReport over the collector's rollups (every host), through
// kysely's Postgres dialect. The tables it reads (services, price_rules, rollups, usage_records)
// have the same columns on both databases; the pool returns bigint/numeric as numbers (db.ts).
import type { Kysely } from 'kysely';
import type { Database } from '../core/db/schema';
import { ensureBuiltins } from '../core/repo/services';
import { usageReport, type ReportQuery, type UsageReport } from '../core/reports/usage';
import type { CollectorDatabase } from './schema';

/** The collector's db seen through the agent's row types, for the shared repositories. */
export function asCoreDb(db: Kysely<CollectorDatabase>): Kysely<Database> {
  return db as unknown as Kysely<Database>;
}

export async function collectorReport(db: Kysely<CollectorDatabase>, q: ReportQuery): Promise<UsageReport> {
  return usageReport(asCoreDb(db), q);
}

export async function ensureCollectorServices(db: Kysely<CollectorDatabase>, now: number): Promise<void> {
  await ensureBuiltins(asCoreDb(db), now);
}
