// POST /v1/events: one event, an array, {events: [...]} or CloudEvents, acknowledged after the
// commit that holds them (concurrent requests share one commit). An ingest key writes only for
// its own customer: events without one are stamped with it, an event naming another refuses the
// whole request before anything is stored.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { TallyError } from '../../core/errors';
import type { AgentContext } from '../../handlers/context';
import { errorBody, isObject } from '../errors';
import { parseEventsBody, renameField, type ParsedEvents } from '../events';
import { principalOf } from '../gates';

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
      const field = parsed.single ? name : `events[${i}].${name}`;
      throw new TallyError('forbidden', `${field}: this API key may only record for customer "${own}"; nothing was stored`, { field });
    }
  });
}

export function ingestRoutes(app: FastifyInstance, ctx: AgentContext): void {
  const writer = ctx.writer;
  const maxQueue = ctx.config.writer.maxQueue;
  app.post('/v1/events', async (req, reply) => {
    const parsed = parseEventsBody(req.body, req.headers['content-type']);
    if (parsed.inputs.length > maxQueue) {
      const message = `events: ${parsed.inputs.length} events exceed the writer queue (writer.maxQueue ${maxQueue}); send smaller batches`;
      return reply.code(413).send(errorBody('invalid_input', message, 'events'));
    }
    stampCustomer(req, parsed);
    let stored;
    try {
      stored = await writer.recordMany(parsed.inputs, parsed.single ? 'record' : 'events');
    } catch (err) {
      throw err instanceof TallyError ? renameField(err, parsed) : err;
    }
    const ids = new Array<string>(stored.length);
    let duplicates = 0;
    for (let i = 0; i < stored.length; i++) {
      ids[i] = stored[i]!.id;
      if (!stored[i]!.inserted) duplicates++;
    }
    reply.code(duplicates === stored.length ? 200 : 201);
    return { accepted: stored.length, duplicates, ids, records: stored };
  });
}
