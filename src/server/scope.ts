// What a read key may call through the typed contract (/api/call, the customer-scoped dashboard):
// reads only, each narrowed to the key's own customer. A call that names another customer is 403.
import type { HandlerName } from '../core/api/contract';
import { TallyError } from '../core/errors';

/** How each allowed call names its customer: the argument to force, or 'none' (not per customer). */
const READ_KEY_CALLS: Partial<Record<HandlerName, 'customerId' | 'customer' | 'id' | 'none'>> = {
  'report.usage': 'customerId',
  'analytics.aggregate': 'customerId',
  'analytics.stats': 'customerId',
  'analytics.trends': 'customerId',
  'analytics.peaks': 'customerId',
  'analytics.projection': 'customerId',
  'analytics.breakdown': 'customerId',
  'analytics.topUsers': 'customerId',
  'analytics.errors': 'customerId',
  'analytics.latency': 'customerId',
  'quotas.list': 'customerId',
  'alerts.list': 'customerId',
  'alerts.current': 'customerId',
  'statement.month': 'customerId',
  'credits.list': 'customerId',
  'credits.balance': 'customerId',
  'report.zoned': 'customerId',
  'zones.get': 'customerId',
  'events.list': 'customer',
  'events.tail': 'customer',
  'customers.get': 'id',
  'services.list': 'none',
  'prices.list': 'none',
};

/** The arguments a read key's call runs with, or a 403 naming what it may not do. */
export function argsForReadKey(name: string, args: Record<string, unknown>, customer: string): Record<string, unknown> {
  const how = READ_KEY_CALLS[name as HandlerName];
  if (how === undefined) {
    throw new TallyError('forbidden', `authorization: a read key may not call ${name.slice(0, 64)} (reads of its own customer only)`, {
      field: 'authorization',
    });
  }
  if (how === 'none') return args;
  const given = args[how];
  if (given !== undefined && given !== customer) {
    throw new TallyError('forbidden', `${how}: this key reads only customer "${customer}"`, { field: how });
  }
  return { ...args, [how]: customer };
}
