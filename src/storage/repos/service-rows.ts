// Reading the service registry and price book: the rows of `services` and `price_rules` as domain
// values. Kept apart from the checks and writes in services.ts so a report loads only this.
import type { PriceRule, PriceSpec } from '../../core/pricing';
import type { ServiceDefinition } from '../../core/services';
import type { PriceRuleRow, ReadDb, ServiceRow } from '../schema';

export function rowToService(row: ServiceRow): ServiceDefinition {
  return {
    name: row.name,
    displayName: row.display_name,
    baseUnit: row.base_unit,
    displayUnit: row.display_unit,
    displayFactor: row.display_factor,
    integerOnly: row.integer_only === 1,
    requiredFields: JSON.parse(row.required_fields) as string[],
    breakdownKeys: JSON.parse(row.breakdown_keys) as string[],
    builtin: row.builtin === 1,
    aggregation: row.aggregation,
    aggregationField: row.aggregation_field,
    valueProperty: row.value_property,
    groupBy: JSON.parse(row.group_by) as string[],
  };
}

export function rowToPriceRule(row: PriceRuleRow): PriceRule {
  return {
    id: row.id,
    service: row.service,
    effectiveFrom: row.effective_from,
    spec: JSON.parse(row.spec) as PriceSpec,
    minimumCharge: row.minimum_charge,
  };
}

export async function listServices(db: ReadDb): Promise<ServiceDefinition[]> {
  const rows = await db.selectFrom('services').selectAll().orderBy('builtin', 'desc').orderBy('name').execute();
  return rows.map(rowToService);
}

export async function getService(db: ReadDb, name: string): Promise<ServiceDefinition | null> {
  const row = await db.selectFrom('services').selectAll().where('name', '=', name).executeTakeFirst();
  return row ? rowToService(row) : null;
}

export async function listPriceRules(db: ReadDb, service?: string): Promise<PriceRule[]> {
  let q = db.selectFrom('price_rules').selectAll().orderBy('service').orderBy('effective_from');
  if (service !== undefined) q = q.where('service', '=', service);
  return (await q.execute()).map(rowToPriceRule);
}
