// Org-wide reports: the core's usageReport over the collector's rollups (every host): service
// definitions from the PostgreSQL control tables, sums from the store (PostgreSQL or ClickHouse).
// The PostgreSQL tables have the agent's columns; the pool returns bigint/numeric as numbers (db.ts).
// Agents may record custom services the collector was never told about: before a report, each
// service seen in the rollups gets a definition (a known template's, or a plain one counting
// base units), so no usage is left out of an org-wide total.
import type { Kysely } from 'kysely';
import type { Database } from '../storage/schema';
import { ensureBuiltins } from '../storage/repos/services';
import { usageReport, type ReportQuery, type UsageReport } from '../analytics/usage';
import { SERVICE_TEMPLATES, type ServiceDefinition } from '../core/services';
import { pgStore } from './pg-store';
import type { CollectorDatabase } from './schema';
import type { CollectorStore } from './store';

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

async function ensureSeenServices(db: Kysely<CollectorDatabase>, store: CollectorStore, now: number): Promise<void> {
  const known = new Set((await db.selectFrom('services').select('name').execute()).map((s) => s.name));
  for (const service of await store.seenServices()) {
    if (known.has(service)) continue;
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

/** The org-wide report: service definitions from the control db, sums from the store (PostgreSQL's own rollups by default). */
export async function collectorReport(
  db: Kysely<CollectorDatabase>,
  q: ReportQuery,
  now: number = Date.now(),
  store: CollectorStore = pgStore({ db }),
): Promise<UsageReport> {
  await ensureSeenServices(db, store, now);
  return usageReport(asCoreDb(db), q, store.report);
}

export async function ensureCollectorServices(db: Kysely<CollectorDatabase>, now: number): Promise<void> {
  await ensureBuiltins(asCoreDb(db), now);
}
