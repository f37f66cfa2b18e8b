// POST /api/call/:name: the typed contract for the UI and the CLI, dispatched to the same
// handlers as IPC. A change a `tally` command sends through the agent is logged, so an
// operator can see who changed what while the agent held the database.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { READ_ONLY_CALLS, type HandlerName } from '../../core/api/contract';
import { dispatch, isHandlerName, type AllHandlers } from '../../handlers/handlers';
import { errorBody, isObject } from '../errors';

export function callRoutes(app: FastifyInstance, handlers: AllHandlers, log: (line: object) => void): void {
  const logLine = log as (line: Record<string, unknown>) => void;
  app.post('/api/call/:name', async (req: FastifyRequest<{ Params: { name: string } }>) => {
    const args = req.body ?? {};
    if (!isObject(args)) return errorBody('invalid_input', 'args: must be a JSON object', 'args');
    const name = req.params.name;
    const client = req.headers['x-tally-client'];
    if (client === 'cli' && isHandlerName(name) && !READ_ONLY_CALLS.has(name)) {
      logLine({ level: 'info', msg: 'change through the API', call: name, client: 'cli' });
    }
    return dispatch(handlers, name as HandlerName, args, logLine);
  });
}
