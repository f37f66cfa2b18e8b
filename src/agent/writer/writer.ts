// The batched writer: the only code that inserts usage records. Records queue in memory and
// are committed in one IMMEDIATE transaction per flush, together with the rollups they touch
// (folded in memory first, so a flush of 10 000 records upserts a handful of rollup rows).
//
//   add()        validate + enqueue, fire-and-forget; flushed at batchSize or after batchTimeout
//   record()     validate + enqueue, resolves after the commit that holds it (group commit)
//   recordMany() all or nothing: one bad record refuses the whole call, and the rest of
//                the call lands in one transaction
//   flush()      commits everything queued now
//   close()      flushes, checkpoints, releases the lock
import { EventEmitter } from 'node:events';
import type BetterSqlite3 from 'better-sqlite3';
import { monotonicFactory } from 'ulid';
import { TallyError, toTallyError } from '../../core/errors';
import { validateRecord, validateRecords, type ValidRecord, type ValidationContext } from '../../core/records';
import { Registry } from '../../core/registry';
import { listPriceRules, listServices } from '../../core/repo/services';
import { dayStart, hourStart, monthStart, weekStart } from '../../core/time';
import type { TallyDb } from '../db/open';

export interface WriterOptions {
  /** Flush when this many records are queued (USAGE_BATCH_SIZE, default 100). */
  readonly batchSize?: number;
  /** Flush this long after the first queued record at the latest (USAGE_BATCH_TIMEOUT, default 5 s). */
  readonly batchTimeoutMs?: number;
  /** Refuse new records beyond this many queued: never drop silently. */
  readonly maxQueue?: number;
  readonly hostId: string;
  readonly defaultCustomerId: string;
  readonly defaultSource?: string;
  /** Checkpoint the WAL with TRUNCATE after this long without writes. */
  readonly idleCheckpointMs?: number;
  readonly clock?: () => number;
  readonly newId?: () => string;
}

export interface Stored {
  readonly id: string;
  /** False when a record with this id was already stored (an idempotent retry). */
  readonly inserted: boolean;
  readonly costNanos: number;
}

export interface FlushInfo {
  readonly records: number;
  readonly inserted: number;
  readonly durationMs: number;
  /** customer × service pairs touched, for cheap quota checks after the flush. */
  readonly touched: ReadonlyArray<{ customerId: string; service: string }>;
}

interface Waiter {
  readonly start: number;
  readonly end: number;
  readonly resolve: (stored: Stored[]) => void;
  readonly reject: (err: TallyError) => void;
}

interface Fold {
  customerId: string;
  service: string;
  bucket: number;
  count: number;
  sumQuantity: number;
  sumCost: number;
  min: number;
  max: number;
}

export interface WriterMetrics {
  ingested: number;
  duplicates: number;
  flushes: number;
  flushErrors: number;
  lastFlushMs: number;
  totalFlushMs: number;
}

const RETRYABLE = new Set(['SQLITE_BUSY', 'SQLITE_LOCKED', 'SQLITE_FULL', 'SQLITE_IOERR']);

export class BatchedWriter extends EventEmitter {
  readonly metrics: WriterMetrics = { ingested: 0, duplicates: 0, flushes: 0, flushErrors: 0, lastFlushMs: 0, totalFlushMs: 0 };
  private readonly sqlite: BetterSqlite3.Database;
  private readonly batchSize: number;
  private readonly batchTimeoutMs: number;
  private readonly maxQueue: number;
  private readonly idleCheckpointMs: number;
  private readonly clock: () => number;
  private readonly newId: () => string;
  private readonly ctxBase: Omit<ValidationContext, 'now' | 'services'>;
  private registry: Registry;
  private items: ValidRecord[] = [];
  private ids: string[] = [];
  private waiters: Waiter[] = [];
  private timer: NodeJS.Timeout | null = null;
  private idleTimer: NodeJS.Timeout | null = null;
  private immediate: NodeJS.Immediate | null = null;
  private flushing: Promise<void> | null = null;
  private closed = false;
  private dataVersion: number;
  /** Month-to-date quantity per customer × service × month, the input of cumulative pricing. */
  private readonly monthToDate = new Map<string, number>();
  private readonly monthOfDay = new Map<number, number>();
  private readonly stmt: {
    insert: BetterSqlite3.Statement;
    upsertRollup: BetterSqlite3.Statement;
    monthQuantity: BetterSqlite3.Statement;
    dataVersion: BetterSqlite3.Statement;
  };

