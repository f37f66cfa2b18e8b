// Month-to-date aggregated quantities for services that are not sums, kept beside the writer's
// own figures and priced the same cumulative way: a record costs F(aggregate after) − F(before),
// so a month's record costs add up to F(the month's count / max / distinct count / last
// reading). unique_count services also store each distinct value per day and month
// (unique_values) in the writer's transaction, so counts are exact, never estimated.
import type BetterSqlite3 from 'better-sqlite3';
import { uniqueValue } from '../core/aggregation';
import { chargeEvent, type CompiledPrice } from '../core/pricing';
import type { ValidRecord } from '../core/records';
import type { ServiceDefinition } from '../core/services';
import { dayStart, monthStart as monthStartOf, nextMonthStart } from '../core/time';
import { decimalsOf } from '../core/quantity';

interface State {
  /** count, max (base units), distinct count, or the latest reading (base units). */
  value: number;
  /** latest: when the current reading was taken. */
  at: number;
  /** unique_count: values known stored for the month, and day|value keys known stored (bounded caches). */
  values?: Set<string>;
  buckets?: Set<string>;
}

/** Cache bound: past it, a month's known values are forgotten and looked up again in SQLite. */
const KNOWN_MAX = 200_000;

/** The distinct-count value of a record, parsed once (check() before queueing, step() in the commit). */
const uniqueOf = new WeakMap<ValidRecord, string>();

export interface AggregateStep {
  /** Month-to-date aggregate before and after the record: the input of cumulative pricing. */
  readonly before: number;
  readonly after: number;
  /** Keeps the step once the record is stored (a duplicate id is not). */
  apply(): void;
}

export class Aggregator {
  private readonly state = new Map<string, State>();
  private readonly stmt: Record<'month' | 'latest' | 'uniqueCount' | 'uniqueHas' | 'uniqueAdd', BetterSqlite3.Statement>;

  constructor(sqlite: BetterSqlite3.Database) {
    this.stmt = {
      month: sqlite.prepare(
        `SELECT event_count AS n, max_quantity AS mx FROM rollups WHERE period = 'month' AND bucket_start = ? AND customer_id = ? AND service = ?`,
      ),
      latest: sqlite.prepare(
        `SELECT recorded_at AS at, CAST(quantity AS TEXT) AS q FROM usage_records
         WHERE recorded_at >= ? AND recorded_at < ? AND customer_id = ? AND service = ? AND voided_at IS NULL
         ORDER BY recorded_at DESC, seq DESC LIMIT 1`,
      ),
      uniqueCount: sqlite
        .prepare(`SELECT count(*) FROM unique_values WHERE period = 'month' AND bucket_start = ? AND customer_id = ? AND service = ?`)
        .pluck(),
      uniqueHas: sqlite
        .prepare(
          `SELECT 1 FROM unique_values WHERE period = 'month' AND bucket_start = ? AND customer_id = ? AND service = ? AND value = ?`,
        )
        .pluck(),
      uniqueAdd: sqlite.prepare(
        `INSERT OR IGNORE INTO unique_values (period, bucket_start, customer_id, service, value) VALUES (?, ?, ?, ?, ?)`,
      ),
    };
  }

  /** Forget every figure (after a rolled-back transaction or a correction): they are re-read. */
  reset(): void {
    this.state.clear();
  }

  /** Refuses, before it is queued, an event of a unique_count service without its field. */
  static check(def: ServiceDefinition | undefined, r: ValidRecord, path: string): void {
    if (def?.aggregation === 'unique_count')
      uniqueOf.set(
        r,
        uniqueValue(
          def.aggregationField!,
          JSON.parse(r.metadataJson),
          path ? `${path}.metadata.${def.aggregationField}` : `metadata.${def.aggregationField}`,
        ),
      );
  }

  /** The step of a record of a non-sum service in the month starting `month`; null for sums. */
  step(def: ServiceDefinition | undefined, r: ValidRecord, month: number, path = ''): AggregateStep | null {
    const a = def?.aggregation ?? 'sum';
    if (def === undefined || a === 'sum') return null;
    const key = `${month}\u0000${r.customerId}\u0000${r.service}`;
    const s = this.state.get(key) ?? this.load(def, r, month);
    const before = s.value;
    const keep = (after: number, at = s.at, extra?: () => void): AggregateStep => ({
      before,
      after,
      apply: () => {
        s.value = after;
        s.at = at;
        extra?.();
        this.state.set(key, s);
      },
    });
    switch (a) {
      case 'count':
        return keep(before + 1);
      case 'max':
        return keep(Math.max(before, r.quantity));
      case 'latest':
        return r.recordedAt >= s.at ? keep(r.quantity, r.recordedAt) : keep(before);
      case 'unique_count': {
        const value =
          uniqueOf.get(r) ??
          uniqueValue(
            def.aggregationField!,
            JSON.parse(r.metadataJson),
            path ? `${path}.metadata.${def.aggregationField}` : `metadata.${def.aggregationField}`,
          );
        const values = (s.values ??= new Set());
        const buckets = (s.buckets ??= new Set());
        const seen = values.has(value) || this.stmt.uniqueHas.get(month, r.customerId, r.service, value) !== undefined;
        return keep(seen ? before : before + 1, s.at, () => {
          if (values.size > KNOWN_MAX) values.clear();
          if (buckets.size > KNOWN_MAX) buckets.clear();
          if (!seen) this.stmt.uniqueAdd.run('month', month, r.customerId, r.service, value);
          values.add(value);
          // Repeat visits are the common case: a day already holding the value is not written again.
          // Weeks and other whole-day ranges count distinct values over their days (aggregated.ts).
          const day = dayStart(r.recordedAt);
          const key = `${day}\u0000${value}`;
          if (!buckets.has(key)) {
            this.stmt.uniqueAdd.run('day', day, r.customerId, r.service, value);
            buckets.add(key);
          }
        });
      }
    }
  }

