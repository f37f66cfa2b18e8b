// The usage report: per service usage, unit and cost over a period, read from the rollups
// (the coarsest rollup the period's edges allow), so it costs the same at 10 M records as at 10.
import { sql } from 'kysely';
import type { ReadDb } from '../storage/schema';
import { currencyOf, formatMoney, formatNanos, roundingNote, roundLines, toNanos } from '../core/money';
import { joinLimbs } from '../core/quantity';
import { aggregateOver } from './aggregated';
import { estimatedPart, type EstimatedPart } from './estimated';
import {
  rawCostText,
  rawQuantityHi,
  rawQuantityLo,
  rollupCostText,
  rollupQuantityHi,
  rollupQuantityLo,
  serviceMap,
  unitsToBase,
} from './common';
import { listServices } from '../storage/repos/service-rows';
import { formatCompact, toDisplay, type ServiceDefinition } from '../core/services';
import { dayStart, hourStart, monthStart, toIso, type Period } from '../core/time';

const HOUR = 3_600_000;

export interface ReportQuery {
  readonly from: number;
  /** Exclusive. */
  readonly to: number;
  readonly service?: string | undefined;
  readonly customerId?: string | undefined;
  /** Adds a per-day breakdown. */
  readonly detailed?: boolean | undefined;
}

export interface ReportLine {
  readonly service: string;
  readonly displayName: string;
  readonly events: number;
  /** Exact quantity in the service's base unit, as decimal text (it may pass 2^53). */
  readonly quantity: string;
  readonly baseUnit: string;
  /** Quantity in the display unit (GB-hours, GB, CPU-hours, …). */
  readonly usage: number;
  readonly unit: string;
  readonly costNanos: number;
  /** Exact decimal text of the cost. */
  readonly cost: string;
  /** Present when part of the usage was estimated (a storage gap billed as a lower bound). */
  readonly estimated?: EstimatedPart;
}

export interface DailyLine {
  readonly day: string; // YYYY-MM-DD
  readonly service: string;
  readonly events: number;
  readonly usage: number;
  readonly unit: string;
  readonly cost: string;
  readonly costNanos: number;
}

export interface UsageReport {
  readonly period: { readonly from: string; readonly to: string };
  readonly customerId: string | null;
  readonly services: readonly ReportLine[];
  readonly totalEvents: number;
  readonly totalCostNanos: number;
  readonly totalCost: string;
  readonly daily?: readonly DailyLine[];
}

/** The coarsest rollup period whose buckets tile [from, to) exactly; null when only raw records can. */
export function rollupPeriodFor(from: number, to: number): Period | null {
  if (monthStart(from) === from && monthStart(to) === to) return 'month';
  if (dayStart(from) === from && dayStart(to) === to) return 'day';
  if (hourStart(from) === from && hourStart(to) === to) return 'hour';
  return null;
}

export interface Sums {
  service: string;
  events: number;
  /**
   * Base quantity. The agent's SQLite gives the exact sum as decimal text; a store that keeps
   * quantities as doubles (the collector's PostgreSQL and ClickHouse) gives a number.
   */
  quantity: string | number;
  /** Cost in nanos: decimal text when exact past 2^53, else a number. */
  cost: string | number;
}

export interface DaySums extends Sums {
  /** Start of the UTC day, ms. */
  day: number;
}

/** Where a report's sums come from: the SQL rollups here, or another store (the collector's ClickHouse). */
export interface ReportSource {
  sums(q: ReportQuery): Promise<Sums[]>;
  daySums(q: ReportQuery): Promise<DaySums[]>;
  /** false: the records are not db's usage_records (the collector's stores): no raw-record extras. */
  readonly raw?: false;
}

/** Sums from the agent's SQLite: integer units, two-limb rollup sums (migration 0009), read exactly. */
export function sqlReportSource(db: ReadDb): ReportSource {
  return {
    sums: async (q) => exactSums(db, await sums(db, q)),
    daySums: async (q) => exactSums(db, await daySums(db, q)),
  };
}

interface SumRow {
  service: string;
  events: number;
  hi: string | number | null;
  lo: string | number | null;
  cost: string | number | null;
}

/** Limb sums → exact decimal base quantities (units scaled by each service's decimals). */
async function exactSums<R extends SumRow>(db: ReadDb, rows: R[]): Promise<Array<Omit<R, 'hi' | 'lo'> & Sums>> {
  const services = await serviceMap(db);
  return rows.map(({ hi, lo, ...r }) => {
    const quantity = unitsToBase(services.get(r.service) ?? { integerOnly: true }, joinLimbs(hi, lo));
    return { ...r, quantity, cost: r.cost ?? 0 };
  });
}

async function sums(db: ReadDb, q: ReportQuery): Promise<SumRow[]> {
  return (await rangeSums(db, q, false)).map(({ day: _day, ...r }) => r);
}

/**
 * Sums per service (per day and service with `byDay`) over [from, to), exactly: from the coarsest
 * rollup whose buckets tile the range (no coarser than a day with `byDay`). When an edge falls
 * inside an hour, the whole hours between come from the rollups, which keep archived records, and
 * only the partial edge hours from the raw records (a range read raw would drop archived ones).
 */
