// Export shaping, pure: the record columns, RFC 4180 CSV escaping, a record row → export row,
// default file names, and exact running totals. File writing lives in src/exports.
import { formatNanos } from '../money';
import { toDisplay, type ServiceDefinition } from '../services';
import { toIso } from '../time';
import { decimalsOf, formatUnits, unitsToNumber } from '../quantity';
import { roundDisplay } from '../services';

export type ExportFormat = 'csv' | 'json' | 'xlsx';
export const EXPORT_FORMATS: readonly ExportFormat[] = ['csv', 'json', 'xlsx'];

/** A raw record as read from usage_records. */
export interface RawRecord {
  readonly seq: number;
  readonly id: string;
  readonly recorded_at: number;
  readonly customer_id: string;
  readonly user_id: string | null;
  readonly host_id: string;
  readonly service: string;
  /** Exact integer units (src/core/quantity.ts); decimal text when read with CAST(… AS TEXT). */
  readonly quantity: number | string;
  readonly unit_price: string;
  readonly cost_nanos: number;
  readonly metadata: string;
  readonly source: string;
}

/**
 * The exported record: the seed's keys first (timestamp, service, quantity in the display unit,
 * unit_cost, total_cost as numbers, metadata), then the exact decimal strings beside them and
 * Tally's own fields.
 */
export interface ExportRecord {
  readonly timestamp: string;
  readonly service: string;
  /** Display units (GB = GiB). */
  readonly quantity: number;
  readonly unit_cost: number;
  readonly total_cost: number;
  readonly metadata: Record<string, unknown>;
  readonly unit_cost_exact: string;
  readonly total_cost_exact: string;
  readonly id: string;
  readonly customer_id: string;
  readonly user_id: string | null;
  /** Base units, exact decimal text (it may pass 2^53). */
  readonly base_quantity: string;
  readonly base_unit: string;
  readonly unit: string;
  readonly host_id: string;
  readonly source: string;
}

/** The seed's CSV header in its order, then Tally's columns (total_cost is exact decimal text). */
export const CSV_COLUMNS = [
  'timestamp',
  'service',
  'quantity',
  'unit_cost',
  'total_cost',
  'metadata',
  'id',
  'customer_id',
  'user_id',
  'base_quantity',
  'base_unit',
  'unit',
  'host_id',
  'source',
] as const;

/** The price in force per display unit, exact as the price book holds it ("0.0001"). */
function unitCost(r: RawRecord): string {
  return r.unit_price;
}

export function toExportRecord(r: RawRecord, def: ServiceDefinition | undefined): ExportRecord {
  let metadata: Record<string, unknown>;
  try {
    metadata = JSON.parse(r.metadata) as Record<string, unknown>;
  } catch {
    metadata = {};
  }
  const cost = formatNanos(r.cost_nanos);
  const q = quantities(r, def);
  return {
    timestamp: toIso(r.recorded_at),
    service: r.service,
    quantity: q.display,
    unit_cost: Number(unitCost(r)),
    total_cost: Number(cost),
    metadata,
    unit_cost_exact: unitCost(r),
    total_cost_exact: cost,
    id: r.id,
    customer_id: r.customer_id,
    user_id: r.user_id,
    base_quantity: q.base,
    base_unit: def?.baseUnit ?? '',
    unit: def?.displayUnit ?? '',
    host_id: r.host_id,
    source: r.source,
  };
}

/** A record's units as the exact base quantity (text) and the display quantity (a double). */
function quantities(r: RawRecord, def: ServiceDefinition | undefined): { base: string; display: number } {
  const units = BigInt(r.quantity);
  const decimals = def ? decimalsOf(def) : 0;
  const base = unitsToNumber(units, decimals);
  return { base: formatUnits(units, decimals), display: def ? roundDisplay(toDisplay(def, base)) : base };
}

