// The contract's read-only calls, apart from the schemas: a CLI decides with it how to run a
// call before it loads the call's domain.
import type { HandlerName } from './contract';

/** Calls that change nothing: a CLI runs them on a read-only connection, a read key may make them. */
export const READ_ONLY_CALLS: ReadonlySet<HandlerName> = new Set<HandlerName>([
  'services.list',
  'prices.list',
  'report.usage',
  'sync.status',
  'sync.targets.list',
  'sync.rejected.list',
  'analytics.aggregate',
  'analytics.stats',
  'analytics.trends',
  'analytics.peaks',
  'analytics.projection',
  'analytics.breakdown',
  'quotas.list',
  'alerts.list',
  'alerts.current',
  'statement.month',
  'credits.list',
  'credits.balance',
  'zones.get',
  'report.zoned',
  'collectors.get',
  'settings.get',
  'customers.list',
  'customers.get',
  'events.list',
  'events.get',
  'corrections.list',
  'sync.corrections.list',
  'events.tail',
  'analytics.topUsers',
  'analytics.errors',
  'analytics.latency',
]);
