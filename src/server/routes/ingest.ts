// POST /v1/events: one event, an array, {events: [...]} or CloudEvents, acknowledged after the
// commit that holds them (concurrent requests share one commit).
import type { FastifyInstance } from 'fastify';
import { TallyError } from '../../core/errors';
import type { AgentContext } from '../../handlers/context';
import { errorBody } from '../errors';
import { parseEventsBody, renameField } from '../events';

export function ingestRoutes(app: FastifyInstance, ctx: AgentContext): void {
  const writer = ctx.writer;
  const maxQueue = ctx.config.writer.maxQueue;
  app.post('/v1/events', async (req, reply) => {
    const parsed = parseEventsBody(req.body, req.headers['content-type']);
    if (parsed.inputs.length > maxQueue) {
      const message = `events: ${parsed.inputs.length} events exceed the writer queue (writer.maxQueue ${maxQueue}); send smaller batches`;
      return reply.code(413).send(errorBody('invalid_input', message, 'events'));
    }
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
