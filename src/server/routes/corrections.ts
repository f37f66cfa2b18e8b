// Corrections over HTTP: POST /v1/events/:id/void {reason} and POST /v1/events/:id/amend
// {quantity?, metadata?, recorded_at?, reason}; GET /v1/corrections (the audit trail);
// GET /v1/sync/corrections and POST /v1/sync/corrections/:target/:seq/done (corrections a target
// could not take back); POST /v1/statements/:month/close. Only the admin reaches them (no key scope lists them, so a
// key is answered 403 by the gates). Who corrected is taken from the credential, never the body.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { invalid } from '../../core/errors';
import { invoke, type AllHandlers } from '../../handlers/handlers';
import { isObject } from '../errors';
import { principalOf } from '../gates';
import { oneParam } from './reports';

type WithId = FastifyRequest<{ Params: { id: string } }>;

function actor(req: FastifyRequest): string {
  const p = principalOf(req);
  return p.kind === 'admin' ? 'admin' : `key:${p.key.id}`;
}

/** The JSON body as an object, with `by` refused: the agent says who asked. */
function body(req: FastifyRequest): Record<string, unknown> {
  const b = req.body ?? {};
  if (!isObject(b)) throw invalid('body', 'must be a JSON object');
  if ('by' in b) throw invalid('by', 'is not an argument: the agent records who asked from the credential');
  return b;
}

export function correctionRoutes(app: FastifyInstance, handlers: AllHandlers): void {
  app.post('/v1/events/:id/void', async (req: WithId) =>
    invoke(handlers, 'events.void', { ...body(req), id: req.params.id, by: actor(req) }),
  );

  app.post('/v1/events/:id/amend', async (req: WithId) => {
    // The HTTP API names fields in snake_case, like the event log.
    const { recorded_at: recordedAt, ...rest } = body(req);
    if ('recordedAt' in rest) throw invalid('recordedAt', 'is not an argument (use recorded_at)');
    return invoke(handlers, 'events.amend', {
      ...rest,
      ...(recordedAt !== undefined && { recordedAt }),
      id: req.params.id,
      by: actor(req),
    });
  });

  app.get('/v1/corrections', async (req) => {
    const query = req.query as Record<string, unknown>;
    for (const k of Object.keys(query)) if (k !== 'id' && k !== 'limit') throw invalid(k, 'is not a parameter (use id, limit)');
    const limit = oneParam(query, 'limit');
    if (limit !== undefined && !/^\d{1,4}$/.test(limit)) throw invalid('limit', `"${limit.slice(0, 20)}" must be a whole number`);
    const id = oneParam(query, 'id');
    return invoke(handlers, 'corrections.list', {
      ...(id !== undefined && { id }),
      ...(limit !== undefined && { limit: Number(limit) }),
    });
  });

  app.get('/v1/sync/corrections', async (req) => {
    const query = req.query as Record<string, unknown>;
    for (const k of Object.keys(query)) if (k !== 'target' && k !== 'all') throw invalid(k, 'is not a parameter (use target, all)');
    const target = oneParam(query, 'target');
    const all = oneParam(query, 'all');
    if (all !== undefined && all !== 'true' && all !== 'false') throw invalid('all', 'must be true or false');
    return invoke(handlers, 'sync.corrections.list', { ...(target !== undefined && { target }), ...(all === 'true' && { all: true }) });
  });

  app.post('/v1/sync/corrections/:target/:seq/done', async (req: FastifyRequest<{ Params: { target: string; seq: string } }>) => {
    if (!/^\d{1,15}$/.test(req.params.seq)) throw invalid('seq', 'must be a whole number');
    return invoke(handlers, 'sync.corrections.done', { target: req.params.target, seq: Number(req.params.seq) });
  });

  app.post('/v1/statements/:month/close', async (req: FastifyRequest<{ Params: { month: string } }>) =>
    invoke(handlers, 'statement.close', { month: req.params.month, by: actor(req) }),
  );
}
