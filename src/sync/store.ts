// The sync outbox over the agent's SQLite database: usage_records by seq is the queue, sync_state
// holds each target's cursor, sync_rejections the records endpoints refused. Prepared statements
// on the writer's handle: every call is one short synchronous statement or transaction.
import type BetterSqlite3 from 'better-sqlite3';
import {
  rowToTargetState,
  type NewRejection,
  type Outbox,
  type RejectedRecord,
  type StatePatch,
  type TargetState,
  type TargetStateRow,
} from '../core/sync/outbox';
import { withJoinedWire, wireObject, type WireRecord } from '../core/sync/native';
import type { SyncRecord } from '../core/sync/types';
import { FRACTION_DIGITS, formatUnits } from '../core/quantity';

const WHOLE_TEXT = /^-?\d+$/;

/** Units as the base quantity's exact decimal text; `whole` is the service's integer_only (null: unknown service). */
function quantityTextOf(units: string, whole: number | null): string {
  // A whole-unit service's integer text is its quantity already.
  return whole !== 0 && WHOLE_TEXT.test(units) ? units : formatUnits(BigInt(units), whole === 0 ? FRACTION_DIGITS : 0);
}

// A record's columns as an array (a batch of 10 000 reads 25-35 % faster than as objects:
// bench:sync); quantity is integer units (core/quantity.ts), read exactly as text.
const BATCH_COLUMNS = `seq, id, recorded_at, customer_id, user_id, host_id, service, CAST(quantity AS TEXT), unit_price, cost_nanos, metadata, source`;

/**
 * A row of BATCH_COLUMNS as a record, `whole` its service's integer_only. Fields copied one by
 * one: rest/spread of a row costs more than the read itself (bench:sync's profile).
 */
function fromArray(a: unknown[], whole: number | null): SyncRecord {
  const quantityText = quantityTextOf(a[7] as string, whole);
  return {
    seq: a[0] as number,
    id: a[1] as string,
    recordedAt: a[2] as number,
    customerId: a[3] as string,
    userId: a[4] as string | null,
    hostId: a[5] as string,
    service: a[6] as string,
    unitPrice: a[8] as string,
    costNanos: a[9] as number,
    metadata: a[10] as string,
    source: a[11] as string,
    quantity: Number(quantityText),
    quantityText,
  };
}

/** Rows of BATCH_COLUMNS → records; `whole` holds each service's integer_only, read once per batch. */
function fromArrays(rows: unknown[][], whole: ReadonlyMap<string, number>): SyncRecord[] {
  const out = new Array<SyncRecord>(rows.length);
  for (let i = 0; i < rows.length; i++) out[i] = fromArray(rows[i]!, whole.get(rows[i]![6] as string) ?? null);
  return out;
}

// Each record's JSON object in a native request, built by SQLite: byte for byte what wireObject
// (core/sync/native.ts) writes from the record (json_quote escapes as JSON.stringify does; a
// fractional service's units as formatUnits prints them, 6 decimals without trailing zeros), so the
// agent makes no record object and no per-field strings (the columns are STRICT integers and text).
// The id, customer, host, service, price and source are validated on the way in to characters JSON
// never escapes (a ULID, identifiers, a decimal), so they go between quotes as they are: 15 % of
// the read. One stored past that validation (a hand-edited file) makes JSON the collector refuses,
// and the batch's split sets that record aside as refused, as the collector's checks would anyway.
// NULL for a quantity abs() cannot take (-2^63): that record is read and written the ordinary way.
const WIRE = `CASE WHEN quantity > -9223372036854775808 THEN format(
  '{"id":"%s","recordedAt":%d,"customerId":"%s","userId":%s,"hostId":"%s","service":"%s","quantity":%s,"unitPrice":"%s","costNanos":%d,"metadata":%s,"source":"%s"}',
  id, recorded_at, customer_id, json_quote(user_id), host_id, service,
  CASE WHEN service IN (SELECT name FROM services WHERE integer_only = 0) THEN
    CASE WHEN quantity < 0 THEN '-' ELSE '' END || (abs(quantity) / ${10 ** FRACTION_DIGITS}) ||
    rtrim(rtrim('.' || substr('${'0'.repeat(FRACTION_DIGITS - 1)}' || (abs(quantity) % ${10 ** FRACTION_DIGITS}), -${FRACTION_DIGITS}), '0'), '.')
  ELSE quantity END,
  unit_price, cost_nanos, coalesce(nullif(metadata, ''), '{}'), source)
END`;

/** The numbers of a comma-separated list if strictly ascending, else null. */
function ascending(text: string): number[] | null {
  const out = text.split(',').map(Number);
  for (let i = 1; i < out.length; i++) if (!(out[i]! > out[i - 1]!)) return null;
  return out;
}

/** How a record of a native batch reads the rest of itself, by seq. */
interface RowSource {
  /** The stored record (throws when it is gone). */
  load(seq: number): SyncRecord;
  /** Its id and request JSON (null: no wire form). */
  wireOf(seq: number): [string, string | null];
}

