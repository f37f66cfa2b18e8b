// One call's own domain, loaded on demand. A CLI command runs a single handler: loading every
// domain's handlers and schemas (what createHandlers needs) would cost it more than the call. This
// map names each call's domain; the compiler checks that it lists every call of the contract, each
// under the domain whose schemas declare it. `invokeOne` checks the arguments against that schema
// and runs the handler exactly as `invoke(createHandlers(ctx), …)` would.
import type { CheckedArgs, HandlerArgs, HandlerName, HandlerResult, Replies } from '../core/api/contract';
import type { analyticsArgs } from '../core/api/analytics';
import type { collectorsArgs } from '../core/api/collectors';
import type { correctionArgs } from '../core/api/corrections';
import type { creditsArgs } from '../core/api/credits';
import type { eventArgs } from '../core/api/events';
import type { insightsArgs } from '../core/api/insights';
import type { settingsArgs } from '../core/api/settings';
import type { syncArgs } from '../core/api/sync';
import type { tenantArgs } from '../core/api/tenants';
import type { usageArgs } from '../core/api/usage';
import type { zonesArgs } from '../core/api/zones';
import type { z } from 'zod';
import { parseArgs } from '../core/api/args';
import { TallyError } from '../core/errors';
import type { AgentContext } from './context';

interface DomainArgs {
  usage: typeof usageArgs;
  sync: typeof syncArgs;
  analytics: typeof analyticsArgs;
  collectors: typeof collectorsArgs;
  tenants: typeof tenantArgs;
  events: typeof eventArgs;
  insights: typeof insightsArgs;
  corrections: typeof correctionArgs;
  credits: typeof creditsArgs;
  zones: typeof zonesArgs;
  settings: typeof settingsArgs;
}
export type Domain = keyof DomainArgs;
/** The domain whose schemas declare call K. */
type DomainOf<K extends HandlerName> = { [D in Domain]: K extends keyof DomainArgs[D] ? D : never }[Domain];

export const DOMAIN_OF: { readonly [K in HandlerName]: DomainOf<K> } = {
  'records.add': 'usage',
  'services.list': 'usage',
  'services.add': 'usage',
  'prices.list': 'usage',
  'prices.set': 'usage',
  'report.usage': 'usage',
  'sync.status': 'sync',
  'sync.targets.list': 'sync',
  'sync.targets.set': 'sync',
  'sync.targets.remove': 'sync',
  'sync.rejected.list': 'sync',
  'sync.retryRejected': 'sync',
  'sync.now': 'sync',
  'analytics.aggregate': 'analytics',
  'analytics.stats': 'analytics',
  'analytics.trends': 'analytics',
  'analytics.peaks': 'analytics',
  'analytics.projection': 'analytics',
  'analytics.breakdown': 'analytics',
  'quotas.list': 'analytics',
  'quotas.set': 'analytics',
  'quotas.remove': 'analytics',
  'quotas.applyPlan': 'analytics',
  'alerts.list': 'analytics',
  'alerts.check': 'analytics',
  'alerts.current': 'analytics',
  'statement.month': 'analytics',
  'export.file': 'analytics',
  'archive.run': 'analytics',
  'archive.restore': 'analytics',
  'maintenance.run': 'analytics',
  'collectors.get': 'collectors',
  'collectors.set': 'collectors',
  'customers.list': 'tenants',
  'customers.get': 'tenants',
  'customers.add': 'tenants',
  'customers.update': 'tenants',
  'keys.create': 'tenants',
  'keys.list': 'tenants',
  'keys.revoke': 'tenants',
  'events.list': 'events',
  'events.get': 'events',
  'events.tail': 'events',
  'analytics.topUsers': 'insights',
  'analytics.errors': 'insights',
  'analytics.latency': 'insights',
  'events.void': 'corrections',
  'events.amend': 'corrections',
  'corrections.list': 'corrections',
  'sync.corrections.list': 'corrections',
  'sync.corrections.done': 'corrections',
  'statement.close': 'corrections',
  'credits.grant': 'credits',
  'credits.list': 'credits',
  'credits.balance': 'credits',
  'credits.void': 'credits',
  'credits.check': 'credits',
  'zones.get': 'zones',
  'zones.set': 'zones',
  'report.zoned': 'zones',
  'settings.get': 'settings',
  'schedule.set': 'settings',
  'schedule.run': 'settings',
};

type AnyHandler = (args: unknown) => unknown;
interface Loaded {
  readonly args: Readonly<Record<string, z.ZodType>>;
  readonly handlers: (ctx: AgentContext) => Readonly<Record<string, AnyHandler>>;
}
const h = <T>(f: (ctx: AgentContext) => T) => f as unknown as Loaded['handlers'];

/** Each domain's schemas and handlers, as separate modules loaded only when one of its calls runs. */
const LOADERS: { readonly [D in Domain]: () => Promise<Loaded> } = {
  usage: async () => ({ args: (await import('../core/api/usage')).usageArgs, handlers: h((await import('./usage')).usageHandlers) }),
  sync: async () => ({ args: (await import('../core/api/sync')).syncArgs, handlers: h((await import('./sync')).syncHandlers) }),
  analytics: async () => ({
    args: (await import('../core/api/analytics')).analyticsArgs,
    handlers: h((await import('./analytics')).analyticsHandlers),
  }),
  collectors: async () => ({
    args: (await import('../core/api/collectors')).collectorsArgs,
    handlers: h((await import('./collectors')).collectorsHandlers),
  }),
  tenants: async () => ({
    args: (await import('../core/api/tenants')).tenantArgs,
    handlers: h((await import('./tenants')).tenantHandlers),
  }),
  events: async () => ({ args: (await import('../core/api/events')).eventArgs, handlers: h((await import('./events')).eventHandlers) }),
  insights: async () => ({
    args: (await import('../core/api/insights')).insightsArgs,
    handlers: h((await import('./insights')).insightsHandlers),
  }),
  corrections: async () => ({
    args: (await import('../core/api/corrections')).correctionArgs,
    handlers: h((await import('./corrections')).correctionHandlers),
  }),
  credits: async () => ({
    args: (await import('../core/api/credits')).creditsArgs,
    handlers: h((await import('./credits')).creditsHandlers),
  }),
  zones: async () => ({ args: (await import('../core/api/zones')).zonesArgs, handlers: h((await import('./zones')).zonesHandlers) }),
  settings: async () => ({
    args: (await import('../core/api/settings')).settingsArgs,
    handlers: h((await import('./settings')).settingsHandlers),
  }),
};

/** Checks the arguments against the call's schema, then runs its handler, loading only its domain. Throws what the handler throws. */
export async function invokeOne<K extends HandlerName>(
  ctx: AgentContext,
  name: K,
  args: HandlerArgs<K> | unknown,
): Promise<HandlerResult<K>> {
  if (!Object.hasOwn(DOMAIN_OF, name)) throw new TallyError('not_found', `no such API call: ${String(name)}`);
  const domain = await LOADERS[DOMAIN_OF[name]]();
  const checked = parseArgs(domain.args[name]!, args) as CheckedArgs<K>;
  const handler = domain.handlers(ctx)[name] as (a: CheckedArgs<K>) => Replies[K] | Promise<Replies[K]>;
  return handler(checked);
}
