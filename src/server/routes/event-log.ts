// The event log over HTTP: GET /v1/events (filters, limit, cursor; newest first) and
// GET /v1/events/:id. A read key sees only its own customer's events.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { invalid, TallyError } from '../../core/errors';
import type { EventEntry } from '../../core/api/events';
import { parseDateArg } from '../../core/period';
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
/** OpenMeter's parameters Tally cannot honour: refused, never ignored (an ignored filter answers with other events). */
const UNSUPPORTED: Readonly<Record<string, string>> = {
  clientId: 'is not supported: Tally does not keep the client id of an ingest request',
  ingestedAtFrom: 'is not supported: Tally does not store when an event was ingested; filter on the event time with from',
  ingestedAtTo: 'is not supported: Tally does not store when an event was ingested; filter on the event time with to',
};
const ULID = /^[0-9A-HJKMNP-TV-Z]{26}$/;

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

interface OpenMeterQuery {
  /** The events.list arguments: customer, from, to, limit. */
  readonly args: Record<string, unknown>;
  /** One event by its id, when `id` was given. */
  readonly id?: string;
}

/**
 * GET /api/v1/events as OpenMeter's SDK calls it: from, to, limit (≤ 100), subject or customerId
 * (both name Tally's customer) and id (an exact event id).
 */
function openMeterQuery(req: FastifyRequest): OpenMeterQuery {
  const query = req.query as Record<string, unknown>;
  for (const k of Object.keys(query)) {
    if (!OPENMETER_PARAMS.has(k)) throw invalid(k, 'is not an OpenMeter event list parameter');
    if (UNSUPPORTED[k] !== undefined) throw invalid(k, UNSUPPORTED[k]);
  }
  const limitText = oneParam(query, 'limit');
  if (limitText !== undefined && !/^\d{1,3}$/.test(limitText)) throw invalid('limit', 'must be a whole number up to 100');
  const subject = oneParam(query, 'subject');
  const customerId = oneParam(query, 'customerId');
  if (subject !== undefined && customerId !== undefined && subject !== customerId)
    throw invalid('customerId', 'conflicts with subject: both name the customer in Tally; send one of them');
  const customer = scopedCustomer(req, subject ?? customerId, subject !== undefined ? 'subject' : 'customerId');
  const id = oneParam(query, 'id');
  // A CloudEvent whose id is not a ULID is stored under a ULID derived from its (source, id): the id alone cannot find it.
  if (id !== undefined && !ULID.test(id))
    throw invalid('id', `"${id.slice(0, 64)}" is not a ULID: Tally finds an event by its exact Tally id (a ULID) only`);
  return {
    args: {
      ...(customer !== undefined && { customer }),
      ...(query.from !== undefined && { from: oneParam(query, 'from') }),
      ...(query.to !== undefined && { to: oneParam(query, 'to') }),
      limit: Math.min(100, Math.max(1, Number(limitText ?? 100))),
    },
    ...(id !== undefined && { id }),
  };
}

/** The event of that id, as a list of one (or none, when it is missing or outside the other filters). */
async function openMeterOne(handlers: AllHandlers, id: string, args: Record<string, unknown>): Promise<EventEntry[]> {
  const from = args.from === undefined ? undefined : parseDateArg('from', args.from as string);
  const to = args.to === undefined ? undefined : parseDateArg('to', args.to as string, true);
  if (from !== undefined && to !== undefined && to <= from) throw invalid('to', 'must be after from');
  let event: EventEntry;
  try {
    event = await invoke(handlers, 'events.get', { id });
  } catch (err) {
    if (err instanceof TallyError && err.code === 'not_found') return [];
    throw err;
  }
  const at = Date.parse(event.recordedAt);
  const outside =
    (args.customer !== undefined && event.customer !== args.customer) ||
    (from !== undefined && at < from) ||
    (to !== undefined && at >= to);
  return outside ? [] : [event];
}

export function eventLogRoutes(app: FastifyInstance, handlers: AllHandlers): void {
  app.get('/api/v1/events', async (req) => {
    const { args, id } = openMeterQuery(req);
    const events = id !== undefined ? await openMeterOne(handlers, id, args) : (await invoke(handlers, 'events.list', args)).events;
    return events.map(asOpenMeter);
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
