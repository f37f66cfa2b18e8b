// The ClickHouse store. Exactly once without unique keys: before inserting a batch, the store asks
// which of its ids ClickHouse already holds (by customer and time range, so the primary key finds
// them) and inserts only the others; batches of one host are stored one at a time (an id only ever
// arrives with its own host's token, so a re-sent batch cannot race its first delivery). The
// materialized rollups therefore see every id once, and reports read them. ReplacingMergeTree is
// the second line: rows with one id collapse when parts merge, and the raw-record reads (partial
// hours, export) count each id once (GROUP BY id / LIMIT 1 BY id) whatever merges have happened.
import { Readable, type Writable } from 'node:stream';
import type { DaySums, ReportQuery, ReportSource, Sums } from '../../analytics/usage';
import { rollupPeriodFor } from '../../analytics/usage';
import { dayStart, hourStart, toIso } from '../../core/time';
import type { NativeRecord } from '../../core/sync/native';
import { quantityText, trimDecimal } from '../quantity';
import { EXPORT_COLUMNS, goodRecords, type CollectorStore, type ValidBatch } from '../store';
import { applyClickHouseCorrections } from './corrections';
import { exactNumber, rows, selectWithSet, str, unreachable, type ChConnection } from './connection';

interface SumRow {
  service: string;
  events: string;
  quantity: string;
  cost: string;
}

// Quantities and costs stay exact text (toString of the Decimal and Int64 sums); events is a count.
const toSums = (r: SumRow): Sums => ({
  service: r.service,
  events: exactNumber(r.events),
  quantity: trimDecimal(r.quantity),
  cost: r.cost,
});

function filters(q: ReportQuery): string {
  return (q.service ? ` AND service = ${str(q.service)}` : '') + (q.customerId ? ` AND customer_id = ${str(q.customerId)}` : '');
}