  private constructor(
    private readonly tdb: TallyDb,
    registry: Registry,
    private readonly options: WriterOptions,
  ) {
    super();
    this.sqlite = tdb.sqlite;
    this.registry = registry;
    this.batchSize = options.batchSize ?? 100;
    this.batchTimeoutMs = options.batchTimeoutMs ?? 5000;
    this.maxQueue = options.maxQueue ?? 100_000;
    this.idleCheckpointMs = options.idleCheckpointMs ?? 30_000;
    this.clock = options.clock ?? Date.now;
    this.newId = options.newId ?? monotonicFactory();
    this.ctxBase = { defaultCustomerId: options.defaultCustomerId, defaultSource: options.defaultSource ?? 'api' };
    this.stmt = {
      insert: this.sqlite.prepare(
        `INSERT INTO usage_records (id, recorded_at, customer_id, user_id, host_id, service, quantity, unit_price, cost_nanos, metadata, source)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
      ),
      upsertRollup: this.sqlite.prepare(
        `INSERT INTO rollups (period, bucket_start, customer_id, service, event_count, sum_quantity, sum_cost_nanos, min_quantity, max_quantity)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (period, bucket_start, customer_id, service) DO UPDATE SET
           event_count = event_count + excluded.event_count,
           sum_quantity = sum_quantity + excluded.sum_quantity,
           sum_cost_nanos = sum_cost_nanos + excluded.sum_cost_nanos,
           min_quantity = min(min_quantity, excluded.min_quantity),
           max_quantity = max(max_quantity, excluded.max_quantity)`,
      ),
      monthQuantity: this.sqlite.prepare(
        `SELECT sum_quantity FROM rollups WHERE period = 'month' AND bucket_start = ? AND customer_id = ? AND service = ?`,
      ),
      dataVersion: this.sqlite.prepare('PRAGMA data_version').pluck(),
    };
    this.dataVersion = this.stmt.dataVersion.get() as number;
  }

  /** Opens a writer on a database the caller has locked (see acquireWriterLock). */
  static async open(tdb: TallyDb, options: WriterOptions): Promise<BatchedWriter> {
    return new BatchedWriter(tdb, await loadRegistry(tdb), options);
  }

  get queueDepth(): number {
    return this.items.length;
  }

  get services(): Registry['services'] {
    return this.registry.services;
  }

  /** Re-reads services and prices (after this or another process changed them). */
  async refresh(): Promise<void> {
    this.registry = await loadRegistry(this.tdb);
    this.dataVersion = this.stmt.dataVersion.get() as number;
  }

  private context(): ValidationContext {
    return { ...this.ctxBase, services: this.registry.services, now: this.clock() };
  }

  private checkOpen(extra: number): void {
    if (this.closed) throw new TallyError('unavailable', 'the writer is closed');
    if (this.items.length + extra > this.maxQueue) {
      throw new TallyError('queue_full', `the write queue is full (${this.items.length} of ${this.maxQueue} records waiting); retry shortly`, {
        retryAfterMs: Math.max(100, this.batchTimeoutMs / 5),
      });
    }
  }

  /** Fire-and-forget: validates now (throws on bad input), commits with the next batch. Returns the id. */
  add(input: unknown): string {
    this.checkOpen(1);
    const rec = validateRecord(input, this.context());
    return this.enqueue([rec])[0]!;
  }

  /** Validates every record first, then queues them all; nothing is queued when one is bad. */
  addMany(inputs: readonly unknown[]): string[] {
    this.checkOpen(inputs.length);
    return this.enqueue(validateRecords(inputs, this.context()));
  }

  /** Resolves after the commit that holds the record. */
  async record(input: unknown): Promise<Stored> {
    return (await this.recordMany([input], 'record'))[0]!;
  }

  /** All or nothing; resolves after the one commit that holds every record of the call. */
  recordMany(inputs: readonly unknown[], path = 'records'): Promise<Stored[]> {
    try {
      this.checkOpen(inputs.length);
      const recs = inputs.length === 1 && path === 'record' ? [validateRecord(inputs[0], this.context())] : validateRecords(inputs, this.context(), path);
      return new Promise<Stored[]>((resolve, reject) => {
        const start = this.items.length;
        this.enqueue(recs);
        this.waiters.push({ start, end: this.items.length, resolve, reject });
        // Acknowledged writes do not wait for the batch timeout: they share the next commit.
        this.scheduleSoon();
      });
    } catch (err) {
      return Promise.reject(err);
    }
  }

  private enqueue(recs: ValidRecord[]): string[] {
    const ids: string[] = [];
    for (const rec of recs) {
      const id = rec.id ?? this.newId();
      ids.push(id);
      this.items.push(rec);
      this.ids.push(id);
    }
    if (this.items.length >= this.batchSize) this.scheduleSoon();
    else if (this.timer === null && this.items.length > 0) {
      this.timer = setTimeout(() => void this.flush().catch(() => undefined), this.batchTimeoutMs);
    }
    return ids;
  }

  private scheduleSoon(): void {
    if (this.immediate !== null) return;
    this.immediate = setImmediate(() => {
      this.immediate = null;
      void this.flush().catch(() => undefined);
    });
  }

  /** Commits everything queued now. Concurrent callers share the flush in progress. */
  async flush(): Promise<void> {
    while (this.flushing) await this.flushing;
    if (this.items.length === 0) return;
    this.flushing = this.flushNow().finally(() => {
      this.flushing = null;
    });
    await this.flushing;
  }

  private async flushNow(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    // Another process changed services or prices: price this batch with the new book.
    if ((this.stmt.dataVersion.get() as number) !== this.dataVersion) await this.refresh();

    const items = this.items;
    const ids = this.ids;
    const waiters = this.waiters;
    this.items = [];
    this.ids = [];
    this.waiters = [];
    const started = performance.now();
    let stored: Stored[];
    let touched: FlushInfo['touched'];
    try {
      ({ stored, touched } = this.commit(items, ids));
    } catch (err) {
      this.monthToDate.clear(); // the rolled-back batch advanced it: re-read from the rollups
      this.metrics.flushErrors++;
      const error = toTallyError(err);
      const code = (err as { code?: string }).code;
      if (code !== undefined && RETRYABLE.has(code) && !this.closed) {
        // The disk is busy or full: keep the batch at the front of the queue and try again.
        this.items = items.concat(this.items);
        this.ids = ids.concat(this.ids);
        this.waiters = waiters.concat(this.waiters.map((w) => ({ ...w, start: w.start + items.length, end: w.end + items.length })));
        this.emit('flush-error', error, { retrying: true, records: items.length });
        if (this.timer === null) this.timer = setTimeout(() => void this.flush().catch(() => undefined), Math.min(this.batchTimeoutMs, 1000));
      } else {
        for (const w of waiters) w.reject(error);
        this.emit('flush-error', error, { retrying: false, records: items.length });
      }
      throw error;
    }
    const durationMs = performance.now() - started;
    this.metrics.flushes++;
    this.metrics.lastFlushMs = durationMs;
    this.metrics.totalFlushMs += durationMs;
    for (const w of waiters) w.resolve(stored.slice(w.start, w.end));
    const inserted = stored.reduce((n, s) => n + (s.inserted ? 1 : 0), 0);
    this.emit('flush', { records: items.length, inserted, durationMs, touched } satisfies FlushInfo);
    this.armIdleCheckpoint();
  }

  private monthStartOf(ms: number): number {
    const day = dayStart(ms);
    let month = this.monthOfDay.get(day);
    if (month === undefined) {
      month = monthStart(day);
      if (this.monthOfDay.size > 4096) this.monthOfDay.clear();
      this.monthOfDay.set(day, month);
    }
    return month;
  }

  /** One IMMEDIATE transaction: price and insert every record, then upsert the folded rollups. */
  private commit(items: ValidRecord[], ids: string[]): { stored: Stored[]; touched: FlushInfo['touched'] } {
    const { insert, upsertRollup, monthQuantity } = this.stmt;
    const hostId = this.options.hostId;
    const registry = this.registry;
    const mtd = this.monthToDate;
    const stored: Stored[] = new Array(items.length);
    const hourly = new Map<string, Fold>();
    let duplicates = 0;

    const run = this.sqlite.transaction(() => {
      for (let i = 0; i < items.length; i++) {
        const r = items[i]!;
        const month = this.monthStartOf(r.recordedAt);
        const mtdKey = `${month}\u0000${r.customerId}\u0000${r.service}`;
        let before = mtd.get(mtdKey);
        if (before === undefined) {
          before = (monthQuantity.pluck().get(month, r.customerId, r.service) as number | undefined) ?? 0;
        }
        const after = before + r.quantity;
        const price = registry.priceAt(r.service, r.recordedAt);
        const cost = price.charge(after) - price.charge(before);
        const info = insert.run(ids[i], r.recordedAt, r.customerId, r.userId, hostId, r.service, r.quantity, price.unitPriceAt(after), cost, r.metadataJson, r.source);
        if (info.changes === 0) {
          duplicates++;
          mtd.set(mtdKey, before);
          stored[i] = { id: ids[i]!, inserted: false, costNanos: 0 };
          continue;
        }
        mtd.set(mtdKey, after);
        stored[i] = { id: ids[i]!, inserted: true, costNanos: cost };
        const hour = hourStart(r.recordedAt);
        const key = `${hour}\u0000${r.customerId}\u0000${r.service}`;
        const f = hourly.get(key);
        if (f === undefined) {
          hourly.set(key, { customerId: r.customerId, service: r.service, bucket: hour, count: 1, sumQuantity: r.quantity, sumCost: cost, min: r.quantity, max: r.quantity });
        } else {
          f.count++;
          f.sumQuantity += r.quantity;
          f.sumCost += cost;
          if (r.quantity < f.min) f.min = r.quantity;
          if (r.quantity > f.max) f.max = r.quantity;
        }
      }
      // Coarser periods fold from the hourly folds: a few rows, not one pass per record.
      const coarse: Array<['day' | 'week' | 'month', (ms: number) => number]> = [
        ['day', dayStart],
        ['week', weekStart],
        ['month', (ms) => this.monthStartOf(ms)],
      ];
      for (const f of hourly.values()) upsertRollup.run('hour', f.bucket, f.customerId, f.service, f.count, f.sumQuantity, f.sumCost, f.min, f.max);
      for (const [period, start] of coarse) {
        const folds = new Map<string, Fold>();
        for (const h of hourly.values()) {
          const bucket = start(h.bucket);
          const key = `${bucket}\u0000${h.customerId}\u0000${h.service}`;
          const f = folds.get(key);
          if (f === undefined) folds.set(key, { ...h, bucket });
          else {
            f.count += h.count;
            f.sumQuantity += h.sumQuantity;
            f.sumCost += h.sumCost;
            f.min = Math.min(f.min, h.min);
            f.max = Math.max(f.max, h.max);
          }
        }
        for (const f of folds.values()) upsertRollup.run(period, f.bucket, f.customerId, f.service, f.count, f.sumQuantity, f.sumCost, f.min, f.max);
      }
    });
    run.immediate();
    this.metrics.ingested += items.length - duplicates;
    this.metrics.duplicates += duplicates;
    const seen = new Map<string, { customerId: string; service: string }>();
    for (const f of hourly.values()) seen.set(`${f.customerId}\u0000${f.service}`, { customerId: f.customerId, service: f.service });
    return { stored, touched: [...seen.values()] };
  }

  private armIdleCheckpoint(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => {
      this.idleTimer = null;
      if (this.items.length === 0 && !this.closed) this.checkpoint();
    }, this.idleCheckpointMs);
    this.idleTimer.unref();
  }

  /** TRUNCATE checkpoint: copies the WAL into the database and empties it, unless a reader is mid-snapshot. */
  checkpoint(): { busy: boolean; walPages: number; checkpointed: number } {
    // A reader holding an old snapshot must not stall the writer: give up quickly instead of waiting.
    const previous = this.sqlite.pragma('busy_timeout', { simple: true }) as number;
    this.sqlite.pragma('busy_timeout = 50');
    try {
      const [row] = this.sqlite.pragma('wal_checkpoint(TRUNCATE)') as Array<{ busy: number; log: number; checkpointed: number }>;
      return { busy: row!.busy === 1, walPages: row!.log, checkpointed: row!.checkpointed };
    } finally {
      this.sqlite.pragma(`busy_timeout = ${previous}`);
    }
  }

  /** Flushes what is queued, checkpoints, and refuses further records. Does not close the database. */
  async close(): Promise<void> {
    if (this.closed) return;
    if (this.immediate) clearImmediate(this.immediate);
    this.immediate = null;
    await this.flush();
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.checkpoint();
  }
}

export async function loadRegistry(tdb: TallyDb): Promise<Registry> {
  const [services, rules] = await Promise.all([listServices(tdb.db), listPriceRules(tdb.db)]);
  return new Registry(services, rules);
}
