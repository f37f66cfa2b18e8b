// Inserting into the ClickHouse store: each record as a TabSeparated line built by hand (the
// collector's hot loop), the look-up of the ids ClickHouse already holds, and the group insert.
// Exactly once without unique keys: before inserting a batch, the store asks which of its ids
// ClickHouse already holds (by customer and time range, so the sorting key finds them) and
// inserts only the others (store.ts runs one host's batches one at a time).
import { Readable } from 'node:stream';
import type { NativeRecord } from '../../core/sync/native';
import { quantityText } from '../quantity';
import { rows, selectWithSet, str, type ChConnection } from './connection';

export interface ChRow {
  id: string;
  recorded_at: number;
  customer_id: string;
  user_id: string | null;
  host_id: string;
  service: string;
  /** Decimal text, 6 places at most (quantity.ts). */
  quantity: string;
  unit_price: string;
  cost_nanos: number;
  /** JSON text. */
  metadata: string;
  source: string;
  received_at: number;
}

/** A row ready to insert: its TabSeparated line, and what the look-up before insert needs. */
export interface Prepared {
  readonly id: string;
  readonly at: number;
  readonly customer: string;
  readonly line: string;
}

const COLUMNS = 'id, recorded_at, customer_id, user_id, host_id, service, quantity, unit_price, cost_nanos, metadata, source, received_at';

/** TabSeparated escaping (backslash, tab, newline). */
export function tsv(s: string): string {
  return /[\\\t\n]/.test(s) ? s.replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n') : s;
}

/**
 * An ingested record's line, built by hand: this is the collector's hot loop. The validated
 * fields (ULID, ids and names by regex, decimal price) hold no tab, newline or backslash; the
 * metadata's JSON text holds no raw tab or newline, only backslashes to escape.
 */
export function recordLine(r: NativeRecord, now: number): Prepared {
  const meta = JSON.stringify(r.metadata);
  const q = Number.isSafeInteger(r.quantity) ? String(r.quantity) : quantityText(r.quantity);
  const line = `${r.id}\t${r.recordedAt}\t${r.customerId}\t${r.userId ?? '\\N'}\t${r.hostId}\t${r.service}\t${q}\t${r.unitPrice}\t${r.costNanos}\t${meta.includes('\\') ? tsv(meta) : meta}\t${r.source}\t${now}\n`;
  return { id: r.id, at: r.recordedAt, customer: r.customerId, line };
}

/** A row from elsewhere (migrate-store), every text escaped. */
export function rowLine(r: ChRow): Prepared {
  const line =
    [
      r.id,
      String(r.recorded_at),
      r.customer_id,
      r.user_id === null ? null : r.user_id,
      r.host_id,
      r.service,
      r.quantity,
      r.unit_price,
      String(r.cost_nanos),
      r.metadata,
      r.source,
      String(r.received_at),
    ]
      .map((v) => (v === null ? '\\N' : tsv(v)))
      .join('\t') + '\n';
  return { id: r.id, at: r.recorded_at, customer: r.customer_id, line };
}

/** The ids of `values` that ClickHouse already holds (found by customer and time: the sorting key). */
async function heldIds(c: ChConnection, values: readonly Prepared[]): Promise<Set<string>> {
  if (values.length === 0) return new Set();
  let lo = Infinity;
  let hi = -Infinity;
  const customers = new Set<string>();
  for (const r of values) {
    if (r.at < lo) lo = r.at;
    if (r.at > hi) hi = r.at;
    customers.add(r.customer);
  }
  const found = await selectWithSet<{ id: string }>(
    c,
    `SELECT id FROM ${c.tables.events}
     WHERE customer_id IN (${[...customers].map(str).join(',')}) AND recorded_at >= ${lo} AND recorded_at <= ${hi} AND id IN batch_ids`,
    'batch_ids',
    values.map((r) => r.id),
  );
  return new Set(found.map((f) => f.id));
}

async function insertRows(c: ChConnection, values: readonly Prepared[]): Promise<void> {
  if (values.length === 0) return;
  let body = '';
  for (const v of values) body += v.line;
  const result = await c.entry.exec({
    query: `INSERT INTO ${c.tables.events} (${COLUMNS}) FORMAT TabSeparated`,
    values: Readable.from([body]),
    // Over a Distributed table, answer only once every shard has the rows (not when queued locally).
    ...(c.target.cluster ? { clickhouse_settings: { insert_distributed_sync: 1 } as never } : {}),
  });
  result.stream.resume();
}

export type Insert = (values: readonly Prepared[]) => Promise<void>;

/**
 * Group insert: batches that arrive while an insert runs (other hosts') go into the next one
 * together. ClickHouse writes a part per insert (and one per materialized view): few large
 * inserts are what it is fast at. A failed insert fails every batch in it; each is re-sent.
 */
export function groupInsert(c: ChConnection): Insert {
  let pending: Array<{ values: readonly Prepared[]; resolve: () => void; reject: (e: unknown) => void }> = [];
  let running = false;
  async function drain(): Promise<void> {
    running = true;
    while (pending.length > 0) {
      const group = pending;
      pending = [];
      try {
        await insertRows(
          c,
          group.flatMap((g) => g.values),
        );
        for (const g of group) g.resolve();
      } catch (err) {
        for (const g of group) g.reject(err);
      }
    }
    running = false;
  }
  return (values) =>
    new Promise<void>((resolve, reject) => {
      pending.push({ values, resolve, reject });
      if (!running) void drain();
    });
}

/** Inserts the rows whose ids ClickHouse does not hold yet (the first of an id given twice); returns how many. */
export async function insertNew(
  c: ChConnection,
  values: readonly Prepared[],
  insert: Insert = (v) => insertRows(c, v),
  above?: string,
): Promise<number> {
  const seen = new Set<string>();
  const unique = values.filter((r) => !seen.has(r.id) && seen.add(r.id));
  // Ids above `above` (the host's highest id held) cannot be held: no look-up.
  const held = above !== undefined && unique.every((r) => r.id > above) ? new Set<string>() : await heldIds(c, unique);
  const fresh = unique.filter((r) => !held.has(r.id));
  if (fresh.length > 0) await insert(fresh);
  return fresh.length;
}

/** The highest id ClickHouse holds for `hostId` ('' when none). */
export async function highestId(c: ChConnection, hostId: string): Promise<string> {
  const [r] = await rows<{ id: string }>(c.entry, `SELECT max(id) AS id FROM ${c.tables.events} WHERE host_id = ${str(hostId)}`);
  return r?.id ?? '';
}
