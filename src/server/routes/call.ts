// POST /api/call/:name: the typed contract for the UI, dispatched to the same handlers as IPC.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { dispatch, type AllHandlers } from '../../handlers/handlers';
import { errorBody, isObject } from '../errors';

export function callRoutes(app: FastifyInstance, handlers: AllHandlers, log: (line: object) => void): void {
  app.post('/api/call/:name', async (req: FastifyRequest<{ Params: { name: string } }>) => {
    const args = req.body ?? {};
    if (!isObject(args)) return errorBody('invalid_input', 'args: must be a JSON object', 'args');
    return dispatch(handlers, req.params.name as never, args, log as (line: Record<string, unknown>) => void);
  });
}
