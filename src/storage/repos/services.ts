// Service registry and price book: SQL for `services` and `price_rules`, mapped to domain values.
import type { Kysely } from 'kysely';
import type { Database } from '../schema';
import { AGGREGATIONS, checkValueProperty } from '../../core/aggregation';
import { invalid, TallyError } from '../../core/errors';
import { serviceDifference } from '../../core/service-diff';
import { checkPriceSpec, type PriceSpec } from '../../core/pricing';
import { getService } from './service-rows';
import {
  withServiceDefaults,
  isDisplayFactor,
  fromDisplay,
  roundDisplay,
  smallestBaseQuantity,
  toDisplay,
  BUILTIN_SERVICES,
  DISPLAY_FACTOR_RANGE,
  DEFAULT_PRICES,
  SERVICE_NAME,
  type DefaultPrice,
  type ServiceDefinition,
} from '../../core/services';

export { getService, listPriceRules, listServices, rowToPriceRule, rowToService } from './service-rows';

/** Checks a service definition from outside; throws invalid(...) naming the field as `${prefix}name`. */
export function checkServiceDefinition(def: ServiceDefinition, prefix = ''): void {
  const bad = (field: string, problem: string) => invalid(`${prefix}${field}`, problem);
  if (!SERVICE_NAME.test(def.name)) throw bad('name', 'must start with a-z and contain only a-z, 0-9 and _ (at most 63 characters)');
  if (!def.displayName.trim()) throw bad('displayName', 'must not be empty');
  if (!def.baseUnit.trim()) throw bad('baseUnit', 'must not be empty');
  if (!def.displayUnit.trim()) throw bad('displayUnit', 'must not be empty');
  if (!isDisplayFactor(def.displayFactor))
    throw bad('displayFactor', `must be a number ${DISPLAY_FACTOR_RANGE}: base units per display unit (3600 for CPU-hours of CPU-seconds)`);
  checkAggregation(def, prefix);
  for (const [field, keys] of [
    ['requiredFields', def.requiredFields],
    ['breakdownKeys', def.breakdownKeys],
    ['groupBy', def.groupBy ?? []],
  ] as const) {
    keys.forEach((k, i) => {
      if (typeof k !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]{0,63}$/.test(k))
        throw bad(`${field}[${i}]`, 'must be a metadata key (letters, digits, _)');
    });
  }
}

/** A unique_count names its field; a value property is a JSON path of keys. */
function checkAggregation(def: ServiceDefinition, prefix: string): void {
  const a = def.aggregation ?? 'sum';
  if (!AGGREGATIONS.includes(a)) throw invalid(`${prefix}aggregation`, `"${String(a)}" must be sum, count, max, latest or unique_count`);
  if (a === 'unique_count' && !(typeof def.aggregationField === 'string' && /^[A-Za-z_][A-Za-z0-9_]{0,63}$/.test(def.aggregationField)))
    throw invalid(`${prefix}aggregationField`, 'unique_count needs the metadata key it counts, e.g. user_id');
  if (def.valueProperty != null) checkValueProperty(def.valueProperty, `${prefix}valueProperty`);
}

/**
 * Registers or updates a service. Built-in services cannot be redefined; a custom service
 * registered again with another definition is refused with the difference unless `update`.
 */
export async function upsertService(
  db: Kysely<Database>,
  def: ServiceDefinition,
  now: number,
  prefix = '',
  o: { update?: boolean } = {},
): Promise<void> {
  def = withServiceDefaults(def); // compared with the stored one field by field below
  checkServiceDefinition(def, prefix);
  const existing = await getService(db, def.name);
  if (existing?.builtin && !def.builtin) throw invalid(`${prefix}name`, `"${def.name}" is a built-in service and cannot be redefined`);
  const changes = existing && !existing.builtin && !o.update ? serviceDifference(existing, def) : [];
  if (changes.length > 0)
    throw new TallyError(
      'conflict',
      `${prefix}name: "${def.name}" is already registered differently (${changes.join('; ')}); pass --update (update: true) to change it`,
      { field: `${prefix}name`, problem: `is already registered differently (${changes.join('; ')})` },
    );
  const row = {
    name: def.name,
    display_name: def.displayName,
    base_unit: def.baseUnit,
    display_unit: def.displayUnit,
    display_factor: def.displayFactor,
    integer_only: def.integerOnly ? 1 : 0,
    required_fields: JSON.stringify(def.requiredFields),
    breakdown_keys: JSON.stringify(def.breakdownKeys),
    builtin: def.builtin ? 1 : 0,
    created_at: now,
    aggregation: def.aggregation ?? 'sum',
    aggregation_field: def.aggregation === 'unique_count' ? (def.aggregationField ?? null) : null,
    value_property: def.valueProperty ?? null,
    group_by: JSON.stringify(def.groupBy ?? []),
  };
  await db
    .insertInto('services')
    .values(row)
    .onConflict((oc) => oc.column('name').doUpdateSet({ ...row, created_at: undefined } as never))
    .execute();
}

