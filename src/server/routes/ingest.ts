// POST /v1/events: one event, an array, {events: [...]}, CloudEvents (structured, batch or
// binary mode) or the second seed's events, acknowledged after the commit that holds them
// (concurrent requests share one commit). POST /api/v1/events is the same for OpenMeter's SDK,
// answered as OpenMeter does (204). An ingest key writes only for its own customer: events
// without one are stamped with it, an event naming another refuses the whole request before
// anything is stored.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { TallyError } from '../../core/errors';
import { validateRecord, validateRecords, type ValidationContext } from '../../core/records';
import { SERVICE_TEMPLATES, withServiceDefaults, type ServiceDefinition } from '../../core/services';
import type { AgentContext } from '../../handlers/context';
import type { Stored } from '../../storage/writer';
import { invoke, type AllHandlers } from '../../handlers/handlers';
import { errorBody, isObject } from '../errors';
import { CLOUDEVENTS, eventPrefix, parseEventsBody, renameField, type ParsedEvents } from '../events';
import { principalOf } from '../gates';
import { binaryCloudEvent, stableCloudEventIds, type NeededTemplate } from '../shapes';

const TEMPLATE_OF: Readonly<Record<string, NeededTemplate>> = { llm_input: 'llm', llm_output: 'llm', document: 'document' };

export function stampCustomer(req: FastifyRequest, parsed: ParsedEvents): void {
  const p = principalOf(req);
  if (p.kind === 'admin') return;
  const own = p.key.customer_id;
  parsed.inputs.forEach((input, i) => {
    if (!isObject(input)) return; // the writer's validation names it
    const given = input.customerId;
    if (given === undefined || given === null) {
      input.customerId = own;
      return;
    }
    if (given !== own) {
      const name = parsed.aliases.get(i)?.customerId ?? 'customerId';
      const field = parsed.single ? name : `${eventPrefix(parsed, i)}.${name}`;
      throw new TallyError('forbidden', `${field}: this API key may only record for customer "${own}"; nothing was stored`, {
        field,
      });
    }
  });
}

function parse(req: FastifyRequest): ParsedEvents {
  const binary = binaryCloudEvent(req.headers, req.body);
  return binary ? parseEventsBody(binary, CLOUDEVENTS) : parseEventsBody(req.body, req.headers['content-type']);
}

/** A number as JSON.stringify writes it. */
const jsonNumber = (n: number): string => (Number.isFinite(n) ? String(n) : 'null');
/** Nothing to escape in a ULID (or any id of letters and digits). */
const PLAIN_ID = /^[0-9A-Za-z]*$/;

/**
 * The answer `{accepted, duplicates, ids, records: [{id, inserted, costNanos}]}`, written as text
 * in one pass: ids are ULIDs (checked by validation: nothing to escape) and costs numbers, so the
 * generic serializer's walk over two arrays of objects is not needed. Same bytes as JSON.stringify.
 * The pieces go into one array joined once: no string per id or record, and no rope of thousands
 * of parts to flatten again before the length is known (Content-Length) and the text written.
 */
export function storedBody(stored: readonly Stored[]): { body: string; duplicates: number } {
  const n = stored.length;
  for (let i = 0; i < n; i++) if (!PLAIN_ID.test(stored[i]!.id)) return escapedBody(stored);
  const parts = new Array<string>(8 * n + 4);
  let duplicates = 0;
  let k = 1;
  for (let i = 0; i < n; i++) {
    const s = stored[i]!;
    if (!s.inserted) duplicates++;
    parts[k++] = i === 0 ? '"' : ',"';
    parts[k++] = s.id;
    parts[k++] = '"';
  }
  parts[k++] = '],"records":[';
  for (let i = 0; i < n; i++) {
    const s = stored[i]!;
    parts[k++] = i === 0 ? '{"id":"' : ',{"id":"';
    parts[k++] = s.id;
    parts[k++] = s.inserted ? '","inserted":true,"costNanos":' : '","inserted":false,"costNanos":';
    parts[k++] = jsonNumber(s.costNanos);
    parts[k++] = '}';
  }
  parts[k++] = ']}';
  parts[0] = `{"accepted":${n},"duplicates":${duplicates},"ids":[`;
  return { body: parts.join(''), duplicates };
}

/** The same answer when an id needs escaping (never a ULID): each id through JSON.stringify. */
function escapedBody(stored: readonly Stored[]): { body: string; duplicates: number } {
  let duplicates = 0;
  const ids = stored.map((s) => {
    if (!s.inserted) duplicates++;
    return JSON.stringify(s.id);
  });
  const records = stored.map((s, i) => `{"id":${ids[i]},"inserted":${s.inserted},"costNanos":${jsonNumber(s.costNanos)}}`);
  return {
    body: `{"accepted":${stored.length},"duplicates":${duplicates},"ids":[${ids.join(',')}],"records":[${records.join(',')}]}`,
    duplicates,
  };
}

