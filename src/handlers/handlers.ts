// The service layer: one implementation of the contract, shared by every face (HTTP, Electron
// IPC, the CLI). Each domain contributes its handlers from its own file. `invoke` checks the
// arguments against the contract's schema before any handler runs; `dispatch` wraps the outcome
// in an ApiReply for the transports.
import { argSchemas, type CheckedArgs, type HandlerArgs, type HandlerName, type HandlerResult, type Replies } from '../core/api/contract';
import { parseArgs } from '../core/api/args';
import type { ApiReply } from '../core/api/reply';
import { TallyError, toTallyError } from '../core/errors';
import { analyticsHandlers } from './analytics';
import { collectorsHandlers } from './collectors';
import { settingsHandlers } from './settings';
import { correctionHandlers } from './corrections';
import { creditsHandlers } from './credits';
import { zonesHandlers } from './zones';
import type { AgentContext } from './context';
import { syncHandlers } from './sync';
import { usageHandlers } from './usage';
import { tenantHandlers } from './tenants';
import { insightsHandlers } from './insights';
import { eventHandlers } from './events';

/** Some handlers as a domain implements them: checked arguments in, a reply (or its promise) out. */
export type Implementation<K extends HandlerName> = {
  [P in K]: (args: CheckedArgs<P>) => Replies[P] | Promise<Replies[P]>;
};
export type AllHandlers = Implementation<HandlerName>;

export function createHandlers(ctx: AgentContext): AllHandlers {
  return {
    ...usageHandlers(ctx),
    ...syncHandlers(ctx),
    ...analyticsHandlers(ctx),
    ...collectorsHandlers(ctx),
    ...tenantHandlers(ctx),
    ...eventHandlers(ctx),
    ...insightsHandlers(ctx),
    ...correctionHandlers(ctx),
    ...creditsHandlers(ctx),
    ...zonesHandlers(ctx),
    ...settingsHandlers(ctx),
  };
}

export function isHandlerName(name: string): name is HandlerName {
  return Object.hasOwn(argSchemas, name);
}

/** Checks the arguments, then runs the handler. Throws what the handler throws. */
export async function invoke<K extends HandlerName>(
  handlers: AllHandlers,
  name: K,
  args: HandlerArgs<K> | unknown,
): Promise<HandlerResult<K>> {
  if (!isHandlerName(name)) throw new TallyError('not_found', `no such API call: ${String(name)}`);
  const checked = parseArgs(argSchemas[name], args) as CheckedArgs<K>;
  const handler = handlers[name] as (a: CheckedArgs<K>) => Replies[K] | Promise<Replies[K]>;
  return handler(checked);
}

export type LogLine = (line: Record<string, unknown>) => void;

/** Runs one call and wraps the outcome; an unknown failure is logged with its stack and answered `internal` without internals. */
export async function dispatch<K extends HandlerName>(
  handlers: AllHandlers,
  name: K,
  args: HandlerArgs<K> | unknown,
  log: LogLine = () => undefined,
): Promise<ApiReply<HandlerResult<K>>> {
  try {
    return { ok: true, data: await invoke(handlers, name, args) };
  } catch (err) {
    const e = toTallyError(err);
    if (e.code !== 'internal') return { ok: false, error: e.toJSON() };
    log({ level: 'error', msg: 'api handler failed', call: name, error: e.message, stack: (err as Error)?.stack });
    return { ok: false, error: { code: 'internal', message: `${String(name)} failed unexpectedly; the agent's log has the details` } };
  }
}
