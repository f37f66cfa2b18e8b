// Quota alerts from the rollups (cheap enough to run after every flush). Each level is logged
// at most once per quota per period (UNIQUE in alert_log + INSERT … ON CONFLICT DO NOTHING),
// and a level is not logged once a higher one was: a jump from 50 % to 120 % logs one
// "exceeded", not three alerts at once. A new period has no rows yet, so it starts clean.
import type { Kysely } from 'kysely';
import type { AlertRow, Database, ReadDb } from '../storage/schema';
import { invalid } from '../core/errors';
import { formatPercent } from '../core/money';
import { listServices } from '../storage/repos/services';
import { toDisplay, type ServiceDefinition } from '../core/services';
import { bucketEnd, bucketStart, MS, toIso } from '../core/time';
import { roundDisplay } from '../analytics/common';
import { decimalsOf, joinLimbs, unitsToNumber } from '../core/quantity';
import { aggregateOver } from '../analytics/aggregated';
import { zonedSums } from '../analytics/zoned';
import { customerZone } from '../storage/repos/zones';
import { zonedNext, zonedStart } from '../core/zone';
import type { QuotaPeriod } from './quotas';
import { alertsToLog, levelFor, projectToEnd, type AlertLevel, type Thresholds } from '../core/alerting';

export type { AlertLevel, Thresholds };

export const DEFAULT_THRESHOLDS: Thresholds = { warning: 75, critical: 90, exceeded: 100 };

export interface Alert {
  readonly id: number;
  readonly customerId: string;
  readonly service: string;
  readonly period: QuotaPeriod;
  readonly periodStart: string;
  readonly level: AlertLevel;
  readonly percent: number;
  /** Display units. */
  readonly usage: number;
  readonly limit: number;
  readonly unit: string;
  /** The seed's line: "WARNING: api usage at 78% - 78000/100000". */
  readonly message: string;
  readonly createdAt: string;
}

export interface QuotaStatus {
  readonly customerId: string;
  readonly service: string;
  readonly period: QuotaPeriod;
  readonly periodStart: string;
  readonly usage: number;
  readonly limit: number;
  readonly unit: string;
  readonly percent: number;
  /** The highest level reached now; null below the warning threshold. */
  readonly level: Exclude<AlertLevel, 'forecast'> | null;
  /** Display units expected at the period's end at the current run rate. */
  readonly projected: number;
  readonly projectedPercent: number;
  /** The seed's line for this level, or null. */
  readonly message: string | null;
}

export interface CheckOptions {
  readonly now: number;
  readonly thresholds: Thresholds;
  /** The installation's zone: quota days and months of customers without their own zone. */
  readonly timezone?: string | undefined;
  /** Only these customer × service pairs (after a flush); default every quota. */
  readonly touched?: ReadonlyArray<{ customerId: string; service: string }> | undefined;
  readonly customerId?: string | undefined;
  /** Only this service's quotas (the seed's usage_check_service_alert). */
  readonly service?: string | undefined;
  /** Log forecast alerts (default true). */
  readonly forecast?: boolean | undefined;
  /** Only report the status; log nothing. */
  readonly dryRun?: boolean | undefined;
}

export interface CheckResult {
  /** Alerts logged by this check (new ones only). */
  readonly alerts: Alert[];
  readonly status: QuotaStatus[];
  /** Whether any quota is at or over the exceeded threshold now. */
  readonly exceeded: boolean;
}

const LABEL: Record<AlertLevel, string> = { warning: 'WARNING', critical: 'CRITICAL', exceeded: 'QUOTA EXCEEDED', forecast: 'FORECAST' };
/** Forecasts need this much of the period behind them: a run rate from minutes is noise. */
const FORECAST_MIN_ELAPSED: Record<QuotaPeriod, number> = { day: 3 * MS.HOUR, month: MS.DAY };

export function checkThresholds(t: Thresholds): void {
  for (const k of ['warning', 'critical', 'exceeded'] as const) {
    if (typeof t[k] !== 'number' || !Number.isFinite(t[k]) || t[k] <= 0 || t[k] > 1000)
      throw invalid(`thresholds.${k}`, 'must be a percent from 1 to 1000');
  }
  if (!(t.warning < t.critical && t.critical <= t.exceeded)) throw invalid('thresholds', 'must rise: warning < critical ≤ exceeded');
}