  private load(def: ServiceDefinition, r: ValidRecord, month: number): State {
    const scale = 10 ** decimalsOf(def);
    switch (def.aggregation) {
      case 'count':
      case 'max': {
        const row = this.stmt.month.get(month, r.customerId, r.service) as { n: number; mx: number } | undefined;
        if (row === undefined) return { value: 0, at: -Infinity };
        return { value: def.aggregation === 'count' ? row.n : Number(row.mx) / scale, at: -Infinity };
      }
      case 'latest': {
        const row = this.stmt.latest.get(month, nextMonthStart(month), r.customerId, r.service) as { at: number; q: string } | undefined;
        return row === undefined ? { value: 0, at: -Infinity } : { value: Number(BigInt(row.q)) / scale, at: row.at };
      }
      default:
        return { value: this.stmt.uniqueCount.get(month, r.customerId, r.service) as number, at: -Infinity };
    }
  }
}

/**
 * After a void or an amend (corrections.ts), rebuilds the distinct values of the day and the
 * month holding `at` from the live raw records, so a voided visit no longer counts.
 */
export function rebuildUniqueValues(
  sqlite: BetterSqlite3.Database,
  def: ServiceDefinition | undefined,
  customerId: string,
  at: number,
): void {
  if (def?.aggregation !== 'unique_count' || !def.aggregationField) return;
  const path = `$.${def.aggregationField}`;
  const remove = sqlite.prepare('DELETE FROM unique_values WHERE period = ? AND bucket_start = ? AND customer_id = ? AND service = ?');
  const fill = sqlite.prepare(
    `INSERT OR IGNORE INTO unique_values (period, bucket_start, customer_id, service, value)
     SELECT ?, ?, customer_id, service, CAST(json_extract(metadata, ?) AS TEXT) FROM usage_records
     WHERE recorded_at >= ? AND recorded_at < ? AND customer_id = ? AND service = ? AND voided_at IS NULL
       AND json_extract(metadata, ?) IS NOT NULL`,
  );
  const month = monthStartOf(at);
  for (const [period, start, end] of [
    ['day', dayStart(at), dayStart(at) + 86_400_000],
    ['month', month, nextMonthStart(month)],
  ] as const) {
    remove.run(period, start, customerId, def.name);
    fill.run(period, start, path, start, end, customerId, def.name, path);
  }
}

interface LiveRecord {
  readonly seq: number;
  readonly recorded_at: number;
  readonly quantity: bigint;
  readonly cost_nanos: number;
  readonly unit_price: string;
  readonly metadata: string;
}

/**
 * Re-prices a month of a count / max / unique_count / latest service after a correction: every
 * live record of the month in arrival (seq) order, its aggregate stepped as the writer stepped it,
 * cost F(after) − F(before). Returns the records whose cost changed (and `added`, the replacement).
 */
export function repriceAggregate(
  def: ServiceDefinition,
  records: readonly LiveRecord[],
  priceAt: (at: number) => CompiledPrice,
  scale: number,
  added: number | null,
  update: (cost: number, unitPrice: string, seq: number) => void,
): Array<{ seq: number; recorded_at: number; quantity: bigint; oldCost: number; cost: number }> {
  const seen = new Set<string>();
  let value = 0;
  let at = -Infinity;
  const changed = [];
  for (const r of records) {
    const q = Number(r.quantity) / scale;
    const before = value;
    if (def.aggregation === 'count') value += 1;
    else if (def.aggregation === 'max') value = Math.max(value, q);
    else if (def.aggregation === 'latest') {
      if (r.recorded_at >= at) {
        value = q;
        at = r.recorded_at;
      }
    } else {
      const v = (JSON.parse(r.metadata) as Record<string, unknown>)[def.aggregationField!];
      const key = String(v);
      if (!seen.has(key)) {
        seen.add(key);
        value += 1;
      }
    }
    const price = priceAt(r.recorded_at);
    const own = price.perEvent === undefined ? null : chargeEvent(price, q, r.metadata);
    const cost = own === null ? price.charge(value) - price.charge(before) : own.cost;
    const unitPrice = own === null ? price.unitPriceAt(value) : own.unitPrice;
    if (cost !== r.cost_nanos || unitPrice !== r.unit_price) update(cost, unitPrice, r.seq);
    if (cost !== r.cost_nanos || r.seq === added)
      changed.push({ seq: r.seq, recorded_at: r.recorded_at, quantity: r.quantity, oldCost: r.cost_nanos, cost });
  }
  return changed;
}