export function ingestRoutes(app: FastifyInstance, ctx: AgentContext, handlers: AllHandlers): void {
  const writer = ctx.writer;
  const maxQueue = ctx.config.writer.maxQueue;

  /**
   * LLM and document records need their templates (the second seed's events, and clients that
   * send llm_input / llm_output / document): installed on first use, so a tenant's key can send
   * them. Null when every template they need is installed (nearly always).
   */
  const templatesNeeded = (parsed: ParsedEvents): Set<NeededTemplate> | null => {
    let needed: Set<NeededTemplate> | null = null;
    for (const template of parsed.templates) if (!installed(template)) (needed ??= new Set()).add(template);
    for (const input of parsed.inputs) {
      const service = isObject(input) ? input.service : undefined;
      if (typeof service === 'string' && !writer.services.has(service) && TEMPLATE_OF[service])
        (needed ??= new Set()).add(TEMPLATE_OF[service]);
    }
    return needed;
  };
  const installed = (template: NeededTemplate) => writer.services.has(template === 'llm' ? 'llm_input' : 'document');
  const installTemplates = async (needed: Set<NeededTemplate>) => {
    for (const template of needed) if (!installed(template)) await invoke(handlers, 'services.add', { template });
  };

  /**
   * A refused request changes nothing, configuration included: before templates are installed,
   * the records are checked as the writer will check them, against the services as they will be.
   */
  const checkBeforeInstalling = (parsed: ParsedEvents, needed: Set<NeededTemplate>): void => {
    const services = new Map<string, ServiceDefinition>(writer.services);
    for (const t of SERVICE_TEMPLATES) {
      if (!needed.has(t.name as NeededTemplate)) continue;
      for (const def of t.services) if (!services.has(def.name)) services.set(def.name, withServiceDefaults(def));
    }
    const check: ValidationContext = { services, defaultCustomerId: ctx.config.customerId, defaultSource: 'agent', now: ctx.now() };
    try {
      if (parsed.single && parsed.inputs.length === 1) validateRecord(parsed.inputs[0], check);
      else validateRecords(parsed.inputs, check, parsed.single ? 'record' : 'events');
    } catch (err) {
      throw err instanceof TallyError ? renameField(err, parsed) : err;
    }
  };

  /** The commit's promise, or null when the request was answered already (413). Not async: one promise per request. */
  const ingest = (req: FastifyRequest, reply: FastifyReply, prepare?: (inputs: unknown[]) => void): Promise<Stored[]> | null => {
    const parsed = parse(req);
    prepare?.(parsed.inputs as unknown[]);
    if (parsed.inputs.length > maxQueue) {
      const message = `events: ${parsed.inputs.length} events exceed the writer queue (writer.maxQueue ${maxQueue}); send smaller batches`;
      reply.code(413).send(errorBody('invalid_input', message, 'events'));
      return null;
    }
    stampCustomer(req, parsed);
    const needed = templatesNeeded(parsed);
    if (needed === null) return commit(req, parsed);
    checkBeforeInstalling(parsed, needed);
    return installTemplates(needed).then(() => commit(req, parsed));
  };

  /**
   * Hands the events to the writer, which validates them at once and keeps its own copies. Not
   * async, and the rejection handler holds only the field names: the parsed body (a thousand
   * objects for a batch) is not kept while the request waits for its commit, so it dies young
   * instead of being promoted and collected later at a higher cost.
   */
  const commit = (req: FastifyRequest, parsed: ParsedEvents): Promise<Stored[]> => {
    const naming = { single: parsed.single, aliases: parsed.aliases, events: parsed.events };
    const committed = writer.recordMany(parsed.inputs, parsed.single ? 'record' : 'events');
    req.body = undefined;
    return committed.catch((err: unknown) => {
      throw err instanceof TallyError ? renameField(err, naming) : err;
    });
  };

  app.post('/v1/events', async (req, reply) => {
    const committed = ingest(req, reply);
    if (committed === null) return reply;
    const stored = await committed;
    const { body, duplicates } = storedBody(stored);
    reply.code(duplicates === stored.length ? 200 : 201).header('content-type', 'application/json; charset=utf-8');
    return body;
  });

  // OpenMeter dedupes on (source, id): so does this route, through ids derived from the pair.
  app.post('/api/v1/events', async (req, reply) => {
    const committed = ingest(req, reply, stableCloudEventIds);
    if (committed === null) return reply;
    await committed;
    return reply.code(204).send();
  });
}
