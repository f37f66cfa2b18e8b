// Service layer for recording, services, prices and the usage report.
import type { UsageHandlers } from '../core/api/usage';
import { invalid } from '../core/errors';
import { installTemplate, listPriceRules, listServices, setPriceRule, upsertService } from '../storage/repos/services';
import { usageReport } from '../analytics/usage';
import { SERVICE_TEMPLATES } from '../core/services';
import { parseDateArg, parseRange } from '../cli/args';
import type { AgentContext } from './context';
import type { Implementation } from './handlers';

export function usageHandlers(ctx: AgentContext): Implementation<UsageHandlers> {
  return {
    'records.add': async ({ records }) => {
      if (!Array.isArray(records)) throw invalid('records', 'must be an array');
      return ctx.writer.recordMany(records);
    },
    'services.list': () => listServices(ctx.tdb.db),
    'services.add': async (args) => {
      const now = ctx.now();
      if ('template' in args) {
        const template = SERVICE_TEMPLATES.find((t) => t.name === args.template);
        if (!template) throw invalid('template', `unknown template "${args.template}"`);
        await installTemplate(ctx.tdb.db, template, now);
      } else {
        await upsertService(ctx.tdb.db, { ...args.service, builtin: false }, now);
        if (args.unitPrice !== undefined) {
          await setPriceRule(
            ctx.tdb.db,
            { service: args.service.name, effectiveFrom: 0, spec: { model: 'per_unit', unitPrice: args.unitPrice } },
            now,
          );
        }
      }
      await ctx.writer.refresh();
      return listServices(ctx.tdb.db);
    },
    'prices.list': ({ service }) => listPriceRules(ctx.tdb.db, service),
    'prices.set': async ({ service, spec, effectiveFrom, minimumCharge }) => {
      const from = effectiveFrom === undefined ? ctx.now() : parseDateArg('effectiveFrom', effectiveFrom);
      await setPriceRule(ctx.tdb.db, { service, spec, effectiveFrom: from, minimumCharge: minimumCharge ?? null }, ctx.now());
      await ctx.writer.refresh();
      return listPriceRules(ctx.tdb.db, service);
    },
    'report.usage': ({ service, customerId, detailed, ...period }) =>
      usageReport(ctx.tdb.db, { ...parseRange(period, ctx.now()), service, customerId, detailed }),
  };
}
