// Export shaping, pure: the record columns, RFC 4180 CSV escaping, a record row → export row,
// default file names, and exact running totals. File writing lives in src/exports.
import { formatNanos } from '../money';
import { toDisplay, type ServiceDefinition } from '../services';
import { toIso } from '../time';
import { roundDisplay } from '../../analytics/common';

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
  readonly quantity: number;
  readonly unit_price: string;
  readonly cost_nanos: number;
  readonly metadata: string;
  readonly source: string;
}

/** The exported record: the seed's columns plus the display unit; cost as exact decimal text. */
export interface ExportRecord {
  readonly id: string;
  readonly timestamp: string;
  readonly customer_id: string;
  readonly user_id: string | null;
  readonly service: string;
  /** Base units. */
  readonly quantity: number;
  readonly base_unit: string;
  /** Display units (GB = GiB). */
  readonly usage: number;
  readonly unit: string;
  readonly unit_price: string;
  readonly cost: string;
  readonly metadata: Record<string, unknown>;
  readonly host_id: string;
  readonly source: string;
}

export const CSV_COLUMNS = [
  'id',
  'timestamp',
  'customer_id',
  'user_id',
  'service',
  'quantity',
  'base_unit',
  'usage',
  'unit',
  'unit_price',
  'cost',
  'metadata',
  'host_id',
  'source',
] as const;

export function toExportRecord(r: RawRecord, def: ServiceDefinition | undefined): ExportRecord {
  let metadata: Record<string, unknown>;
  try {
    metadata = JSON.parse(r.metadata) as Record<string, unknown>;
  } catch {
    metadata = {};
  }
  return {
    id: r.id,
    timestamp: toIso(r.recorded_at),
    customer_id: r.customer_id,
    user_id: r.user_id,
    service: r.service,
    quantity: r.quantity,
    base_unit: def?.baseUnit ?? '',
    usage: def ? roundDisplay(toDisplay(def, r.quantity)) : r.quantity,
    unit: def?.displayUnit ?? '',
    unit_price: r.unit_price,
    cost: formatNanos(r.cost_nanos),
    metadata,
    host_id: r.host_id,
    source: r.source,
  };
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
  return csvLine([
    r.id,
    toIso(r.recorded_at),
    r.customer_id,
    r.user_id,
    r.service,
    r.quantity,
    def?.baseUnit ?? '',
    def ? roundDisplay(toDisplay(def, r.quantity)) : r.quantity,
    def?.displayUnit ?? '',
    r.unit_price,
    formatNanos(r.cost_nanos),
    r.metadata,
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
  readonly quantity: number;
  readonly usage: number;
  readonly unit: string;
  readonly cost: string;
  readonly costNanos: string;
}

/** The JSON export's summary: exact totals per service. */
export interface ExportSummary {
  readonly total_events: number;
  readonly total_cost: string;
  readonly services: Record<string, { events: number; quantity: number; usage: number; unit: string; cost: string }>;
}

/** Running totals while records stream past; costs summed as BigInt. */
export class Totals {
  private readonly by = new Map<string, { events: number; quantity: number; cost: bigint }>();
  add(service: string, quantity: number, costNanos: number): void {
    const t = this.by.get(service);
    if (t) {
      t.events++;
      t.quantity += quantity;
      t.cost += BigInt(costNanos);
    } else this.by.set(service, { events: 1, quantity, cost: BigInt(costNanos) });
  }
  summary(services: ReadonlyMap<string, ServiceDefinition>): ExportSummary {
    let events = 0;
    let cost = 0n;
    const out: ExportSummary['services'] = {};
    for (const [name, t] of [...this.by].sort(([a], [b]) => a.localeCompare(b))) {
      const def = services.get(name);
      events += t.events;
      cost += t.cost;
      out[name] = {
        events: t.events,
        quantity: t.quantity,
        usage: def ? roundDisplay(toDisplay(def, t.quantity)) : t.quantity,
        unit: def?.displayUnit ?? '',
        cost: formatNanos(t.cost),
      };
    }
    return { total_events: events, total_cost: formatNanos(cost), services: out };
  }
}
