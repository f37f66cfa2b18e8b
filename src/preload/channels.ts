// The IPC surface between the preload and the main process: channel names and the runtime list
// of API calls and events the window may use. Both sides validate against these lists.
import type { EventName, HandlerName } from '../core/api/contract';

export const CALL_CHANNEL = 'tally:call';
export const EVENT_CHANNEL = 'tally:event';
export const SAVE_EXPORT_CHANNEL = 'tally:save-export';

export const HANDLER_NAMES = [
  'records.add',
  'services.list',
  'services.add',
  'prices.list',
  'prices.set',
  'report.usage',
  'sync.status',
  'sync.targets.list',
  'sync.targets.set',
  'sync.targets.remove',
  'sync.rejected.list',
  'sync.retryRejected',
  'sync.now',
  'analytics.aggregate',
  'analytics.stats',
  'analytics.trends',
  'analytics.peaks',
  'analytics.projection',
  'analytics.breakdown',
  'quotas.list',
  'quotas.set',
  'quotas.remove',
  'quotas.applyPlan',
  'alerts.list',
  'alerts.check',
  'alerts.current',
  'statement.month',
  'export.file',
  'archive.run',
  'archive.restore',
  'maintenance.run',
  'collectors.get',
  'collectors.set',
  'settings.get',
  'schedule.set',
  'schedule.run',
  'events.void',
  'events.amend',
  'corrections.list',
  'statement.close',
  'sync.corrections.list',
  'sync.corrections.done',
  'customers.list',
  'customers.get',
  'customers.add',
  'customers.update',
  'keys.create',
  'keys.list',
  'keys.revoke',
  'events.list',
  'events.get',
  'events.tail',
  'analytics.topUsers',
  'analytics.errors',
  'analytics.latency',
  'credits.grant',
  'credits.list',
  'credits.balance',
  'credits.void',
  'credits.check',
  'zones.get',
  'zones.set',
  'report.zoned',
] as const satisfies readonly HandlerName[];

export const EVENT_NAMES = ['records.flushed', 'sync.status', 'alerts.new'] as const satisfies readonly EventName[];

// Compile-time check that the lists name every call and event of the contract: a new handler
// that is not listed here fails the typecheck instead of being silently unreachable.
type Missing<All, Listed> = [Exclude<All, Listed>] extends [never] ? true : Exclude<All, Listed>;
export const allHandlersListed: Missing<HandlerName, (typeof HANDLER_NAMES)[number]> = true;
export const allEventsListed: Missing<EventName, (typeof EVENT_NAMES)[number]> = true;

const handlerSet: ReadonlySet<string> = new Set(HANDLER_NAMES);
const eventSet: ReadonlySet<string> = new Set(EVENT_NAMES);

export function isHandlerName(name: unknown): name is HandlerName {
  return typeof name === 'string' && handlerSet.has(name);
}

export function isEventName(name: unknown): name is EventName {
  return typeof name === 'string' && eventSet.has(name);
}
