// API contract: aggregation, stats, trends, peaks, projection, breakdown, quotas and alerts,
// the month statement, exports, archive and maintenance. Arguments and results are plain JSON.
// Periods follow PeriodArgs (usage.ts): YYYY-MM, YYYY-MM-DD or ISO 8601 (UTC), from 1970 on; a
// date `to` is inclusive, a time `to` exclusive. `customerId` absent means every customer, unless
// noted. Calls that answer a row per hour, day, week or month cover at most MAX_RANGE_DAYS (3660)
// days, hourly ones MAX_HOURLY_RANGE_DAYS (366): a longer period is invalid_input naming `to`.
// Quantities in results are in the service's display unit (GB = GiB); money is exact decimal text.
import type { AggregateResult, BreakdownResult } from '../../analytics/aggregate';
import type { Projection } from '../../analytics/projection';
import type { BillingStatement } from '../../analytics/closing-types';
import type { UsageStats } from '../../analytics/stats';
import type { PeaksResult, TrendsResult } from '../../analytics/trends';
import type { ExportFormat, ExportSummary } from '../exports/shape';
import type { Alert, CheckResult, QuotaStatus } from '../../quotas/alerts';
import type { Quota } from '../../quotas/quotas';
import { z } from 'zod';
import { customerField, monthText, periodFields, windowFields } from './args';

export interface ExportFileResult {
  readonly file: string;
  readonly format: ExportFormat;
  readonly records: number;
  readonly bytes: number;
  readonly summary: ExportSummary;
}

export interface ArchiveRunResult {
  readonly file: string | null;
  readonly archived: number;
  readonly sha256: string | null;
  readonly cutoff: string;
  readonly skippedUnsynced: number;
  readonly keptNewest: boolean;
  readonly bytes: number;
}

export interface MaintenanceRunResult {
  readonly vacuumed: boolean;
  readonly reason: string;
  readonly bytesBefore: number;
  readonly bytesAfter: number;
}

const granularity = z.enum(['hourly', 'daily', 'weekly', 'monthly']);
const quotaPeriod = z.enum(['day', 'month']);
const service = z.string().min(1);

export const analyticsArgs = {
  /** Rollup rows per bucket × service: service, period, event_count, total_quantity, total_cost, avg_quantity. Default: this month; at most 3660 days (hourly: 366). */
  'analytics.aggregate': z.strictObject({ ...periodFields, ...customerField, granularity, service: service.optional() }),
  /** Count, total, average, min, max, p95/p99 (nearest rank, exact over raw records) of one service; default last 30 days. */
  'analytics.stats': z.strictObject({ ...windowFields, ...customerField, service }),
  /** Daily totals with the previous day and % change; all services when `service` is absent; default last 14 days, at most 3660. */
  'analytics.trends': z.strictObject({ ...windowFields, ...customerField, service: service.optional() }),
  /** Top `top` (default 10) hours or days by usage; default last 30 days, at most 3660. */
  'analytics.peaks': z.strictObject({
    ...windowFields,
    ...customerField,
    service,
    by: z.enum(['hour', 'day']).optional(),
    top: z.number().int().min(1).max(1000).optional(),
  }),
  /** Period-end projection per customer × service, next to its quota (default period: month). */
  'analytics.projection': z.strictObject({ ...customerField, period: quotaPeriod.optional(), service: service.optional() }),
  /** Usage of one service by metadata keys (default per service: api endpoint+method, …); default this month. */
  'analytics.breakdown': z.strictObject({
    ...periodFields,
    ...customerField,
    service,
    keys: z.array(z.string().min(1)).max(8).optional(),
    perDay: z.boolean().optional(),
  }),

  'quotas.list': z.strictObject({ ...customerField, service: service.optional() }),
  /**
   * `limit` in display units (requests, GB, GB-hours, CPU-hours…): > 0, at most 1e15, and at least
   * one stored unit of the service (checked with the service, src/quotas/quotas.ts). customerId
   * defaults to the configured customer.
   */
  'quotas.set': z.strictObject({ ...customerField, service, limit: z.number(), period: quotaPeriod }),
  /** Without `period` both day and month quotas of the service go. */
  'quotas.remove': z.strictObject({ ...customerField, service, period: quotaPeriod.optional() }),
  /** Replaces the customer's monthly quotas with a plan's; enterprise removes them. */
  'quotas.applyPlan': z.strictObject({ ...customerField, plan: z.enum(['free', 'starter', 'pro', 'enterprise']) }),

  /** History, newest first; default last 30 days. */
  'alerts.list': z.strictObject({ ...customerField, days: z.number().positive().max(3660).optional(), service: service.optional() }),
  /** Runs the check now with the configured thresholds; new alerts are also emitted as 'alerts.new'. */
  'alerts.check': z.strictObject({ ...customerField, service: service.optional() }),
  /** Every quota's usage, percent, level and projection in its current period (nothing is logged). */
  'alerts.current': z.strictObject({ ...customerField }),

  /** The month's billable lines (tiers, minimum charges, quota overage) and an exact total. */
  'statement.month': z.strictObject({ ...customerField, month: monthText }),
  /** Writes a CSV, JSON or XLSX export of raw records to `path` (streaming). Default period: this month. */
  'export.file': z.strictObject({
    ...periodFields,
    ...customerField,
    format: z.enum(['csv', 'json', 'xlsx']),
    /** Absolute path chosen by the user (desktop save dialog, or the dashboard's download folder). */
    path: z.string().min(1),
    service: service.optional(),
    /** Replace an existing file. Without it an existing file is a `conflict` error. */
    overwrite: z.boolean().optional(),
    /** Also write voided events, with a voided_at column (totals count live events only). */
    includeVoided: z.boolean().optional(),
  }),
  /** Archives records older than `olderThanDays` (default 90) to `path` (default beside the database) and deletes them. */
  'archive.run': z.strictObject({
    olderThanDays: z.number().positive().max(36600).optional(),
    path: z.string().min(1).optional(),
    includeUnsynced: z.boolean().optional(),
    overwrite: z.boolean().optional(),
  }),
  /** Restores an archive file; idempotent. */
  'archive.restore': z.strictObject({ path: z.string().min(1) }),
  /** Checkpoint + optimize, and VACUUM when at least 20 % and 8 MiB of the file are free. */
  'maintenance.run': z.strictObject({ vacuum: z.enum(['auto', 'always', 'never']).optional() }),
};

export type WindowArgs = z.input<z.ZodObject<typeof windowFields>>;
export type ExportArgs = z.input<(typeof analyticsArgs)['export.file']>;

export interface AnalyticsReplies {
  'analytics.aggregate': AggregateResult;
  'analytics.stats': UsageStats;
  'analytics.trends': TrendsResult;
  'analytics.peaks': PeaksResult;
  'analytics.projection': Projection;
  'analytics.breakdown': BreakdownResult;
  'quotas.list': Quota[];
  'quotas.set': Quota[];
  'quotas.remove': { removed: number; quotas: Quota[] };
  'quotas.applyPlan': Quota[];
  'alerts.list': Alert[];
  'alerts.check': CheckResult;
  'alerts.current': QuotaStatus[];
  'statement.month': BillingStatement;
  'export.file': ExportFileResult;
  'archive.run': ArchiveRunResult;
  'archive.restore': { file: string; records: number; restored: number; alreadyPresent: number };
  'maintenance.run': MaintenanceRunResult;
}

export interface AnalyticsEvents {
  /** A quota alert was logged (after a flush or a check): the UI shows a notification. */
  'alerts.new': Alert;
}
