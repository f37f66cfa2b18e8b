// Service layer for recording, services, prices and the usage report.
import { usageReport } from '../analytics/usage';
import { lateMarks } from '../analytics/late';
import type { ServiceInput, usageArgs } from '../core/api/usage';
import { parseAggregation } from '../core/aggregation';
import { invalid } from '../core/errors';
import { parseDecimalToNanos } from '../core/money';
import { parseDateArg, parseRange } from '../core/period';
import { SERVICE_TEMPLATES, type ServiceDefinition } from '../core/services';
import { listPriceRules, listServices } from '../storage/repos/service-rows';
import { readDb, type AgentContext } from './context';
import type { Implementation } from './handlers';

/** A caller's service with the registry's defaults: units default to each other, the display name to the name. */
export function serviceDefinition(s: ServiceInput): ServiceDefinition {
  const displayUnit = s.displayUnit ?? s.baseUnit ?? '';
  return {
    name: s.name,
    displayName: s.displayName ?? s.name,
    baseUnit: s.baseUnit ?? displayUnit,
    displayUnit,
    displayFactor: s.displayFactor ?? 1,
    integerOnly: s.integerOnly ?? false,
    requiredFields: s.requiredFields ?? [],
    breakdownKeys: s.breakdownKeys ?? s.groupBy ?? s.requiredFields ?? [],
    builtin: false,
    ...serviceAggregation(s),
  };
}

/** The aggregation fields of a service input: "unique:user_id" or aggregation + aggregationField. */
function serviceAggregation(s: ServiceInput): Pick<ServiceDefinition, 'aggregation' | 'aggregationField' | 'valueProperty' | 'groupBy'> {
  const a =
    s.aggregation === undefined
      ? { aggregation: 'sum' as const, field: null }
      : parseAggregation(
          s.aggregation === 'unique_count' && s.aggregationField ? `unique:${s.aggregationField}` : s.aggregation,
          'service.aggregation',
        );
  return { aggregation: a.aggregation, aggregationField: a.field, valueProperty: s.valueProperty ?? null, groupBy: s.groupBy ?? [] };
}

function checkUnitPrice(price: string): void {
  try {
    parseDecimalToNanos(price);
  } catch (err) {
    throw invalid('unitPrice', (err as Error).message);
  }
}

export function usageHandlers(ctx: AgentContext): Implementation<keyof typeof usageArgs> {
  return {
    'records.add': ({ records }) => ctx.writer.recordMany(records),
    'services.list': () => listServices(readDb(ctx)),
    'services.add': async ({ service, template, unitPrice, update }) => {
      const now = ctx.now();
      // The registry's checks and writes are loaded on use: a report only reads.
      const { installTemplate, setPriceRule, upsertService } = await import('../storage/repos/services');
      if (service === undefined) {
        const found = SERVICE_TEMPLATES.find((t) => t.name === template);
        if (!found) throw invalid('template', `unknown template "${template}" (known: ${SERVICE_TEMPLATES.map((t) => t.name).join(', ')})`);
        await installTemplate(ctx.tdb.db, found, now);
      } else {
        const def = serviceDefinition(service);
        if (unitPrice !== undefined) checkUnitPrice(unitPrice);
        // One transaction: a price the book refuses leaves no service behind without it.
        await ctx.tdb.db.transaction().execute(async (trx) => {
          await upsertService(trx, def, now, 'service.', { update: update ?? false });
          if (unitPrice !== undefined) {
            await setPriceRule(trx, { service: def.name, effectiveFrom: 0, spec: { model: 'per_unit', unitPrice } }, now);
          }
        });
      }
      await ctx.writer.refresh();
      return listServices(ctx.tdb.db);
    },
    'prices.list': ({ service }) => listPriceRules(readDb(ctx), service),
    'prices.set': async ({ service, spec, effectiveFrom, minimumCharge }) => {
      const from = effectiveFrom === undefined ? ctx.now() : parseDateArg('effectiveFrom', effectiveFrom);
      const { setPriceRule } = await import('../storage/repos/services');
      await setPriceRule(ctx.tdb.db, { service, spec, effectiveFrom: from, minimumCharge: minimumCharge ?? null }, ctx.now());
      await ctx.writer.refresh();
      return listPriceRules(ctx.tdb.db, service);
    },
    'report.usage': async ({ service, customerId, detailed, ...period }) => {
      const range = parseRange(period, ctx.now());
      const db = readDb(ctx);
      if (service !== undefined && !(await listServices(db)).some((s) => s.name === service))
        throw invalid('service', `unknown service "${service}" (tally services lists them)`);
      // Closed months the range touches carry a late mark: what arrived after they closed.
      const late = await lateMarks(db, { ...range, service, customerId });
      return { ...(await usageReport(db, { ...range, service, customerId, detailed })), late };
    },
  };
}