function amount(def: ServiceDefinition | undefined, base: number): string {
  const v = roundDisplay(def ? toDisplay(def, base) : base);
  if (Number.isInteger(v)) return String(v);
  // Counted units stay whole (a projection may be fractional); others show two decimals.
  return def?.displayFactor === 1 ? String(Math.round(v)) : String(Number(v.toFixed(2)));
}

/**
 * The seed's alert output: "WARNING: api usage at 78% - 78000/100000", "CRITICAL: storage usage at
 * 92% - 9.2GB/10GB", "QUOTA EXCEEDED: bandwidth - 105GB/100GB (105%)" (units other than counts
 * follow the amounts). Percentages truncate (core/money.ts formatPercent): never 100 % before it is.
 */
export function alertMessage(
  level: AlertLevel,
  service: string,
  def: ServiceDefinition | undefined,
  percent: number,
  usage: number,
  limit: number,
): string {
  const unit = def && def.displayFactor !== 1 ? def.displayUnit : '';
  const shown = Number.isFinite(percent) ? formatPercent(percent / 100) : '∞%';
  const amounts = `${amount(def, usage)}${unit}/${amount(def, limit)}${unit}`;
  if (level === 'exceeded') return `${LABEL[level]}: ${service} - ${amounts} (${shown})`;
  const verb = level === 'forecast' ? 'projected at' : 'at';
  return `${LABEL[level]}: ${service} usage ${verb} ${shown} - ${amounts}`;
}

export function rowToAlert(row: AlertRow, services: Map<string, ServiceDefinition>): Alert {
  const def = services.get(row.service);
  return {
    id: row.id,
    customerId: row.customer_id,
    service: row.service,
    period: row.period as QuotaPeriod,
    periodStart: toIso(row.period_start),
    level: row.level,
    // Truncated like every percentage people see (core/money.ts formatPercent).
    percent: Math.trunc(row.percent * 10) / 10,
    usage: roundDisplay(def ? toDisplay(def, row.usage_quantity) : row.usage_quantity),
    limit: roundDisplay(def ? toDisplay(def, row.limit_quantity) : row.limit_quantity),
    unit: def?.displayUnit ?? '',
    message: row.message,
    createdAt: toIso(row.created_at),
  };
}

