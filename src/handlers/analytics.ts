// Service layer for analytics, quotas and alerts, the statement, exports, archive and maintenance.
import path from 'node:path';
import type { analyticsArgs, WindowArgs } from '../core/api/analytics';
import { aggregate } from '../analytics/aggregate';
import { projection } from '../analytics/projection';
import { billingStatement } from '../analytics/closing';
import { billingClock } from './corrections';
import { peaks, trends } from '../analytics/trends';
import { daysToMs } from '../analytics/common';
import { invalid, TallyError } from '../core/errors';
import { checkAlerts, listAlerts } from '../quotas/alerts';
import { applyPlan, listQuotas, removeQuota, setQuota } from '../quotas/quotas';
import { listServices } from '../storage/repos/services';
import { dayStart } from '../core/time';
import { archiveRecords, restoreArchive } from '../archive/archive';
import { runMaintenance } from '../archive/maintenance';
import { parseRange } from '../core/period';
import { exportRecords } from '../exports/export';
import { heavyReads, readDb, type AgentContext } from './context';
import type { Implementation } from './handlers';

/** A window: an explicit period (from/to/month) wins; else the last `days` days up to now. */
export function windowRange(args: WindowArgs, now: number, defaultDays: number): { from: number; to: number } {
  if (args.from !== undefined || args.to !== undefined || args.month !== undefined) return parseRange(args, now);
  const days = args.days ?? defaultDays;
  if (typeof days !== 'number') throw invalid('days', 'must be a number');
  return { from: now - daysToMs(days), to: now };
}

/** Trends count whole days: the last `days` days including today. */
export function trendRange(args: WindowArgs, now: number, defaultDays: number): { from: number; to: number } {
  if (args.from !== undefined || args.to !== undefined || args.month !== undefined) return parseRange(args, now);
  const r = windowRange(args, now, defaultDays);
  return { from: dayStart(r.from) + 86_400_000, to: dayStart(now) + 86_400_000 };
}

function requirePath(value: unknown, field = 'path'): string {
  if (typeof value !== 'string' || value.trim() === '') throw invalid(field, 'must be a file path');
  if (!path.isAbsolute(value)) throw invalid(field, 'must be an absolute path');
  return value;
}

export function analyticsHandlers(ctx: AgentContext): Implementation<keyof typeof analyticsArgs> {
  const db = ctx.tdb.db; // changes (quotas, the alert log)
  const read = readDb(ctx); // reports: the read-only connection
  const thresholds = () => ctx.config.alerts;
  return {
    'analytics.aggregate': ({ granularity, service, customerId, ...period }) =>
      aggregate(read, { granularity, service, customerId, ...parseRange(period, ctx.now()) }),
    'analytics.stats': ({ service, customerId, ...w }) => heavyReads(ctx).stats({ service, customerId, ...windowRange(w, ctx.now(), 30) }),
    'analytics.trends': ({ service, customerId, ...w }) => {
      return trends(read, { service, customerId, now: ctx.now(), ...trendRange(w, ctx.now(), 14) });
    },
    'analytics.peaks': ({ service, by, top, customerId, ...w }) =>
      peaks(read, { service, by: by ?? 'hour', top: top ?? 10, customerId, ...windowRange(w, ctx.now(), 30) }),
    'analytics.projection': ({ period, service, customerId }) =>
      projection(read, { now: ctx.now(), period, service, customerId, timezone: ctx.config.timezone }),
    'analytics.breakdown': ({ service, keys, perDay, customerId, ...period }) =>
      heavyReads(ctx).breakdown({ service, keys, perDay, customerId, ...parseRange(period, ctx.now()) }),

    'quotas.list': ({ customerId, service }) => listQuotas(read, { customerId, service }),
    'quotas.set': async ({ service, limit, period, customerId }) => {
      const customer = customerId ?? ctx.config.customerId;
      await setQuota(db, { service, limit, period, customerId: customer }, ctx.now());
      return listQuotas(db, { customerId: customer });
    },
    'quotas.remove': async ({ service, period, customerId }) => {
      const customer = customerId ?? ctx.config.customerId;
      const removed = await removeQuota(db, { service, period, customerId: customer });
      return { removed, quotas: await listQuotas(db, { customerId: customer }) };
    },
    'quotas.applyPlan': ({ plan, customerId }) => applyPlan(db, plan, customerId ?? ctx.config.customerId, ctx.now()),

    'alerts.list': ({ days, customerId, service }) => listAlerts(read, { since: ctx.now() - daysToMs(days ?? 30), customerId, service }),
    'alerts.check': async ({ customerId, service }) => {
      if (service !== undefined && !(await listServices(db)).some((s) => s.name === service))
        throw invalid('service', `unknown service "${service}" (tally services lists them)`);
      const result = await checkAlerts(db, {
        now: ctx.now(),
        thresholds: thresholds(),
        timezone: ctx.config.timezone,
        customerId,
        service,
      });
      for (const a of result.alerts) ctx.events.emit('alerts.new', a);
      return result;
    },
    'alerts.current': async ({ customerId }) =>
      (
        await checkAlerts(db, {
          now: ctx.now(),
          thresholds: thresholds(),
          timezone: ctx.config.timezone,
          customerId,
          forecast: false,
          dryRun: true,
        })
      ).status,

    // A closed month is printed from its frozen text; an open one carries adjustments for closed months.
    'statement.month': ({ month, customerId }) => billingStatement(db, { month, customerId }, billingClock(ctx)),
    'export.file': async ({ format, path: file, service, customerId, overwrite, includeVoided, ...period }) => {
      await ctx.writer.flush();
      return exportRecords({
        dbPath: ctx.tdb.path,
        format,
        out: requirePath(file),
        force: overwrite ?? false,
        includeVoided,
        service,
        customerId,
        currency: ctx.config.currency,
        now: ctx.now(),
        ...parseRange(period, ctx.now()),
      }).catch((err: unknown) => {
        throw asPathField(err);
      });
    },
    'archive.run': async ({ olderThanDays, path: file, includeUnsynced, overwrite }) => {
      await ctx.writer.flush();
      const now = ctx.now();
      return archiveRecords({
        dbPath: ctx.tdb.path,
        cutoff: now - daysToMs(olderThanDays ?? 90, 'olderThanDays'),
        out: file === undefined ? undefined : requirePath(file),
        includeUnsynced: includeUnsynced ?? false,
        force: overwrite ?? false,
        now,
      });
    },
    'archive.restore': async ({ path: file }) => {
      await ctx.writer.flush();
      return restoreArchive({ dbPath: ctx.tdb.path, file: requirePath(file), now: ctx.now() });
    },
    'maintenance.run': async ({ vacuum }) => {
      if (vacuum !== undefined && !['auto', 'always', 'never'].includes(vacuum)) throw invalid('vacuum', 'must be auto, always or never');
      await ctx.writer.flush();
      const r = runMaintenance(ctx.tdb.sqlite, { vacuum });
      return { vacuumed: r.vacuumed, reason: r.reason, bytesBefore: r.bytesBefore, bytesAfter: r.bytesAfter };
    },
  };
}

/**
 * The export's file checks speak the CLI (--out, --force); through the API and the dashboard the
 * fields are `path` and `overwrite`, and the error is shown at the path field.
 */
function asPathField(err: unknown): unknown {
  if (!(err instanceof TallyError) || err.field !== 'out') return err;
  const problem = (err.problem ?? err.message.replace(/^out: /, '')).replace('pass --force to overwrite it', 'set overwrite to replace it');
  return new TallyError(err.code, `path: ${problem}`, { field: 'path', problem, cause: err });
}