async function rangeSums(db: ReadDb, q: ReportQuery, byDay: boolean): Promise<Array<SumRow & { day: number }>> {
  const period = byDay ? (dayStart(q.from) === q.from && dayStart(q.to) === q.to ? 'day' : null) : rollupPeriodFor(q.from, q.to);
  if (period !== null) return rollupSums(db, q, period, byDay);
  const inner = wholeHours(q);
  if (inner === null) return rawSums(db, q, byDay);
  const parts = [await rollupSums(db, { ...q, ...inner }, byDay ? 'hour' : rollupPeriodFor(inner.from, inner.to)!, byDay)];
  if (q.from < inner.from) parts.push(await rawSums(db, { ...q, to: inner.from }, byDay));
  if (inner.to < q.to) parts.push(await rawSums(db, { ...q, from: inner.to }, byDay));
  return mergeSums(parts.flat());
}

/** The whole hours inside [from, to), or null when there is none. */
function wholeHours(q: ReportQuery): { from: number; to: number } | null {
  const from = hourStart(q.from) === q.from ? q.from : hourStart(q.from) + HOUR;
  const to = hourStart(q.to);
  return from < to ? { from, to } : null;
}

const DAY_OF_BUCKET = sql<number>`(bucket_start / 86400000) * 86400000`;
const DAY_OF_RECORD = sql<number>`(recorded_at / 86400000) * 86400000`;

/** Sums per service (per day and service with `byDay`) from the rollups of `period`. */
function rollupSums(db: ReadDb, q: ReportQuery, period: Period, byDay = false): Promise<Array<SumRow & { day: number }>> {
  let query = db
    .selectFrom('rollups')
    .select([
      'service',
      (byDay ? DAY_OF_BUCKET : sql<number>`0`).as('day'),
      sql<number>`sum(event_count)`.as('events'),
      rollupQuantityHi.as('hi'),
      rollupQuantityLo.as('lo'),
      rollupCostText.as('cost'),
    ])
    .where('period', '=', period)
    .where('bucket_start', '>=', q.from)
    .where('bucket_start', '<', q.to)
    .groupBy(['day', 'service'])
    .orderBy('day')
    .orderBy('service');
  if (q.service) query = query.where('service', '=', q.service);
  if (q.customerId) query = query.where('customer_id', '=', q.customerId);
  return query.execute();
}

/** The same from the raw records (voided events count no more). */
function rawSums(db: ReadDb, q: ReportQuery, byDay = false): Promise<Array<SumRow & { day: number }>> {
  let query = db
    .selectFrom('usage_records')
    .select([
      'service',
      (byDay ? DAY_OF_RECORD : sql<number>`0`).as('day'),
      sql<number>`count(*)`.as('events'),
      rawQuantityHi.as('hi'),
      rawQuantityLo.as('lo'),
      rawCostText.as('cost'),
    ])
    .where('recorded_at', '>=', q.from)
    .where('recorded_at', '<', q.to)
    .where('voided_at', 'is', null)
    .groupBy(['day', 'service'])
    .orderBy('day')
    .orderBy('service');
  if (q.service) query = query.where('service', '=', q.service);
  if (q.customerId) query = query.where('customer_id', '=', q.customerId);
  return query.execute();
}

/** Rows of the same day and service added exactly (limbs and cost as bigints), by day, then service. */
function mergeSums(rows: ReadonlyArray<SumRow & { day: number }>): Array<SumRow & { day: number }> {
  const out = new Map<string, { service: string; day: number; events: number; units: bigint; cost: bigint }>();
  for (const r of rows) {
    const key = `${r.day}\u0000${r.service}`;
    const m = out.get(key) ?? { service: r.service, day: Number(r.day), events: 0, units: 0n, cost: 0n };
    m.events += Number(r.events);
    m.units += joinLimbs(r.hi, r.lo);
    m.cost += exactCost(r.cost ?? undefined);
    out.set(key, m);
  }
  return [...out.values()]
    .sort((a, b) => a.day - b.day || (a.service < b.service ? -1 : a.service > b.service ? 1 : 0))
    .map(({ units, cost, ...r }) => ({ ...r, hi: 0, lo: units.toString(), cost: cost.toString() }));
}

function line(def: ServiceDefinition, s: Sums | undefined): ReportLine {
  const quantity = s?.quantity ?? 0;
  const cost = exactCost(s?.cost);
  return {
    service: def.name,
    displayName: def.displayName,
    events: s?.events ?? 0,
    quantity: String(quantity),
    baseUnit: def.baseUnit,
    usage: toDisplay(def, Number(quantity)),
    unit: def.displayUnit,
    costNanos: Number(cost),
    cost: formatNanos(cost),
  };
}

/** Nanos as text or number → bigint (a double cost is already whole nanos). */
function exactCost(cost: string | number | undefined): bigint {
  return typeof cost === 'number' ? BigInt(Math.round(cost)) : BigInt(cost ?? 0);
}

