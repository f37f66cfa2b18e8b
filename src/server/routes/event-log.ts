// The event log over HTTP: GET /v1/events (filters, limit, cursor; newest first) and
// GET /v1/events/:id. A read key sees only its own customer's events.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { invalid, TallyError } from '../../core/errors';
import type { EventEntry } from '../../core/api/events';
import { invoke, type AllHandlers } from '../../handlers/handlers';
import { scopedCustomer } from '../gates';
import { oneParam } from './reports';

const LIST_PARAMS = ['customer', 'service', 'user', 'from', 'to', 'limit', 'cursor'] as const;
/** The second seed's names for the same filters. */
const ALIASES: Record<string, (typeof LIST_PARAMS)[number]> = {
  tenant_id: 'customer',
  customer_id: 'customer',
  user_id: 'user',
  service_type: 'service',
  start_date: 'from',
  end_date: 'to',
};

export function eventListArgs(req: FastifyRequest): Record<string, unknown> {
  const query = req.query as Record<string, unknown>;
  const args: Record<string, unknown> = {};
  for (const k of Object.keys(query)) {
    const name = ALIASES[k] ?? k;
    if (!(LIST_PARAMS as readonly string[]).includes(name))
      throw invalid(k, `is not an event log parameter (use ${LIST_PARAMS.join(', ')})`);
    if (args[name] !== undefined) throw invalid(k, `repeats ${name}`);
    args[name] = oneParam(query, k);
  }
  if (args.limit !== undefined) {
    const text = args.limit as string;
    if (!/^\d{1,7}$/.test(text)) throw invalid('limit', `"${text.slice(0, 20)}" must be a whole number`);
    args.limit = Number(text);
  }
  const customer = scopedCustomer(req, args.customer as string | undefined);
  if (customer !== undefined) args.customer = customer;
  return args;
}

const OPENMETER_PARAMS = new Set(['from', 'to', 'limit', 'subject', 'customerId', 'id', 'clientId', 'ingestedAtFrom', 'ingestedAtTo']);

/** An event as OpenMeter's list answers it: the CloudEvent with the amount as data.value. */
function asOpenMeter(e: EventEntry) {
  const { ce_id, ce_source, ...dimensions } = e.metadata;
  return {
    event: {
      id: typeof ce_id === 'string' ? ce_id : e.id,
      source: typeof ce_source === 'string' ? ce_source : `tally/${e.source}`,
      specversion: '1.0',
      type: e.service,
      subject: e.customer,
      time: e.recordedAt,
      data: { ...dimensions, value: e.quantity },
    },
    customerId: e.customer,
    ingestedAt: e.recordedAt,
    storedAt: e.recordedAt,
  };
}

/** GET /api/v1/events as OpenMeter's SDK calls it: from, to, limit (≤ 100) and subject. */
function openMeterListArgs(req: FastifyRequest): Record<string, unknown> {
  const query = req.query as Record<string, unknown>;
  for (const k of Object.keys(query)) if (!OPENMETER_PARAMS.has(k)) throw invalid(k, 'is not an OpenMeter event list parameter');
  const limitText = oneParam(query, 'limit');
  if (limitText !== undefined && !/^\d{1,3}$/.test(limitText)) throw invalid('limit', 'must be a whole number up to 100');
  const subject = oneParam(query, 'subject');
  const customer = scopedCustomer(req, subject, 'subject');
  return {
    ...(customer !== undefined && { customer }),
    ...(query.from !== undefined && { from: oneParam(query, 'from') }),
    ...(query.to !== undefined && { to: oneParam(query, 'to') }),
    limit: Math.min(100, Math.max(1, Number(limitText ?? 100))),
  };
}

export function eventLogRoutes(app: FastifyInstance, handlers: AllHandlers): void {
  app.get('/api/v1/events', async (req) => {
    const page = await invoke(handlers, 'events.list', openMeterListArgs(req));
    return page.events.map(asOpenMeter);
  });

  app.get('/v1/events', async (req) => invoke(handlers, 'events.list', eventListArgs(req)));

  app.get('/v1/events/:id', async (req: FastifyRequest<{ Params: { id: string } }>) => {
    const event = await invoke(handlers, 'events.get', { id: req.params.id });
    // Another customer's event is answered as missing: a key learns nothing of it.
    const own = scopedCustomer(req, undefined);
    if (own !== undefined && own !== event.customer) {
      throw new TallyError('not_found', `id: no event "${req.params.id.slice(0, 64)}"`, { field: 'id' });
    }
    return event;
  });
}
