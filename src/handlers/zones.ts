// Service layer for time zones: a customer's zone and usage per local day, week or month.
import type { Kysely } from 'kysely';
import type { ZoneInfo } from '../core/api/zones';
import type { Database } from '../storage/schema';
import { invalid } from '../core/errors';
import { parseDateArg } from '../core/period';
import { checkTimeZone, startOfLocalDate, zonedMonth, zonedNext, zonedStart } from '../core/zone';
import { zonedReport } from '../analytics/zoned';
import { customerZone, setCustomerZone } from '../storage/repos/zones';
import type { AgentContext } from './context';
import type { Implementation } from './handlers';

/** The zone that applies: an explicit one, else the customer's, else the installation's. */
export async function resolveZone(db: Kysely<Database>, installation: string, customerId?: string, explicit?: string): Promise<ZoneInfo> {
  if (explicit !== undefined) return { customerId: customerId ?? null, timezone: checkTimeZone(explicit), source: 'argument' };
  const own = customerId === undefined ? null : await customerZone(db, customerId);
  if (own !== null) return { customerId: customerId!, timezone: own, source: 'customer' };
  return { customerId: customerId ?? null, timezone: checkTimeZone(installation, 'config.timezone'), source: 'installation' };
}

/** A local date (YYYY-MM-DD) or month (YYYY-MM) starts at the zone's midnight; a full ISO time is an instant. */
export function zonedInstant(zone: string, field: string, text: string, end: boolean): number {
  const d = /^(\d{4})-(\d{2})(?:-(\d{2}))?$/.exec(text.trim());
  if (!d) return parseDateArg(field, text, end);
  parseDateArg(field, text, end); // the same strict check of impossible dates
  if (d[3] === undefined) {
    const m = zonedMonth(zone, text.trim(), field);
    return end ? m.to : m.from;
  }
  const start = startOfLocalDate(zone, Number(d[1]), Number(d[2]), Number(d[3]));
  return end ? zonedNext(zone, 'day', start) : start;
}

export function zonedRange(zone: string, a: { from?: string; to?: string; month?: string }, now: number): { from: number; to: number } {
  if (a.month !== undefined) {
    if (a.from !== undefined || a.to !== undefined) throw invalid('month', 'give either month or from/to');
    return zonedMonth(zone, a.month);
  }
  const from = a.from === undefined ? zonedStart(zone, 'month', now) : zonedInstant(zone, 'from', a.from, false);
  const to = a.to === undefined ? zonedNext(zone, 'month', zonedStart(zone, 'month', now)) : zonedInstant(zone, 'to', a.to, true);
  if (to <= from) throw invalid('to', 'must be after from');
  return { from, to };
}

const PERIOD = { daily: 'day', weekly: 'week', monthly: 'month' } as const;

export function zonesHandlers(ctx: AgentContext): Implementation<'zones.get' | 'zones.set' | 'report.zoned'> {
  const installation = () => ctx.config.timezone ?? 'UTC';
  return {
    'zones.get': ({ customerId }) => resolveZone(ctx.tdb.db, installation(), customerId),
    'zones.set': async ({ customerId, timezone }) => {
      await setCustomerZone(ctx.tdb.db, customerId, timezone, ctx.now());
      return resolveZone(ctx.tdb.db, installation(), customerId);
    },
    'report.zoned': async ({ granularity, customerId, service, timezone, ...period }) => {
      const zone = await resolveZone(ctx.tdb.db, installation(), customerId, timezone);
      const { from, to } = zonedRange(zone.timezone, period, ctx.now());
      const rows = await zonedReport(ctx.tdb.db, { zone: zone.timezone, period: PERIOD[granularity], from, to, customerId, service });
      return { ...zone, granularity, from: new Date(from).toISOString(), to: new Date(to).toISOString(), rows };
    },
  };
}