/** Only storage records are ever estimated (gaps): other services skip the query. */
async function estimatedOf(db: ReadDb, def: ServiceDefinition, q: ReportQuery): Promise<{ estimated?: EstimatedPart }> {
  if (def.name !== 'storage') return {};
  const part = await estimatedPart(db, { from: q.from, to: q.to, service: def.name, customerId: q.customerId });
  return part ? { estimated: part } : {};
}

/** Service definitions from `db`; sums from `source` (by default the same db's rollups). */
export async function usageReport(db: ReadDb, q: ReportQuery, source: ReportSource = sqlReportSource(db)): Promise<UsageReport> {
  const services = await listServices(db);
  const byName = new Map((await source.sums(q)).map((s) => [s.service, s]));
  const lines = await Promise.all(
    services
      .filter((def) => (q.service ? def.name === q.service : def.builtin || byName.has(def.name)))
      // count / max / unique_count / latest services show their aggregate as the quantity.
      .map(async (def) => ({
        ...line(def, byName.get(def.name)),
        // Read from db's raw records: only where they are the report's records (not the collector's stores).
        ...(source.raw === false ? {} : await aggregateOver(db, def, q)),
        ...(source.raw === false ? {} : await estimatedOf(db, def, q)),
      })),
  );
  const totalCost = lines.reduce((n, l) => n + toNanos(l.cost), 0n);
  const totalCostNanos = Number(totalCost);
  const report: UsageReport = {
    period: { from: toIso(q.from), to: toIso(q.to) },
    customerId: q.customerId ?? null,
    services: lines,
    totalEvents: lines.reduce((n, l) => n + l.events, 0),
    totalCostNanos,
    totalCost: formatNanos(totalCost),
  };
  if (!q.detailed) return report;
  return { ...report, daily: dailyLines(await source.daySums(q), new Map(services.map((s) => [s.name, s]))) };
}

function daySums(db: ReadDb, q: ReportQuery): Promise<Array<SumRow & { day: number }>> {
  return rangeSums(db, q, true);
}

function dailyLines(rows: readonly DaySums[], services: Map<string, ServiceDefinition>): DailyLine[] {
  return rows.map((r) => {
    const def = services.get(r.service);
    return {
      day: toIso(r.day).slice(0, 10),
      service: r.service,
      events: r.events,
      usage: def ? toDisplay(def, Number(r.quantity)) : Number(r.quantity),
      unit: def?.displayUnit ?? '',
      costNanos: Number(r.cost),
      cost: formatNanos(exactCost(r.cost)),
    };
  });
}

/** The seed's boxed USAGE SUMMARY table. */
export function formatReportTable(report: UsageReport, currency = 'USD'): string {
  // Lines rounded to the minor unit; the printed total is their sum (money.ts, roundLines).
  const money = roundLines(
    report.services.map((l) => l.cost),
    currency,
  );
  const rows = report.services.map((l, i) => [l.service, formatCompact(l.usage), l.unit, formatMoney(money.lines[i]!, currency)]);
  const header = ['Service', 'Usage', 'Unit', 'Cost'];
  const total = ['TOTAL', '', '', formatMoney(money.total, currency)];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length), total[i]!.length));
  const title = `USAGE SUMMARY  ${report.period.from.slice(0, 10)} → ${report.period.to.slice(0, 10)}${report.customerId ? `  (${report.customerId})` : ''}`;
  const inner = widths.reduce((n, w) => n + w + 3, -1);
  const width = Math.max(inner, title.length + 2);
  widths[0]! += width - inner;
  const hr = (l: string, m: string, r: string) => l + widths.map((w) => '─'.repeat(w + 2)).join(m) + r;
  const row = (cells: string[]) =>
    '│' + cells.map((c, i) => (i === 0 || i === 2 ? ` ${c.padEnd(widths[i]!)} ` : ` ${c.padStart(widths[i]!)} `)).join('│') + '│';
  return [
    '┌' + '─'.repeat(width) + '┐',
    '│' + ` ${title}`.padEnd(width) + '│',
    hr('├', '┬', '┤'),
    row(header),
    hr('├', '┼', '┤'),
    ...rows.map(row),
    hr('├', '┼', '┤'),
    row(total),
    hr('└', '┴', '┘'),
    ...(money.difference === 0n ? [] : [roundingNote(money, currency)]),
    'GB = GiB (2^30 bytes)',
  ].join('\n');
}

export function currencySymbol(currency: string): string {
  return currencyOf(currency).prefix;
}

/** CSV of the report lines (RFC 4180: quoted where needed, CRLF). */
export function formatReportCsv(report: UsageReport): string {
  const esc = (v: string | number) => {
    const s = String(v);
    return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  const lines = [['service', 'events', 'quantity', 'base_unit', 'usage', 'unit', 'cost'].join(',')];
  for (const l of report.services) lines.push([l.service, l.events, l.quantity, l.baseUnit, l.usage, l.unit, l.cost].map(esc).join(','));
  lines.push(['TOTAL', report.totalEvents, '', '', '', '', report.totalCost].map(esc).join(','));
  return lines.join('\r\n') + '\r\n';
}