/**
 * A record of a native batch: its seq, and its id and request JSON (read with it, or on first use
 * when the batch was read joined); any other field, should something read it, is the stored
 * record's (read on first use).
 */
class WireRow implements WireRecord {
  private full: SyncRecord | undefined;
  constructor(
    readonly seq: number,
    private readonly outbox: RowSource,
    private ownId?: string,
    private ownWire?: string,
  ) {}
  private get r(): SyncRecord {
    return (this.full ??= this.outbox.load(this.seq));
  }
  private own(): void {
    const [id, wire] = this.outbox.wireOf(this.seq);
    this.ownId = id;
    this.ownWire = wire ?? wireObject(this.r);
  }
  get id(): string {
    if (this.ownId === undefined) this.own();
    return this.ownId!;
  }
  get wire(): string {
    if (this.ownWire === undefined) this.own();
    return this.ownWire!;
  }
  get recordedAt() {
    return this.r.recordedAt;
  }
  get customerId() {
    return this.r.customerId;
  }
  get userId() {
    return this.r.userId;
  }
  get hostId() {
    return this.r.hostId;
  }
  get service() {
    return this.r.service;
  }
  get quantity() {
    return this.r.quantity;
  }
  get quantityText() {
    return this.r.quantityText;
  }
  get unitPrice() {
    return this.r.unitPrice;
  }
  get costNanos() {
    return this.r.costNanos;
  }
  get metadata() {
    return this.r.metadata;
  }
  get source() {
    return this.r.source;
  }
}

const PATCH_COLUMNS: Record<keyof StatePatch, string> = {
  lastSuccess: 'last_success',
  lastError: 'last_error',
  nextAttempt: 'next_attempt',
  attempts: 'attempts',
  stopped: 'stopped',
  unknownSince: 'unknown_since',
  unknownToSeq: 'unknown_to_seq',
};

export class SqliteOutbox implements Outbox {
  private readonly s: Record<string, BetterSqlite3.Statement>;

  constructor(private readonly sqlite: BetterSqlite3.Database) {
    this.s = {
      state: sqlite.prepare('SELECT * FROM sync_state WHERE target = ?'),
      ensure: sqlite.prepare('INSERT INTO sync_state (target, acked_seq, updated_at) VALUES (?, 0, ?) ON CONFLICT (target) DO NOTHING'),
      batch: sqlite.prepare(`SELECT ${BATCH_COLUMNS} FROM usage_records WHERE seq > ? ORDER BY seq LIMIT ?`).raw(),
      wire: sqlite.prepare(`SELECT seq, id, ${WIRE} FROM usage_records WHERE seq > ? ORDER BY seq LIMIT ?`).raw(),
      // A batch's seqs and request objects as two strings (about 20 % less than a row each:
      // bench:sync). Both aggregates take the rows in the same order, so the seq list gives the
      // objects' order; count(w) < count(*) when a record has no wire form.
      joined: sqlite
        .prepare(
          `SELECT count(*), count(w), group_concat(seq), group_concat(w, ',') FROM (SELECT seq, ${WIRE} AS w FROM usage_records WHERE seq > ? ORDER BY seq LIMIT ?)`,
        )
        .raw(),
      wireOne: sqlite.prepare(`SELECT id, ${WIRE} FROM usage_records WHERE seq = ?`).raw(),
      whole: sqlite.prepare('SELECT name, integer_only FROM services').raw(),
      // One record: its service's integer_only read with it (a batch reads them once).
      record: sqlite
        .prepare(
          `SELECT ${BATCH_COLUMNS}, (SELECT integer_only FROM services s WHERE s.name = usage_records.service) FROM usage_records WHERE seq = ?`,
        )
        .raw(),
      advance: sqlite.prepare('UPDATE sync_state SET acked_seq = max(acked_seq, ?), updated_at = ? WHERE target = ?'),
      reject: sqlite.prepare(
        `INSERT INTO sync_rejections (target, seq, id, kind, reason, at) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (target, seq) DO UPDATE SET kind = excluded.kind, reason = excluded.reason, at = excluded.at`,
      ),
      unreject: sqlite.prepare('DELETE FROM sync_rejections WHERE target = ? AND seq = ?'),
      pending: sqlite.prepare('SELECT count(*) AS count, min(recorded_at) AS oldestAt FROM usage_records WHERE seq > ?'),
      rejectedAll: sqlite.prepare('SELECT * FROM sync_rejections ORDER BY target, seq LIMIT ?'),
      rejectedOf: sqlite.prepare('SELECT * FROM sync_rejections WHERE target = ? ORDER BY seq LIMIT ?'),
      rejectedCount: sqlite.prepare('SELECT count(*) FROM sync_rejections WHERE target = ?').pluck(),
      forgetState: sqlite.prepare('DELETE FROM sync_state WHERE target = ?'),
      forgetRejections: sqlite.prepare('DELETE FROM sync_rejections WHERE target = ?'),
    };
  }