export async function checkAlerts(db: Kysely<Database>, o: CheckOptions): Promise<CheckResult> {
  checkThresholds(o.thresholds);
  let quotaQ = db.selectFrom('quotas').selectAll();
  if (o.customerId) quotaQ = quotaQ.where('customer_id', '=', o.customerId);
  if (o.service) quotaQ = quotaQ.where('service', '=', o.service);
  // A limit stored before quotas.set refused them (Infinity from 1e300, 0 from 5e-324) compares with nothing.
  let quotas = (await quotaQ.execute()).filter((q) => Number.isFinite(q.limit_quantity) && q.limit_quantity > 0);
  if (o.touched) {
    const touched = new Set(o.touched.map((t) => `${t.customerId}\u0000${t.service}`));
    quotas = quotas.filter((q) => touched.has(`${q.customer_id}\u0000${q.service}`));
  }
  if (quotas.length === 0) return { alerts: [], status: [], exceeded: false };
  const services = new Map((await listServices(db)).map((s) => [s.name, s]));
  const alerts: Alert[] = [];
  const status: QuotaStatus[] = [];
  for (const quota of quotas) {
    const period = quota.period;
    // A customer with a zone of its own has its days and months start at its local midnight.
    const own = (await customerZone(db, quota.customer_id)) ?? o.timezone ?? null;
    const zone = own === null || own === 'UTC' ? null : own;
    const start = zone ? zonedStart(zone, period, o.now) : bucketStart(period, o.now);
    const end = zone ? zonedNext(zone, period, start) : bucketEnd(period, o.now);
    const zonedUnits = zone
      ? ((await zonedSums(db, { zone, period, from: start, to: end, customerId: quota.customer_id, service: quota.service })).sums[0]
          ?.units ?? 0n)
      : null;
    const usageRow = await db
      .selectFrom('rollups')
      .select(['sum_quantity_hi', 'sum_quantity_lo'])
      .where('period', '=', period)
      .where('bucket_start', '=', start)
      .where('customer_id', '=', quota.customer_id)
      .where('service', '=', quota.service)
      .executeTakeFirst();
    const svc = services.get(quota.service);
    // Limits are base quantities (doubles): compare as a ratio.
    // count / max / unique_count / latest services compare their period's aggregate with the limit.
    const agg = svc ? await aggregateOver(db, svc, { from: start, to: end, customerId: quota.customer_id }) : null;
    const usage = agg
      ? Number(agg.quantity)
      : unitsToNumber(zonedUnits ?? joinLimbs(usageRow?.sum_quantity_hi, usageRow?.sum_quantity_lo), svc ? decimalsOf(svc) : 0);
    const limit = quota.limit_quantity;
    const percent = limit > 0 ? (usage / limit) * 100 : usage > 0 ? Infinity : 0;
    const elapsed = o.now - start;
    const projected = projectToEnd(usage, start, end, o.now);
    const projectedPercent = limit > 0 ? (projected / limit) * 100 : projected > 0 ? Infinity : 0;
    const def = services.get(quota.service);
    const level = levelFor(percent, o.thresholds);
    status.push({
      customerId: quota.customer_id,
      service: quota.service,
      period,
      periodStart: toIso(start),
      usage: roundDisplay(def ? toDisplay(def, usage) : usage),
      limit: roundDisplay(def ? toDisplay(def, limit) : limit),
      unit: def?.displayUnit ?? '',
      percent: Math.trunc(percent * 10) / 10,
      level,
      projected: roundDisplay(def ? toDisplay(def, projected) : projected),
      projectedPercent: Math.trunc(projectedPercent * 10) / 10,
      message: level ? alertMessage(level, quota.service, def, percent, usage, limit) : null,
    });
    if (o.dryRun) continue;
    const logged = await db
      .selectFrom('alert_log')
      .select('level')
      .where('customer_id', '=', quota.customer_id)
      .where('service', '=', quota.service)
      .where('period', '=', period)
      .where('period_start', '=', start)
      .execute();
    const toLog = alertsToLog(
      {
        percent,
        usage,
        projected,
        projectedPercent,
        elapsedMs: elapsed,
        forecastMinElapsedMs: FORECAST_MIN_ELAPSED[period],
        forecast: o.forecast ?? true,
        logged: logged.map((l) => l.level),
      },
      o.thresholds,
    );
    for (const a of toLog) {
      const message = alertMessage(a.level, quota.service, def, a.percent, a.quantity, limit);
      const row = await db
        .insertInto('alert_log')
        .values({
          customer_id: quota.customer_id,
          service: quota.service,
          period,
          period_start: start,
          level: a.level,
          percent: Number.isFinite(a.percent) ? a.percent : 1e9,
          usage_quantity: a.quantity,
          limit_quantity: limit,
          message,
          created_at: o.now,
        })
        .onConflict((oc) => oc.doNothing())
        .returningAll()
        .executeTakeFirst();
      if (row) alerts.push(rowToAlert(row, services));
    }
  }
  return { alerts, status, exceeded: status.some((s) => s.level === 'exceeded') };
}

export interface AlertListQuery {
  readonly since: number;
  readonly customerId?: string | undefined;
  readonly service?: string | undefined;
  readonly limit?: number | undefined;
}

/** The alert history, newest first. */
export async function listAlerts(db: ReadDb, q: AlertListQuery): Promise<Alert[]> {
  const limit = q.limit ?? 1000;
  if (!Number.isInteger(limit) || limit < 1 || limit > 100_000) throw invalid('limit', 'must be a whole number from 1 to 100000');
  let query = db
    .selectFrom('alert_log')
    .selectAll()
    .where('created_at', '>=', q.since)
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .limit(limit);
  if (q.customerId) query = query.where('customer_id', '=', q.customerId);
  if (q.service) query = query.where('service', '=', q.service);
  const services = new Map((await listServices(db)).map((s) => [s.name, s]));
  return (await query.execute()).map((r) => rowToAlert(r, services));
}

/** The seed's alert log line, UTC: "[2026-01-30 14:23:45] warning ALERT for api: 78000/100000 (78%)". */
export function formatAlertLine(a: Alert): string {
  const when = a.createdAt.replace('T', ' ').slice(0, 19);
  const pct = Number.isFinite(a.percent) && a.percent < 1e8 ? formatPercent(a.percent / 100) : '∞%';
  return `[${when}] ${a.level} ALERT for ${a.service}: ${shownAmount(a.usage)}/${shownAmount(a.limit)} (${pct})`;
}

function shownAmount(v: number): string {
  return Number.isInteger(v) ? String(v) : String(Number(v.toFixed(2)));
}