/** RFC 4180: a field with a comma, quote, CR or LF is quoted, and its quotes are doubled. */
export function csvField(value: string | number | null | undefined): string {
  if (value === null || value === undefined) return '';
  const s = String(value);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function csvLine(values: ReadonlyArray<string | number | null | undefined>): string {
  return values.map(csvField).join(',') + '\r\n';
}

/** One record as a CSV line; metadata is its JSON text (stored JSON is kept byte for byte). */
export function csvRecordLine(r: RawRecord, def: ServiceDefinition | undefined): string {
  const q = quantities(r, def);
  return csvLine([
    toIso(r.recorded_at),
    r.service,
    q.display,
    unitCost(r),
    formatNanos(r.cost_nanos),
    r.metadata,
    r.id,
    r.customer_id,
    r.user_id,
    q.base,
    def?.baseUnit ?? '',
    def?.displayUnit ?? '',
    r.host_id,
    r.source,
  ]);
}

/** tally-usage-2026-11-01_2026-11-30[-api][-acme].csv; `to` is exclusive, the name shows the last day. */
export function defaultExportName(format: ExportFormat, from: number, to: number, service?: string, customerId?: string): string {
  const first = toIso(from).slice(0, 10);
  const last = toIso(Math.max(from, to - 1)).slice(0, 10);
  const safe = (s: string) => s.replace(/[^A-Za-z0-9._-]/g, '_');
  return `tally-usage-${first}_${last}${service ? `-${safe(service)}` : ''}${customerId ? `-${safe(customerId)}` : ''}.${format}`;
}

export interface ServiceTotal {
  readonly service: string;
  readonly events: number;
  /** Exact base quantity, decimal text. */
  readonly quantity: string;
  readonly usage: number;
  readonly unit: string;
  readonly cost: string;
  readonly costNanos: string;
}

/** The JSON export's summary: exact totals per service. */
export interface ExportSummary {
  readonly total_events: number;
  readonly total_cost: string;
  /** quantity: exact base quantity as decimal text. */
  readonly services: Record<string, { events: number; quantity: string; usage: number; unit: string; cost: string }>;
}

/**
 * Running totals while records stream past; quantities (units) and costs summed as BigInt. For
 * count / max / unique_count / latest services the summary's quantity is that aggregate (the
 * largest units, the newest reading, the distinct values of the field), as reports show it.
 */
export class Totals {
  private readonly by = new Map<
    string,
    { events: number; quantity: bigint; cost: bigint; max: bigint; latestAt: number; latest: bigint; seen: Set<string> }
  >();
  add(
    service: string,
    units: number | string | bigint,
    costNanos: number,
    recordedAt = 0,
    metadataJson?: string,
    uniqueField?: string | null,
  ): void {
    const q = BigInt(units);
    let t = this.by.get(service);
    if (t === undefined) {
      t = { events: 0, quantity: 0n, cost: 0n, max: q, latestAt: -Infinity, latest: 0n, seen: new Set() };
      this.by.set(service, t);
    }
    t.events++;
    t.quantity += q;
    t.cost += BigInt(costNanos);
    if (q > t.max) t.max = q;
    if (recordedAt > t.latestAt) {
      t.latestAt = recordedAt;
      t.latest = q;
    }
    if (uniqueField && metadataJson !== undefined) {
      const v = (JSON.parse(metadataJson) as Record<string, unknown>)[uniqueField];
      if (v !== undefined && v !== null) t.seen.add(String(v));
    }
  }

  /** The summary quantity of one service under its aggregation, in units (count-like: the number). */
  private aggregate(
    t: { events: number; quantity: bigint; max: bigint; latest: bigint; seen: Set<string> },
    def?: ServiceDefinition,
  ): bigint {
    switch (def?.aggregation ?? 'sum') {
      case 'count':
        return BigInt(t.events);
      case 'max':
        return t.max;
      case 'latest':
        return t.latest;
      case 'unique_count':
        return BigInt(t.seen.size);
      default:
        return t.quantity;
    }
  }

  summary(services: ReadonlyMap<string, ServiceDefinition>): ExportSummary {
    let events = 0;
    let cost = 0n;
    const out: ExportSummary['services'] = {};
    for (const [name, t] of [...this.by].sort(([a], [b]) => a.localeCompare(b))) {
      const def = services.get(name);
      events += t.events;
      cost += t.cost;
      const a = def?.aggregation ?? 'sum';
      const decimals = def && a !== 'count' && a !== 'unique_count' ? decimalsOf(def) : 0;
      const units = this.aggregate(t, def);
      const base = unitsToNumber(units, decimals);
      out[name] = {
        events: t.events,
        quantity: formatUnits(units, decimals),
        usage: def ? roundDisplay(toDisplay(def, base)) : base,
        unit: def?.displayUnit ?? '',
        cost: formatNanos(t.cost),
      };
    }
    return { total_events: events, total_cost: formatNanos(cost), services: out };
  }
}

/**
 * The JSON file's summary in the seed's shape: `services` a list of names and `total_cost` a
 * number, with the exact string and the per-service totals beside them.
 */
export function seedSummary(summary: ExportSummary): Record<string, unknown> {
  return {
    total_events: summary.total_events,
    total_cost: Number(summary.total_cost),
    services: Object.keys(summary.services),
    total_cost_exact: summary.total_cost,
    by_service: summary.services,
  };
}

/** The seed's period ("start"/"end" as dates, end inclusive) and the exact instants (to exclusive). */
export function seedPeriod(from: number, to: number): Record<string, string> {
  return { start: toIso(from).slice(0, 10), end: toIso(Math.max(from, to - 1)).slice(0, 10), from: toIso(from), to: toIso(to) };
}
