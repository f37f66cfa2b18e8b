// The one API contract, implemented by the service layer (src/handlers) and reached through
// every face: Electron IPC (src/preload), HTTP (/api/call and /v1 in src/server) and the CLI.
// Each domain declares its argument schemas, replies and events in its own file; this file
// combines them. Argument types derive from the schemas, so the runtime check and the types
// cannot drift apart.
import type { z } from 'zod';
import { analyticsArgs, type AnalyticsEvents, type AnalyticsReplies } from './analytics';
import { collectorsArgs, type CollectorsReplies } from './collectors';
import { correctionArgs, type CorrectionReplies } from './corrections';
import { creditsArgs, type CreditsReplies } from './credits';
import { zonesArgs, type ZonesReplies } from './zones';
import { settingsArgs, type SettingsReplies } from './settings';
import type { ApiReply } from './reply';
import { syncArgs, type SyncEvents, type SyncReplies } from './sync';
import { usageArgs, type UsageEvents, type UsageReplies } from './usage';
import { tenantArgs, type TenantReplies } from './tenants';
import { insightsArgs, type InsightsReplies } from './insights';
import { eventArgs, type EventReplies } from './events';

export const argSchemas = {
  ...usageArgs,
  ...syncArgs,
  ...analyticsArgs,
  ...collectorsArgs,
  ...tenantArgs,
  ...eventArgs,
  ...insightsArgs,
  ...correctionArgs,
  ...creditsArgs,
  ...zonesArgs,
  ...settingsArgs,
};
export type ArgSchemas = typeof argSchemas;
export type Replies = UsageReplies &
  SyncReplies &
  AnalyticsReplies &
  CollectorsReplies &
  TenantReplies &
  EventReplies &
  InsightsReplies &
  CorrectionReplies &
  CreditsReplies &
  ZonesReplies &
  SettingsReplies;

export type HandlerName = keyof ArgSchemas & keyof Replies;
/** What a caller sends (defaults may be left out). */
export type HandlerArgs<K extends HandlerName> = z.input<ArgSchemas[K]>;
/** What a handler receives: the arguments after the schema checked them and filled defaults. */
export type CheckedArgs<K extends HandlerName> = z.output<ArgSchemas[K]>;
export type HandlerResult<K extends HandlerName> = Replies[K];
export type Handlers = { [K in HandlerName]: (args: HandlerArgs<K>) => Replies[K] };

export type Events = UsageEvents & SyncEvents & AnalyticsEvents;
export type EventName = keyof Events;

/** Calls that change nothing (in a module of its own, so a CLI can read it without every domain's schemas). */
export { READ_ONLY_CALLS } from './read-only-calls';

/** What the renderer holds: one call per handler, replies as ApiReply, and event subscriptions. */
export interface TallyClient {
  call<K extends HandlerName>(name: K, args: HandlerArgs<K>): Promise<ApiReply<HandlerResult<K>>>;
  on<E extends EventName>(event: E, listener: (payload: Events[E]) => void): () => void;
}
