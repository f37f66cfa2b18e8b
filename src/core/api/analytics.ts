// API contract: aggregation, stats, trends, peaks, projection, breakdown, quotas and alerts,
// the month statement, exports, archive and maintenance. Arguments and results are plain JSON.
// Periods follow PeriodArgs (usage.ts): YYYY-MM, YYYY-MM-DD or ISO 8601 (UTC); a date `to` is
// inclusive, a time `to` exclusive. `customerId` absent means every customer, unless noted.
// Quantities in results are in the service's display unit (GB = GiB); money is exact decimal text.
import type { AggregateResult, BreakdownResult, Granularity } from '../../analytics/aggregate';
import type { Projection } from '../../analytics/projection';
import type { Statement } from '../../analytics/statement';
import type { UsageStats } from '../../analytics/stats';
import type { PeaksResult, TrendsResult } from '../../analytics/trends';
import type { ExportFormat, ExportSummary } from '../exports/shape';
import type { Alert, CheckResult, QuotaStatus } from '../../quotas/alerts';
import type { PlanName, Quota, QuotaPeriod } from '../../quotas/quotas';
import type { PeriodArgs } from './usage';

/** A window ending now: the last `days` days (default per call), or an explicit period. */
export interface WindowArgs extends PeriodArgs {
  readonly days?: number;
}

export interface ExportArgs extends PeriodArgs {
  readonly format: ExportFormat;
  /** Absolute path chosen by the user (desktop save dialog, or the dashboard's download folder). */
  readonly path: string;
  readonly service?: string;
  readonly customerId?: string;
  /** Replace an existing file. Without it an existing file is a `conflict` error. */
  readonly overwrite?: boolean;
}

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

export interface AnalyticsHandlers {
  /** Rollup rows per bucket × service: service, period, event_count, total_quantity, total_cost, avg_quantity. Default: this month. */
  'analytics.aggregate': (args: PeriodArgs & { granularity: Granularity; service?: string; customerId?: string }) => AggregateResult;
  /** Count, total, average, min, max, p95/p99 (nearest rank, exact over raw records) of one service; default last 30 days. `note` says when archived data is outside the percentiles. */
  'analytics.stats': (args: WindowArgs & { service: string; customerId?: string }) => UsageStats;
  /** Daily totals with the previous day and % change; all services when `service` is absent; default last 14 days. */
  'analytics.trends': (args: WindowArgs & { service?: string; customerId?: string }) => TrendsResult;
  /** Top `top` (default 10) hours or days by usage; default last 30 days. */
  'analytics.peaks': (args: WindowArgs & { service: string; by?: 'hour' | 'day'; top?: number; customerId?: string }) => PeaksResult;
  /** Period-end projection per customer × service, next to its quota (default period: month). */
  'analytics.projection': (args: { period?: QuotaPeriod; service?: string; customerId?: string }) => Projection;
  /** Usage of one service by metadata keys (default per service: api endpoint+method, bandwidth interface+direction, …); default this month. */
  'analytics.breakdown': (
    args: PeriodArgs & { service: string; keys?: string[]; perDay?: boolean; customerId?: string },
  ) => BreakdownResult;

  'quotas.list': (args: { customerId?: string; service?: string }) => Quota[];
  /** `limit` in display units (requests, GB, GB-hours, CPU-hours…); customerId defaults to the configured customer. Returns that customer's quotas. */
  'quotas.set': (args: { service: string; limit: number; period: QuotaPeriod; customerId?: string }) => Quota[];
  /** Without `period` both day and month quotas of the service go. */
  'quotas.remove': (args: { service: string; period?: QuotaPeriod; customerId?: string }) => { removed: number; quotas: Quota[] };
  /** Replaces the customer's monthly quotas with a plan's; enterprise removes them. */
  'quotas.applyPlan': (args: { plan: PlanName; customerId?: string }) => Quota[];

  /** History, newest first; default last 30 days. */
  'alerts.list': (args: { days?: number; customerId?: string; service?: string }) => Alert[];
  /** Runs the check now with the configured thresholds; new alerts are also emitted as 'alerts.new'. */
  'alerts.check': (args: { customerId?: string }) => CheckResult;
  /** Every quota's usage, percent, level and projection in its current period (nothing is logged). */
  'alerts.current': (args: { customerId?: string }) => QuotaStatus[];

  /** The month's billable lines (tiers, minimum charges, quota overage) and an exact total. */
  'statement.month': (args: { month: string; customerId?: string }) => Statement;
  /** Writes a CSV, JSON or XLSX export of raw records to `path` (streaming). Default period: this month. */
  'export.file': (args: ExportArgs) => ExportFileResult;
  /** Archives records older than `olderThanDays` (default 90) to `path` (default beside the database) and deletes them. */
  'archive.run': (args: { olderThanDays?: number; path?: string; includeUnsynced?: boolean; overwrite?: boolean }) => ArchiveRunResult;
  /** Restores an archive file; idempotent. */
  'archive.restore': (args: { path: string }) => { file: string; records: number; restored: number; alreadyPresent: number };
  /** Checkpoint + optimize, and VACUUM when at least 20 % and 8 MiB of the file are free. */
  'maintenance.run': (args: { vacuum?: 'auto' | 'always' | 'never' }) => MaintenanceRunResult;
}

export interface AnalyticsEvents {
  /** A quota alert was logged (after a flush or a check): the UI shows a notification. */
  'alerts.new': Alert;
}
