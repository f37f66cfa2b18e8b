// POST /api/call/:name: the typed contract for the UI and the CLI, dispatched to the same
// handlers as IPC. A change a `tally` command sends through the agent is logged, so an
// operator can see who changed what while the agent held the database. A read key reaches only
// the reads of its own customer (scope.ts).
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { READ_ONLY_CALLS, type HandlerName } from '../../core/api/contract';
import { dispatch, isHandlerName, type AllHandlers } from '../../handlers/handlers';
import { errorBody, isObject } from '../errors';
import { principalOf } from '../gates';
import { argsForReadKey } from '../scope';

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
    const p = principalOf(req);
    // A read key (header or its dashboard's cookie) reads its own customer only.
    const checked = p.kind === 'key' ? argsForReadKey(name, args, p.key.customer_id) : args;
    return dispatch(handlers, name as HandlerName, checked, logLine);
  });
}
