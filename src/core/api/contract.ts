// The one typed API contract, implemented by the agent's service layer (src/handlers) and
// reached through two transports: Electron IPC (src/preload) and HTTP (src/server).
// Each domain declares its handlers and events in its own file; this file only combines them.
import type { AnalyticsEvents, AnalyticsHandlers } from './analytics';
import type { CollectorsHandlers } from './collectors';
import type { SyncEvents, SyncHandlers } from './sync';
import type { UsageEvents, UsageHandlers } from './usage';

export type Handlers = UsageHandlers & SyncHandlers & AnalyticsHandlers & CollectorsHandlers;
export type Events = UsageEvents & SyncEvents & AnalyticsEvents;

export type HandlerName = keyof Handlers;
export type HandlerArgs<K extends HandlerName> = Parameters<Handlers[K]>[0];
export type HandlerResult<K extends HandlerName> = ReturnType<Handlers[K]>;
export type EventName = keyof Events;

/** What the renderer holds: one call per handler, replies as ApiReply, and event subscriptions. */
export interface TallyClient {
  call<K extends HandlerName>(name: K, args: HandlerArgs<K>): Promise<import('./reply').ApiReply<HandlerResult<K>>>;
  on<E extends EventName>(event: E, listener: (payload: Events[E]) => void): () => void;
}
