// Service layer for the second seed's analytics: top users, errors, latency.
import { errorRates, latency, topUsers } from '../analytics/insights';
import type { insightsArgs } from '../core/api/insights';
import { parseRange } from '../core/period';
import type { AgentContext } from './context';
import type { Implementation } from './handlers';

export function insightsHandlers(ctx: AgentContext): Implementation<keyof typeof insightsArgs> {
  const range = (p: { from?: string | undefined; to?: string | undefined; month?: string | undefined }) => parseRange(p, ctx.now());
  return {
    'analytics.topUsers': ({ from, to, month, ...q }) => topUsers(ctx.tdb.db, { ...range({ from, to, month }), ...q }),
    'analytics.errors': ({ from, to, month, ...q }) => errorRates(ctx.tdb.db, { ...range({ from, to, month }), ...q }),
    'analytics.latency': ({ from, to, month, ...q }) => latency(ctx.tdb.db, { ...range({ from, to, month }), ...q }),
  };
}
