// GET /v1/report, GET and POST /v1/services: query strings and bodies checked here, field by
// field, then handed to the same handlers the UI and CLI use.
import type { FastifyInstance } from 'fastify';
import type { Handlers } from '../../core/api/contract';
import { invalid, toTallyError } from '../../core/errors';
import { parseDecimalToNanos } from '../../core/money';
import type { ServiceDefinition } from '../../core/services';
import type { AgentContext } from '../../handlers/context';
import type { Implementation } from '../../handlers/handlers';
import { checkServiceDefinition } from '../../storage/repos/services';
import { isObject } from '../errors';

const SERVICE_FIELDS = new Set([
  'name',
  'displayName',
  'baseUnit',
  'displayUnit',
  'displayFactor',
  'integerOnly',
  'requiredFields',
  'breakdownKeys',
  'builtin',
]);

function stringField(s: Record<string, unknown>, k: string, fallback?: string): string {
  const v = s[k] ?? fallback;
  if (typeof v !== 'string' || v.trim() === '' || v.length > 128)
    throw invalid(`service.${k}`, 'must be a non-empty string (at most 128 characters)');
  return v;
}

function keysField(s: Record<string, unknown>, k: string): string[] {
  const v = s[k] ?? [];
  if (!Array.isArray(v) || v.length > 32) throw invalid(`service.${k}`, 'must be an array of at most 32 metadata keys');
  v.forEach((x, i) => {
    if (typeof x !== 'string') throw invalid(`service.${k}[${i}]`, 'must be a string');
  });
  return v as string[];
}

/** The `service` object of POST /v1/services, every field checked and named. */
export function parseServiceDefinition(s: unknown): ServiceDefinition {
  if (!isObject(s))
    throw invalid(
      'service',
      'must be an object {name, baseUnit, displayUnit?, displayFactor?, integerOnly?, requiredFields?, breakdownKeys?}',
    );
  for (const k of Object.keys(s)) if (!SERVICE_FIELDS.has(k)) throw invalid(`service.${k}`, 'is not a service field');
  if (s.integerOnly !== undefined && typeof s.integerOnly !== 'boolean') throw invalid('service.integerOnly', 'must be true or false');
  if (s.builtin !== undefined && s.builtin !== false) throw invalid('service.builtin', 'a registered service cannot be built in');
  const displayFactor = s.displayFactor ?? 1;
  if (typeof displayFactor !== 'number') throw invalid('service.displayFactor', 'must be a number > 0');
  const name = stringField(s, 'name');
  const baseUnit = stringField(s, 'baseUnit');
  const service: ServiceDefinition = {
    name,
    displayName: stringField(s, 'displayName', name),
    baseUnit,
    displayUnit: stringField(s, 'displayUnit', baseUnit),
    displayFactor,
    integerOnly: (s.integerOnly as boolean | undefined) ?? false,
    requiredFields: keysField(s, 'requiredFields'),
    breakdownKeys: keysField(s, 'breakdownKeys'),
    builtin: false,
  };
  try {
    checkServiceDefinition(service);
  } catch (err) {
    throw prefixed(err);
  }
  return service;
}

/** The registry names the definition's own fields ("name"); the caller sent "service.name". */
function prefixed(err: unknown): Error {
  const e = toTallyError(err);
  if (e.code === 'invalid_input' && e.field !== undefined) return invalid(`service.${e.field}`, e.message.slice(e.field.length + 2));
  return e;
}

/** POST /v1/services: {template} or {service: {...}, unitPrice?}. */
export function parseServiceBody(body: unknown): { template: string } | { service: ServiceDefinition; unitPrice?: string } {
  if (!isObject(body))
    throw invalid('body', 'must be a JSON object: {"template": "llm"} or {"service": {"name": …, "baseUnit": …}, "unitPrice": "0.001"}');
  if (body.template !== undefined) {
    if (typeof body.template !== 'string' || body.template === '') throw invalid('template', 'must be a template name (llm, document)');
    return { template: body.template };
  }
  const service = parseServiceDefinition(body.service);
  if (body.unitPrice === undefined) return { service };
  if (typeof body.unitPrice !== 'string') throw invalid('unitPrice', 'must be a decimal string such as "0.001"');
  try {
    parseDecimalToNanos(body.unitPrice);
  } catch (err) {
    throw invalid('unitPrice', (err as Error).message);
  }
  return { service, unitPrice: body.unitPrice };
}

const REPORT_PARAMS = new Set(['from', 'to', 'month', 'service', 'customer', 'customerId', 'detailed']);

/** One query parameter given at most once. */
export function oneParam(query: Record<string, unknown>, k: string): string | undefined {
  const v = query[k];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw invalid(k, 'must be given once');
  return v;
}

export function reportArgs(query: Record<string, unknown>, knownService: (name: string) => boolean) {
  for (const k of Object.keys(query))
    if (!REPORT_PARAMS.has(k)) throw invalid(k, `is not a report parameter (use ${[...REPORT_PARAMS].join(', ')})`);
  const one = (k: string) => oneParam(query, k);
  const detailedText = one('detailed');
  let detailed = false;
  if (detailedText !== undefined) {
    if (['', 'true', '1'].includes(detailedText)) detailed = true;
    else if (!['false', '0'].includes(detailedText)) throw invalid('detailed', 'must be true or false');
  }
  const service = one('service');
  if (service !== undefined && !knownService(service)) throw invalid('service', `unknown service "${service.slice(0, 64)}"`);
  return { from: one('from'), to: one('to'), month: one('month'), service, customerId: one('customer') ?? one('customerId'), detailed };
}

export function reportRoutes(app: FastifyInstance, ctx: AgentContext, handlers: Implementation<Handlers>): void {
  app.get('/v1/report', async (req) => {
    const args = reportArgs(req.query as Record<string, unknown>, (name) => ctx.writer.services.has(name));
    return handlers['report.usage'](args);
  });

  app.get('/v1/services', async () => handlers['services.list']({}));

  app.post('/v1/services', async (req, reply) => {
    const args = parseServiceBody(req.body);
    let services;
    try {
      services = await handlers['services.add'](args);
    } catch (err) {
      const e = toTallyError(err);
      if (e.code === 'invalid_input' && 'service' in args && e.field !== undefined && e.field in args.service) throw prefixed(e);
      throw e;
    }
    reply.code(201);
    return services;
  });
}
