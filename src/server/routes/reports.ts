// GET /v1/report, GET and POST /v1/services: query strings read here, then handed to the same
// handlers (and the same argument schemas) the UI and CLI use.
import type { FastifyInstance } from 'fastify';
import { invalid } from '../../core/errors';
import { CUSTOMER_ID } from '../../core/services';
import { invoke, type AllHandlers } from '../../handlers/handlers';
import { scopedCustomer } from '../gates';
import { isRegistryBody, parseRegistryBody, type RegistryPlan } from '../shapes';

const REPORT_PARAMS = new Set(['from', 'to', 'month', 'service', 'customer', 'customerId', 'detailed']);

/** One query parameter given at most once. */
export function oneParam(query: Record<string, unknown>, k: string): string | undefined {
  const v = query[k];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw invalid(k, 'must be given once');
  return v;
}

/**
 * A customer named in a query string, checked as /v1/events checks it: given but empty is not
 * "every customer", and a value no event could carry (NUL, 300 characters) is refused by name.
 */
export function customerParam(query: Record<string, unknown>, k: string): string | undefined {
  const v = oneParam(query, k);
  if (v !== undefined && !CUSTOMER_ID.test(v))
    throw invalid(k, 'must be 1-128 letters, digits and . _ : @ - (starting with a letter or digit)');
  return v;
}

/** The report's query string, each parameter given once; the handler checks the values (dates, the service). */
export function reportArgs(query: Record<string, unknown>) {
  for (const k of Object.keys(query))
    if (!REPORT_PARAMS.has(k)) throw invalid(k, `is not a report parameter (use ${[...REPORT_PARAMS].join(', ')})`);
  const one = (k: string) => oneParam(query, k);
  const detailedText = one('detailed');
  let detailed = false;
  if (detailedText !== undefined) {
    if (['', 'true', '1'].includes(detailedText)) detailed = true;
    else if (!['false', '0'].includes(detailedText)) throw invalid('detailed', 'must be true or false');
  }
  return {
    from: one('from'),
    to: one('to'),
    month: one('month'),
    service: one('service'),
    customerId: customerParam(query, 'customer') ?? customerParam(query, 'customerId'),
    detailed,
  };
}

/** The second seed's registration: its template or service, then its rates (per model or provider). */
async function registerSeedService(handlers: AllHandlers, plan: RegistryPlan) {
  let services = plan.template ? await invoke(handlers, 'services.add', { template: plan.template }) : undefined;
  if (plan.service) services = await invoke(handlers, 'services.add', { service: { ...plan.service, integerOnly: false } });
  for (const p of plan.prices) {
    await invoke(handlers, 'prices.set', { service: p.service, spec: p.spec, ...(p.since0 && { effectiveFrom: '1970-01-01' }) });
  }
  return services ?? invoke(handlers, 'services.list', {});
}

export function reportRoutes(app: FastifyInstance, handlers: AllHandlers): void {
  app.get('/v1/report', async (req) => {
    const args = reportArgs(req.query as Record<string, unknown>);
    const customerId = scopedCustomer(req, args.customerId);
    return invoke(handlers, 'report.usage', { ...args, customerId });
  });

  app.get('/v1/services', async () => invoke(handlers, 'services.list', {}));

  // {template} or {service: {...}, unitPrice?}: the contract's schema and the registry check it.
  app.post('/v1/services', async (req, reply) => {
    const services = isRegistryBody(req.body)
      ? await registerSeedService(handlers, parseRegistryBody(req.body))
      : await invoke(handlers, 'services.add', req.body);
    reply.code(201);
    return services;
  });
}