export interface NewPriceRule {
  readonly service: string;
  readonly effectiveFrom: number;
  readonly spec: PriceSpec;
  readonly minimumCharge?: string | null;
}

/** Adds a rule (or replaces the one with the same effective date). Older records keep their prices. */
export async function setPriceRule(db: Kysely<Database>, rule: NewPriceRule, now: number): Promise<void> {
  const def = await getService(db, rule.service);
  if (!def) throw invalid('service', `unknown service "${rule.service}"`);
  // First: its message states the whole rule, 0 included.
  if (rule.spec.model === 'package' && typeof rule.spec.packageSize === 'number') checkPackageSize(def, rule.spec.packageSize);
  try {
    checkPriceSpec(rule.spec);
  } catch (err) {
    throw invalid('price', (err as Error).message);
  }
  if (rule.minimumCharge != null) {
    try {
      checkPriceSpec({ model: 'per_unit', unitPrice: rule.minimumCharge });
    } catch (err) {
      throw invalid('minimumCharge', (err as Error).message);
    }
  }
  const row = {
    service: rule.service,
    effective_from: rule.effectiveFrom,
    model: rule.spec.model,
    spec: JSON.stringify(rule.spec),
    minimum_charge: rule.minimumCharge ?? null,
    created_at: now,
  };
  await db
    .insertInto('price_rules')
    .values(row)
    .onConflict((oc) =>
      oc.columns(['service', 'effective_from']).doUpdateSet({ model: row.model, spec: row.spec, minimum_charge: row.minimum_charge }),
    )
    .execute();
}

/** The largest package, in display units (as for quotas). */
const PACKAGE_SIZE_MAX = 1e15;

/**
 * A package holds at least one stored unit of the service and at most 1e15 display units: a
 * package of 1e-300 requests made every event's cost Infinity (a 500 for each).
 */
function checkPackageSize(def: ServiceDefinition, size: number): void {
  const least = smallestBaseQuantity(def);
  if (fromDisplay(def, size) >= least && size <= PACKAGE_SIZE_MAX) return;
  const leastShown = roundDisplay(toDisplay(def, least));
  throw invalid('price', `packageSize must be from ${leastShown} (one stored unit) to 1e15 ${def.displayUnit}`);
}

async function addDefaultPrices(db: Kysely<Database>, prices: readonly DefaultPrice[], now: number): Promise<void> {
  for (const p of prices) {
    const has = await db.selectFrom('price_rules').select('id').where('service', '=', p.service).executeTakeFirst();
    if (!has) await setPriceRule(db, { service: p.service, effectiveFrom: 0, spec: { model: 'per_unit', unitPrice: p.unitPrice } }, now);
  }
}

/** Makes sure the six built-in services and their default prices exist. Idempotent. */
export async function ensureBuiltins(db: Kysely<Database>, now: number): Promise<void> {
  for (const def of BUILTIN_SERVICES) {
    const has = await db.selectFrom('services').select('name').where('name', '=', def.name).executeTakeFirst();
    if (!has) await upsertService(db, def, now);
  }
  await addDefaultPrices(db, DEFAULT_PRICES, now);
}

/** Registers the services of a template (llm, document) with their default prices. */
export async function installTemplate(
  db: Kysely<Database>,
  template: { services: readonly ServiceDefinition[]; prices: readonly DefaultPrice[] },
  now: number,
): Promise<void> {
  // Installing a template again brings its services up to the template's definition.
  for (const def of template.services) await upsertService(db, def, now, '', { update: true });
  await addDefaultPrices(db, template.prices, now);
}
