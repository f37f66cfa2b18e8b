// The service layer: one implementation of the contract, shared by the HTTP API and Electron IPC.
// Each domain contributes its handlers from its own file; errors are TallyErrors with a code.
import type { ApiReply } from '../core/api/reply';
import type { HandlerArgs, HandlerName, HandlerResult, Handlers } from '../core/api/contract';
import { toTallyError } from '../core/errors';
import { analyticsHandlers } from './analytics';
import { collectorsHandlers } from './collectors';
import type { AgentContext } from './context';
import { syncHandlers } from './sync';
import { usageHandlers } from './usage';

/** A domain's handlers as the agent implements them: sync or async. */
export type Implementation<H> = { [K in keyof H]: H[K] extends (args: infer A) => infer R ? (args: A) => R | Promise<R> : never };

export function createHandlers(ctx: AgentContext): Implementation<Handlers> {
  return { ...usageHandlers(ctx), ...syncHandlers(ctx), ...analyticsHandlers(ctx), ...collectorsHandlers(ctx) };
}

/** Runs one handler by name and wraps the outcome in an ApiReply; unknown errors become `internal` and are logged. */
export async function dispatch<K extends HandlerName>(
  handlers: Implementation<Handlers>,
  name: K,
  args: HandlerArgs<K>,
  log: (line: Record<string, unknown>) => void = () => undefined,
): Promise<ApiReply<HandlerResult<K>>> {
  const handler = (handlers as Record<string, ((a: unknown) => unknown) | undefined>)[name];
  if (typeof handler !== 'function' || !Object.hasOwn(handlers, name)) {
    return { ok: false, error: { code: 'not_found', message: `no such API call: ${String(name)}` } };
  }
  try {
    return { ok: true, data: (await handler(args ?? {})) as HandlerResult<K> };
  } catch (err) {
    const e = toTallyError(err);
    if (e.code === 'internal') log({ level: 'error', msg: 'api handler failed', call: name, error: e.message });
    return { ok: false, error: e.toJSON() };
  }
}
