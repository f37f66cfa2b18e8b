// Org-wide reports: the core's usageReport over the collector's rollups (every host), through
// kysely's Postgres dialect. The tables it reads (services, price_rules, rollups, usage_records)
// have the same columns on both databases; the pool returns bigint/numeric as numbers (db.ts).
// Agents may record custom services the collector was never told about: before a report, each
// service seen in the rollups gets a definition (a known template's, or a plain one counting
// base units), so no usage is left out of an org-wide total.
import { sql, type Kysely } from 'kysely';
import type { Database } from '../storage/schema';
import { ensureBuiltins } from '../storage/repos/services';
import { usageReport, type ReportQuery, type UsageReport } from '../analytics/usage';
import { SERVICE_TEMPLATES, type ServiceDefinition } from '../core/services';
import type { CollectorDatabase } from './schema';

/** The collector's db seen through the agent's row types, for the shared repositories. */
export function asCoreDb(db: Kysely<CollectorDatabase>): Kysely<Database> {
  return db as unknown as Kysely<Database>;
}

function definitionFor(name: string): ServiceDefinition {
  const known = SERVICE_TEMPLATES.flatMap((t) => t.services).find((s) => s.name === name);
  if (known) return known;
  return {
    name,
    displayName: name,
    baseUnit: 'units',
    displayUnit: 'units',
    displayFactor: 1,
    integerOnly: false,
    requiredFields: [],
    breakdownKeys: [],
    builtin: false,
  };
}

async function ensureSeenServices(db: Kysely<CollectorDatabase>, now: number): Promise<void> {
  const missing = await sql<{ service: string }>`
    SELECT DISTINCT r.service FROM rollups r WHERE r.period = 'month' AND NOT EXISTS (SELECT 1 FROM services s WHERE s.name = r.service)`.execute(
    db,
  );
  for (const { service } of missing.rows) {
    const d = definitionFor(service);
    await db
      .insertInto('services')
      .values({
        name: d.name,
        display_name: d.displayName,
        base_unit: d.baseUnit,
        display_unit: d.displayUnit,
        display_factor: d.displayFactor,
        integer_only: d.integerOnly ? 1 : 0,
        required_fields: JSON.stringify(d.requiredFields),
        breakdown_keys: JSON.stringify(d.breakdownKeys),
        builtin: 0,
        created_at: now,
      })
      .onConflict((oc) => oc.column('name').doNothing())
      .execute();
  }
}

export async function collectorReport(db: Kysely<CollectorDatabase>, q: ReportQuery, now: number = Date.now()): Promise<UsageReport> {
  await ensureSeenServices(db, now);
  return usageReport(asCoreDb(db), q);
}

export async function ensureCollectorServices(db: Kysely<CollectorDatabase>, now: number): Promise<void> {
  await ensureBuiltins(asCoreDb(db), now);
}