  async state(target: string): Promise<TargetState> {
    return rowToTargetState(target, this.s.state!.get(target) as TargetStateRow | undefined);
  }

  async batch(afterSeq: number, limit: number): Promise<SyncRecord[]> {
    const rows = this.s.batch!.all(afterSeq, limit) as unknown[][];
    if (rows.length === 0) return [];
    const whole = new Map((this.s.whole!.all() as Array<[string, number]>).map(([name, w]) => [name, w]));
    return fromArrays(rows, whole);
  }

  async wireBatch(afterSeq: number, limit: number): Promise<SyncRecord[]> {
    const [count, wired, seqText, text] = this.s.joined!.get(afterSeq, limit) as [number, number, string | null, string | null];
    if (count === 0) return [];
    const seqs = wired === count ? ascending(seqText!) : null;
    if (seqs === null) return this.wireRows(afterSeq, limit);
    const out = new Array<SyncRecord>(seqs.length);
    for (let i = 0; i < seqs.length; i++) out[i] = new WireRow(seqs[i]!, this.rows);
    return withJoinedWire(out, text!);
  }

  /** A native batch row by row: a record with no wire form (a quantity of -2^63) is read the ordinary way. */
  private wireRows(afterSeq: number, limit: number): SyncRecord[] {
    const rows = this.s.wire!.all(afterSeq, limit) as Array<[number, string, string | null]>;
    const out = new Array<SyncRecord>(rows.length);
    for (let i = 0; i < rows.length; i++) {
      const [seq, id, wire] = rows[i]!;
      out[i] = wire === null ? this.load(seq) : new WireRow(seq, this.rows, id, wire);
    }
    return out;
  }

  private readonly rows: RowSource = {
    load: (seq) => this.load(seq),
    wireOf: (seq) => {
      const row = this.s.wireOne!.get(seq) as [string, string | null] | undefined;
      if (!row) throw new Error(`sync outbox: record ${seq} is gone`);
      return row;
    },
  };

  /** One record by seq, or undefined when it is gone. */
  private read(seq: number): SyncRecord | undefined {
    const a = this.s.record!.get(seq) as unknown[] | undefined;
    return a && fromArray(a, a[12] as number | null);
  }

  private readonly load = (seq: number): SyncRecord => {
    const r = this.read(seq);
    if (!r) throw new Error(`sync outbox: record ${seq} is gone`);
    return r;
  };

  async records(seqs: readonly number[]): Promise<SyncRecord[]> {
    return seqs.map((seq) => this.read(seq)).filter((r): r is SyncRecord => r !== undefined);
  }

  private applyPatch(target: string, patch: StatePatch, now: number): void {
    this.s.ensure!.run(target, now);
    const keys = (Object.keys(patch) as (keyof StatePatch)[]).filter((k) => patch[k] !== undefined);
    if (keys.length === 0) return;
    const sets = keys.map((k) => `${PATCH_COLUMNS[k]} = ?`).join(', ');
    this.sqlite
      .prepare(`UPDATE sync_state SET ${sets}, updated_at = ? WHERE target = ?`)
      .run(...keys.map((k) => patch[k] ?? null), now, target);
  }

  async ack(target: string, toSeq: number, rejections: readonly NewRejection[], patch: StatePatch, now: number): Promise<void> {
    this.sqlite
      .transaction(() => {
        for (const r of rejections) this.s.reject!.run(target, r.seq, r.id, r.kind, r.reason, now);
        this.applyPatch(target, patch, now);
        this.s.advance!.run(toSeq, now, target);
      })
      .immediate();
  }

  async patch(target: string, patch: StatePatch, now: number): Promise<void> {
    this.sqlite.transaction(() => this.applyPatch(target, patch, now)).immediate();
  }

  async pending(_target: string, afterSeq: number): Promise<{ count: number; oldestAt: number | null }> {
    return this.s.pending!.get(afterSeq) as { count: number; oldestAt: number | null };
  }

  async rejected(target: string | null, limit: number): Promise<RejectedRecord[]> {
    return (target === null ? this.s.rejectedAll!.all(limit) : this.s.rejectedOf!.all(target, limit)) as RejectedRecord[];
  }

  async rejectedCount(target: string): Promise<number> {
    return this.s.rejectedCount!.get(target) as number;
  }

  async settleRejections(target: string, delivered: readonly number[], still: readonly NewRejection[], now: number): Promise<void> {
    this.sqlite
      .transaction(() => {
        for (const seq of delivered) this.s.unreject!.run(target, seq);
        for (const r of still) this.s.reject!.run(target, r.seq, r.id, r.kind, r.reason, now);
      })
      .immediate();
  }

  async forget(target: string): Promise<void> {
    this.sqlite
      .transaction(() => {
        this.s.forgetState!.run(target);
        this.s.forgetRejections!.run(target);
      })
      .immediate();
  }
}