/** Runs `fn` after every earlier call with the same key has settled. */
function serializer() {
  const tails = new Map<string, Promise<unknown>>();
  return <T>(key: string, fn: () => Promise<T>): Promise<T> => {
    const run = (tails.get(key) ?? Promise.resolve()).then(fn, fn);
    const tail = run.catch(() => undefined);
    tails.set(key, tail);
    void tail.then(() => tails.get(key) === tail && tails.delete(key));
    return run;
  };
}

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
function recordLine(r: NativeRecord, now: number): Prepared {
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

type Insert = (values: readonly Prepared[]) => Promise<void>;

/**
 * Group insert: batches that arrive while an insert runs (other hosts') go into the next one
 * together. ClickHouse writes a part per insert (and one per materialized view): few large
 * inserts are what it is fast at. A failed insert fails every batch in it; each is re-sent.
 */
function groupInsert(c: ChConnection): Insert {
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
export async function insertNew(c: ChConnection, values: readonly Prepared[], insert: Insert = (v) => insertRows(c, v)): Promise<number> {
  const seen = new Set<string>();
  const unique = values.filter((r) => !seen.has(r.id) && seen.add(r.id));
  const held = await heldIds(c, unique);
  const fresh = unique.filter((r) => !held.has(r.id));
  if (fresh.length > 0) await insert(fresh);
  return fresh.length;
}

function reportSource(c: ChConnection): ReportSource & { readonly raw: false } {
  const { events, rollups } = c.tables;
  return {
    raw: false,
    async sums(q) {
      const period = rollupPeriodFor(q.from, q.to);
      const query =
        period !== null
          ? `SELECT service, sum(event_count) AS events, toString(sum(sum_quantity)) AS quantity, toString(sum(sum_cost_nanos)) AS cost FROM ${rollups}
             WHERE period = '${period}' AND bucket_start >= ${q.from} AND bucket_start < ${q.to}${filters(q)}
             GROUP BY service HAVING events != 0`
          : // Edges inside an hour: the raw records, each id once at its latest revision, voided ones left out.
            `SELECT s AS service, count() AS events, toString(sum(qty)) AS quantity, toString(sum(c)) AS cost FROM (
               SELECT id, any(service) AS s, argMax(quantity, revision) AS qty, argMax(cost_nanos, revision) AS c,
                 max(isNotNull(voided_at)) AS voided FROM ${events}
               WHERE recorded_at >= ${q.from} AND recorded_at < ${q.to}${filters(q)} GROUP BY id HAVING voided = 0)
             GROUP BY s`;
      return (await rows<SumRow>(c.entry, query)).map(toSums);
    },
    async daySums(q): Promise<DaySums[]> {
      const period = dayStart(q.from) === q.from && dayStart(q.to) === q.to ? 'day' : 'hour';
      const found = await rows<SumRow & { day: string }>(
        c.entry,
        `SELECT service, intDiv(bucket_start, 86400000) * 86400000 AS day, sum(event_count) AS events,
           toString(sum(sum_quantity)) AS quantity, toString(sum(sum_cost_nanos)) AS cost FROM ${rollups}
         WHERE period = '${period}' AND bucket_start >= ${hourStart(q.from)} AND bucket_start < ${q.to}${filters(q)}
         GROUP BY day, service HAVING events != 0 ORDER BY day, service`,
      );
      return found.map((r) => ({ ...toSums(r), day: exactNumber(r.day) }));
    },
  };
}

/** A CSV field as PostgreSQL's COPY … CSV writes it: quoted only when it must be; NULL empty. */
function csvField(v: string | null): string {
  if (v === null) return '';
  return v === '' || /[",\n\r]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

interface ExportRow {
  id: string;
  recorded_at: string;
  customer_id: string;
  user_id: string | null;
  host_id: string;
  service: string;
  quantity: string;
  unit_price: string;
  cost_nanos: string;
  metadata: string;
  source: string;
}

function csvLine(r: ExportRow): string {
  return (
    [
      r.id,
      toIso(Number(r.recorded_at)),
      r.customer_id,
      r.user_id,
      r.host_id,
      r.service,
      trimDecimal(r.quantity),
      r.unit_price,
      r.cost_nanos,
      r.metadata,
      r.source,
    ]
      .map(csvField)
      .join(',') + '\n'
  );
}

async function write(out: Writable, text: string): Promise<void> {
  if (!out.write(text)) await new Promise((r) => out.once('drain', r));
}

async function exportCsv(c: ChConnection, range: { from: number; to: number }, out: Writable): Promise<void> {
  const rs = await c.entry.query({
    // Each id once, at its latest revision; voided records left out (as the PostgreSQL store's export).
    query: `SELECT ${EXPORT_COLUMNS.join(', ')} FROM (
              SELECT ${EXPORT_COLUMNS.map((k) => (k === 'quantity' ? 'toString(quantity) AS quantity' : k)).join(', ')}, voided_at
              FROM ${c.tables.events} WHERE recorded_at >= ${Math.trunc(range.from)} AND recorded_at < ${Math.trunc(range.to)}
              ORDER BY recorded_at, id, revision DESC LIMIT 1 BY id)
            WHERE voided_at IS NULL ORDER BY recorded_at, id`,
    format: 'JSONEachRow',
  });
  await write(out, EXPORT_COLUMNS.join(',') + '\n');
  for await (const batch of rs.stream<ExportRow>()) {
    let text = '';
    for (const r of batch) text += csvLine(r.json());
    await write(out, text);
  }
}

export function clickhouseStore(c: ChConnection): CollectorStore {
  const serial = serializer();
  const insert = groupInsert(c);
  return {
    kind: 'clickhouse',
    async store(batch: ValidBatch, hostId: string, now: number) {
      try {
        return await serial(hostId, () =>
          insertNew(
            c,
            goodRecords(batch).map((r) => recordLine(r, now)),
            insert,
          ),
        );
      } catch (err) {
        throw unreachable(err) ?? err;
      }
    },
    report: reportSource(c),
    async seenServices() {
      const found = await rows<{ service: string }>(c.entry, `SELECT DISTINCT service FROM ${c.tables.rollups} WHERE period = 'month'`);
      return found.map((r) => r.service);
    },
    correct: (hostId, list, now) => serial(hostId, () => applyClickHouseCorrections(c, hostId, list, now)),
    exportCsv: (range, out) => exportCsv(c, range, out),
    close: () => c.close(),
  };
}
