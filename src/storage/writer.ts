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
import { invalid, renamed, TallyError, toTallyError } from '../core/errors';
import { formatNanos } from '../core/money';
import { validateRecord, validateRecords, type ValidRecord, type ValidationContext } from '../core/records';
import { Registry } from '../core/registry';
import { decimalsOf, joinLimbs, splitLimbs } from '../core/quantity';
import { chargeEvent, type CompiledPrice, type EventCharge } from '../core/pricing';
import { Aggregator } from './aggregation';
import { listPriceRules, listServices } from './repos/services';
import { dayStart, hourStart, monthStart, weekStart } from '../core/time';
import type { TallyDb } from './open';
import { ulidFactory } from './ids';
import { HISTOGRAM_COLUMNS, upsertHistogramSql } from './histogram';
import { BACKSTOP_PAGES, BackgroundCheckpointer } from './checkpointer';

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
  /**
   * WAL checkpoints on a worker thread instead of inside the COMMIT that crosses SQLite's
   * automatic checkpoint (checkpointer.ts). Default: on for a database file.
   */
  readonly backgroundCheckpoint?: boolean;
  /** Runs before each flush takes its batch (closing months whose grace period ended: analytics/closing.ts). */
  readonly beforeFlush?: (tdb: TallyDb, now: number, earliest: number) => Promise<unknown>;
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
  /** How the call names its records in errors ("records", "events"; "record": one, by its fields alone) and the first one's index. */
  readonly path?: string;
  readonly offset?: number;
  readonly resolve: (stored: Stored[]) => void;
  readonly reject: (err: TallyError) => void;
}

/**
 * A record its commit cannot store (its cost is past what one record can hold exactly), found
 * inside the transaction: the commit rolls back, the call it belongs to is refused, the rest go again.
 */
class RecordRefusal extends Error {
  constructor(
    readonly index: number,
    readonly error: TallyError,
  ) {
    super(error.message);
  }
}

/**
 * Why `cost` cannot be one record's cost, or null. It must be whole nanos within ±2^53
 * (9,007,199.254740991 in the currency): exact as a double, and within SQLite's INTEGER.
 */
export function costProblem(quantity: number, service: string, cost: number): string | null {
  if (Number.isSafeInteger(cost)) return null;
  return `${quantity} of "${service}" would cost ${formatNanos(cost)} in one record; one record can cost at most ${formatNanos(Number.MAX_SAFE_INTEGER)}: split it into smaller records`;
}

/** The earliest recordedAt of a batch (Infinity when empty): what beforeFlush needs to know of it. */
function earliestOf(items: readonly ValidRecord[]): number {
  let min = Infinity;
  for (let i = 0; i < items.length; i++) if (items[i]!.recordedAt < min) min = items[i]!.recordedAt;
  return min;
}

function checkCost(r: ValidRecord, cost: number, index: number): void {
  const problem = costProblem(r.quantity, r.service, cost);
  if (problem !== null) throw new RecordRefusal(index, invalid('quantity', problem));
}

/** A record's error named as its call names it: "records[3].quantity", or "quantity" for a call of one. */
function named(error: TallyError, w: Waiter, index: number): TallyError {
  if (w.path === undefined || w.path === 'record' || error.field === undefined) return error;
  return renamed(error, `${w.path}[${(w.offset ?? 0) + index - w.start}].${error.field}`);
}

interface Fold {
  customerId: string;
  service: string;
  bucket: number;
  count: number;
  /** Exact units (src/core/quantity.ts): sumQuantity + sumSafe once the commit's records are folded. */
  sumQuantity: bigint;
  /** Part of the sum kept as a safe-integer double (no BigInt per record); moved into sumQuantity at the end. */
  sumSafe: number;
  sumCost: number;
  min: bigint;
  max: bigint;
  /** How many records carried each quantity (units): the day's percentile histogram. */
  values: Map<bigint, number>;
}

export interface WriterMetrics {
  ingested: number;
  duplicates: number;
  flushes: number;
  flushErrors: number;
  /** Times writing stopped for a full disk or an I/O error (healthy → failing transitions). */
  storageFailures: number;
  lastFlushMs: number;
  totalFlushMs: number;
}

interface MonthToDate {
  readonly month: number;
  /** Exact units, when qtySafe is -1 (past 2^53); otherwise qtySafe is the figure. */
  qty: bigint;
  /** The exact units as a double while they are a safe integer (no BigInt per record), else -1. */
  qtySafe: number;
  /** Units per base unit (10^decimals): pricing reads base quantities. */
  readonly scale: number;
  /** The hourly fold this entry last added to, valid within flush number `flush`. */
  flush: number;
  hour: number;
  fold: Fold | null;
}

const INSERT_HEAD =
  'INSERT INTO usage_records (id, recorded_at, customer_id, user_id, host_id, service, quantity, unit_price, cost_nanos, metadata, source)';
/** Parameters per row: the host id, the same for every record of a writer, is a literal in the SQL. */
const COLUMNS = 10;

/**
 * A row's placeholders with the host id as an SQL literal: one string fewer to convert and bind
 * per record (measured: ~60 ns each). Config ids are plain characters (config.ts); anything else
 * would be refused here rather than quoted wrongly.
 */
function rowPlaceholders(hostId: string): string {
  if (!/^[\x20-\x7e]{1,256}$/.test(hostId))
    throw new TallyError('invalid_input', `hostId: printable characters only (got ${JSON.stringify(hostId)})`);
  return `(?, ?, ?, ?, '${hostId.replaceAll("'", "''")}', ?, ?, ?, ?, ?, ?)`;
}
const ROWS_PER_INSERT = 64;

/**
 * Adds one fold to a rollup row. The sum is two limbs (hi × 2^32 + lo, see migration 0009): lo
 * stays below 2^32 and carries into hi, so neither overflows 64 bits. Parameters: rollupParams.
 * Exported for other code that adjusts rollups in the writer's transaction (corrections).
 */
export const UPSERT_ROLLUP = `INSERT INTO rollups (period, bucket_start, customer_id, service, event_count,
    sum_quantity_hi, sum_quantity_lo, sum_cost_nanos, min_quantity, max_quantity)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
  ON CONFLICT (period, bucket_start, customer_id, service) DO UPDATE SET
    event_count = event_count + excluded.event_count,
    sum_quantity_hi = sum_quantity_hi + excluded.sum_quantity_hi + ((sum_quantity_lo + excluded.sum_quantity_lo) >> 32),
    sum_quantity_lo = (sum_quantity_lo + excluded.sum_quantity_lo) & 4294967295,
    sum_cost_nanos = sum_cost_nanos + excluded.sum_cost_nanos,
    min_quantity = min(min_quantity, excluded.min_quantity),
    max_quantity = max(max_quantity, excluded.max_quantity)`;

const ROLLUP_ROW = '(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)';
const ROLLUP_COLUMNS = 10;
/** Rows per rollup upsert statement (640 parameters). */
const ROLLUP_ROWS = 64;
/** Histogram rows per multi-row upsert (HISTOGRAM_COLUMNS parameters each). */
const HISTOGRAM_ROWS = 100;

/** A count of units as a double when it is a safe integer ≥ 0, else -1. */
function safeOrMinus1(units: bigint): number {
  return units >= 0n && units <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(units) : -1;
}

type RollupPeriod = 'hour' | 'day' | 'week' | 'month';
type RollupFold = {
  bucket: number;
  customerId: string;
  service: string;
  count: number;
  sumQuantity: bigint;
  sumCost: number;
  min: bigint;
  max: bigint;
};

/** Appends UPSERT_ROLLUP's parameters for a fold to `out` (rollupParams without an array per fold). */
function pushRollup(out: unknown[], period: RollupPeriod, f: RollupFold): void {
  const [hi, lo] = splitLimbs(f.sumQuantity);
  out.push(period, f.bucket, f.customerId, f.service, f.count, hi, lo, f.sumCost, f.min, f.max);
}

/** UPSERT_ROLLUP's parameters for a fold (a negative sum, a correction's, splits the same way). */
export function rollupParams(period: RollupPeriod, f: RollupFold): unknown[] {
  const out: unknown[] = [];
  pushRollup(out, period, f);
  return out;
}

/** Per-event charges computed when a record was queued, reused at its commit while the price is the same one. */
const queuedCharges = new WeakMap<ValidRecord, { price: CompiledPrice; own: EventCharge }>();

/** Another connection holds the database for a moment: keep the batch and try again. */
const BUSY = new Set(['SQLITE_BUSY', 'SQLITE_LOCKED']);
/** How long clients are told to wait while the disk is full; also how often writing is retried. */
const STORAGE_RETRY_MS = 1000;

/** A full disk (SQLITE_FULL, ENOSPC) or another I/O error (SQLITE_IOERR_*): writing cannot go on for now. */
function storageErrorCode(code: string | undefined): 'full' | 'io' | null {
  if (code === undefined) return null;
  if (code === 'SQLITE_FULL' || code === 'ENOSPC') return 'full';
  if (code.startsWith('SQLITE_IOERR')) return 'io';
  return null;
}

export interface StorageProblem {
  readonly kind: 'full' | 'io';
  readonly message: string;
  /** ms since the epoch. */
  readonly since: number;
  /** Records accepted fire-and-forget that still wait to be written. */
  readonly pending: number;
}

/** customer → service → entry: looked up per record without building a key string. */
class MonthToDateMap {
  private readonly byCustomer = new Map<string, Map<string, MonthToDate>>();
  get(customerId: string, service: string): MonthToDate | undefined {
    return this.byCustomer.get(customerId)?.get(service);
  }
  set(customerId: string, service: string, entry: MonthToDate): void {
    let m = this.byCustomer.get(customerId);
    if (m === undefined) this.byCustomer.set(customerId, (m = new Map()));
    m.set(service, entry);
  }
  clear(): void {
    this.byCustomer.clear();
  }
}

export class BatchedWriter extends EventEmitter {
  readonly metrics: WriterMetrics = {
    ingested: 0,
    duplicates: 0,
    flushes: 0,
    flushErrors: 0,
    storageFailures: 0,
    lastFlushMs: 0,
    totalFlushMs: 0,
  };
  private readonly sqlite: BetterSqlite3.Database;
  private readonly batchSize: number;
  private readonly batchTimeoutMs: number;
  private readonly maxQueue: number;
  private readonly idleCheckpointMs: number;
  private readonly clock: () => number;
  private readonly newId: () => string;
  /** Reused for every validation (allocating one per record showed up in profiles). */
  private readonly ctx: { services: ValidationContext['services']; defaultCustomerId: string; defaultSource: string; now: number };
  private registry: Registry;
  private items: ValidRecord[] = [];
  private ids: string[] = [];
  private waiters: Waiter[] = [];
  private timer: NodeJS.Timeout | null = null;
  private idleTimer: NodeJS.Timeout | null = null;
  private immediate: NodeJS.Immediate | null = null;
  /** A flush deferred under load (adaptive group commit, see scheduleSoon). */
  private soon: NodeJS.Timeout | null = null;
  /** performance.now() when the last commit ended. */
  private lastFlushEnd = 0;
  private flushing: Promise<void> | null = null;
  private closed = false;
  /** Set while a full disk or an I/O error stops writing; cleared by the first write that succeeds. */
  private storage: { kind: 'full' | 'io'; message: string; since: number } | null = null;
  private storageTimer: NodeJS.Timeout | null = null;
  /** Records that could not be written before close() (the disk stayed full): said at shutdown. */
  unstoredAtClose = 0;
  private dataVersion: number;
  /** Month-to-date quantity per customer × service (latest month), the input of cumulative pricing. */
  private readonly monthToDate = new MonthToDateMap();
  /** The same for earlier months that backfilled records touched. */
  private readonly otherMonths = new Map<string, MonthToDate>();
  private readonly insertByRows = new Map<number, BetterSqlite3.Statement>();
  /** One row's placeholders, the host id written in (rowPlaceholders). */
  private readonly rowSql: string;
  private flushCount = 0;
  /** Multi-row rollup upserts by row count (see upsertRollups). */
  private readonly rollupByRows = new Map<number, BetterSqlite3.Statement>();
  /** Multi-row histogram upserts by row count (see upsertHistogram). */
  private readonly histogramByRows = new Map<number, BetterSqlite3.Statement>();
  private readonly monthOfDay = new Map<number, number>();
  /** Month-to-date figures of count / max / unique_count / latest services (aggregation.ts). */
  private readonly aggregation: Aggregator;
  private readonly checkpointer: BackgroundCheckpointer | null;
  /** Records flushed inside atomically() and not yet committed; null outside it. */
  private uncommitted: number | null = null;
  private readonly stmt: {
    /** A caller-supplied id (maybe a retry): duplicates ignored. */
    insertOne: BetterSqlite3.Statement;
    monthQuantity: BetterSqlite3.Statement;
    dataVersion: BetterSqlite3.Statement;
    /** A small write transaction: succeeds only when the disk takes writes again. */
    probe: () => void;
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
    this.newId = options.newId ?? ulidFactory();
    this.ctx = {
      services: registry.services,
      defaultCustomerId: options.defaultCustomerId,
      defaultSource: options.defaultSource ?? 'api',
      now: 0,
    };
    this.rowSql = rowPlaceholders(options.hostId);
    this.stmt = {
      insertOne: this.sqlite.prepare(`${INSERT_HEAD} VALUES ${this.rowSql} ON CONFLICT (id) DO NOTHING`),
      monthQuantity: this.sqlite.prepare(
        `SELECT sum_quantity_hi AS hi, sum_quantity_lo AS lo FROM rollups WHERE period = 'month' AND bucket_start = ? AND customer_id = ? AND service = ?`,
      ),
      dataVersion: this.sqlite.prepare('PRAGMA data_version').pluck(),
      probe: this.probeTransaction(),
    };
    this.dataVersion = this.stmt.dataVersion.get() as number;
    this.aggregation = new Aggregator(this.sqlite);
    const file = tdb.path !== ':memory:' && tdb.path !== '';
    this.checkpointer = file && options.backgroundCheckpoint !== false ? new BackgroundCheckpointer(tdb.path) : null;
    // SQLite's own checkpoint in the COMMIT stays, at a size the worker keeps the WAL under.
    if (this.checkpointer) this.sqlite.pragma(`wal_autocheckpoint = ${BACKSTOP_PAGES}`);
  }

  private probeTransaction(): () => void {
    const put = this.sqlite.prepare(
      "INSERT INTO settings (key, value) VALUES ('storage_probe', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    );
    const drop = this.sqlite.prepare("DELETE FROM settings WHERE key = 'storage_probe'");
    const run = this.sqlite.transaction(() => {
      put.run(JSON.stringify('x'.repeat(4096)));
      drop.run();
    });
    return () => run.immediate();
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
    this.ctx.services = this.registry.services;
    this.ctx.now = this.clock();
    return this.ctx;
  }

  /** Why writing is stopped (a full disk, an I/O error), or null when it works. */
  get storageProblem(): StorageProblem | null {
    return this.storage === null ? null : { ...this.storage, pending: this.items.length };
  }

  private storageRefusal(): TallyError {
    const s = this.storage!;
    const what = s.kind === 'full' ? 'the disk holding the database is full' : 'the database cannot be written (I/O error)';
    return new TallyError('unavailable', `${what}: nothing was stored; retry later (${s.message})`, { retryAfterMs: STORAGE_RETRY_MS });
  }

  private checkOpen(extra: number): void {
    if (this.closed) throw new TallyError('unavailable', 'the writer is closed');
    // Answered at once, never queued behind a flush that cannot succeed.
    if (this.storage !== null) throw this.storageRefusal();
    if (this.items.length + extra > this.maxQueue) {
      throw new TallyError(
        'queue_full',
        `the write queue is full (${this.items.length} of ${this.maxQueue} records waiting); retry shortly`,
        {
          retryAfterMs: Math.max(100, this.batchTimeoutMs / 5),
        },
      );
    }
  }

  /** Fire-and-forget: validates now (throws on bad input), commits with the next batch. Returns the id. */
  add(input: unknown): string {
    this.checkOpen(1);
    const rec = validateRecord(input, this.context());
    this.checkEventPrice(rec, -1);
    const id = this.push(rec);
    this.queued();
    return id;
  }

  /** Validates every record first, then queues them all; nothing is queued when one is bad. */
  addMany(inputs: readonly unknown[]): string[] {
    this.checkOpen(inputs.length);
    const recs = validateRecords(inputs, this.context());
    const start = this.ids.length;
    this.enqueue(recs);
    return this.ids.slice(start);
  }

  /** Resolves after the commit that holds the record. */
  async record(input: unknown): Promise<Stored> {
    return (await this.recordMany([input], 'record'))[0]!;
  }

  /** All or nothing; resolves after the one commit that holds every record of the call. */
  recordMany(inputs: readonly unknown[], path = 'records', offset = 0): Promise<Stored[]> {
    try {
      this.checkOpen(inputs.length);
      const recs =
        inputs.length === 1 && path === 'record'
          ? [validateRecord(inputs[0], this.context())]
          : validateRecords(inputs, this.context(), path, offset);
      return new Promise<Stored[]>((resolve, reject) => {
        const start = this.items.length;
        this.enqueue(recs);
        this.waiters.push({ start, end: this.items.length, resolve, reject, path, offset });
        // Acknowledged writes do not wait for the batch timeout: they share the next commit.
        this.scheduleSoon();
      });
    } catch (err) {
      return Promise.reject(err);
    }
  }

  private enqueue(recs: ValidRecord[]): void {
    const one = recs.length === 1;
    for (let i = 0; i < recs.length; i++) this.checkEventPrice(recs[i]!, one ? -1 : i);
    for (const rec of recs) this.push(rec);
    this.queued();
  }

  /** Queues a checked record with its id (the caller's or a new one). */
  private push(rec: ValidRecord): string {
    const id = rec.id ?? this.newId();
    this.items.push(rec);
    this.ids.push(id);
    return id;
  }

  /** After records were queued: flush soon at batchSize, else within batchTimeout. */
  private queued(): void {
    if (this.items.length >= this.batchSize) this.scheduleSoon();
    else if (this.timer === null && this.items.length > 0) {
      this.timer = setTimeout(() => void this.flush().catch(() => undefined), this.batchTimeoutMs);
    }
  }

  /**
   * Refuses, before anything is queued, a record its price cannot charge (a per-dimension value
   * without a rate) or a unique_count record without its field. `index` names it in a call of
   * several (-1: a call of one); the field's name is only built when it is needed.
   */
  private checkEventPrice(r: ValidRecord, index: number): void {
    const price = this.registry.priceAt(r.service, r.recordedAt);
    if (price.perEvent !== undefined)
      queuedCharges.set(r, { price, own: chargeEvent(price, r.quantity, r.metadataJson, index < 0 ? '' : `records[${index}]`)! });
    const def = this.registry.services.get(r.service);
    if (def?.aggregation === 'unique_count') Aggregator.check(def, r, index < 0 ? '' : `records[${index}]`);
  }

  /**
   * Adaptive group commit. Idle, a flush starts at once (setImmediate: after the I/O already
   * waiting, so concurrent requests share it). Under load — the last commit ended less than its
   * own duration ago — the next one waits that long, so it carries whatever arrived meanwhile:
   * commits grow with the arrival rate instead of being capped at batchSize, and their fixed
   * cost (BEGIN/COMMIT, rollup upserts) is spread over more records. The wait is never longer
   * than one commit's time nor the batch timeout, and a queue a quarter full flushes at once.
   */
  private scheduleSoon(): void {
    if (this.immediate !== null || this.soon !== null) return;
    const run = (): void => {
      this.immediate = null;
      this.soon = null;
      void this.flush().catch(() => undefined);
    };
    const wait = Math.min(this.lastFlushEnd + this.metrics.lastFlushMs - performance.now(), this.batchTimeoutMs);
    if (wait >= 1 && this.items.length < this.maxQueue / 4) this.soon = setTimeout(run, wait);
    else this.immediate = setImmediate(run);
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
    // Its failure must never hold records back: reported, and the flush goes on.
    if (this.options.beforeFlush)
      await this.options.beforeFlush(this.tdb, this.clock(), earliestOf(this.items)).catch((err) => this.emit('before-flush-error', err));

    const items = this.items;
    const ids = this.ids;
    const waiters = this.waiters;
    this.items = [];
    this.ids = [];
    this.waiters = [];
    const started = performance.now();
    let result: ReturnType<BatchedWriter['commit']>;
    try {
      result = this.commit(items, ids);
    } catch (err) {
      // The rolled-back batch advanced the month-to-date figures: re-read them from the rollups.
      this.monthToDate.clear();
      this.aggregation.reset();
      this.otherMonths.clear();
      this.metrics.flushErrors++;
      if (err instanceof RecordRefusal) return this.refuseAndRetry(err, items, ids, waiters);
      const error = toTallyError(err);
      const code = (err as { code?: string }).code;
      const storage = storageErrorCode(code);
      if (storage !== null) {
        this.storageFailed(storage, err as Error, items, ids, waiters);
        throw this.storageRefusal();
      }
      if (code !== undefined && BUSY.has(code) && !this.closed) {
        // The database is busy: keep the batch at the front of the queue and try again.
        this.items = items.concat(this.items);
        this.ids = ids.concat(this.ids);
        this.waiters = waiters.concat(this.waiters.map((w) => ({ ...w, start: w.start + items.length, end: w.end + items.length })));
        this.emit('flush-error', error, { retrying: true, records: items.length });
        if (this.timer === null)
          this.timer = setTimeout(() => void this.flush().catch(() => undefined), Math.min(this.batchTimeoutMs, 1000));
      } else {
        for (const w of waiters) w.reject(error);
        this.emit('flush-error', error, { retrying: false, records: items.length });
      }
      throw error;
    }
    this.lastFlushEnd = performance.now();
    const durationMs = this.lastFlushEnd - started;
    if (this.storage !== null) this.storageRecovered();
    this.metrics.flushes++;
    // Inside atomically() nothing is committed yet: the checkpoint waits for its COMMIT.
    if (this.uncommitted === null) this.checkpointer?.committed(items.length);
    else this.uncommitted += items.length;
    this.metrics.lastFlushMs = durationMs;
    this.metrics.totalFlushMs += durationMs;
    const { costs, inserted, touched } = result;
    for (const w of waiters) {
      const stored: Stored[] = [];
      for (let i = w.start; i < w.end; i++) stored.push({ id: ids[i]!, inserted: inserted[i] === 1, costNanos: costs[i]! });
      w.resolve(stored);
    }
    const insertedCount = inserted.reduce((n, v) => n + v, 0);
    this.emit('flush', { records: items.length, inserted: insertedCount, durationMs, touched } satisfies FlushInfo);
    this.armIdleCheckpoint();
  }

  /**
   * A record of the rolled-back commit cannot be stored: the call it came in is refused whole (all
   * or nothing, as always), a record queued without a caller is dropped and reported, and every
   * other record goes again at the front of the queue, at once.
   */
  private async refuseAndRetry(refusal: RecordRefusal, items: ValidRecord[], ids: string[], waiters: Waiter[]): Promise<void> {
    const owner = waiters.find((w) => w.start <= refusal.index && refusal.index < w.end);
    const [from, to] = owner ? [owner.start, owner.end] : [refusal.index, refusal.index + 1];
    const error = owner ? named(refusal.error, owner, refusal.index) : refusal.error;
    owner?.reject(error);
    this.emit('flush-error', error, { retrying: false, records: to - from });
    const shift = (w: Waiter): Waiter => (w.start >= to ? { ...w, start: w.start - (to - from), end: w.end - (to - from) } : w);
    const kept = items.length - (to - from);
    this.items = items.slice(0, from).concat(items.slice(to), this.items);
    this.ids = ids.slice(0, from).concat(ids.slice(to), this.ids);
    this.waiters = waiters
      .filter((w) => w !== owner)
      .map(shift)
      .concat(this.waiters.map((w) => ({ ...w, start: w.start + kept, end: w.end + kept })));
    if (this.items.length > 0) await this.flushNow();
  }

  /**
   * A flush failed for a full disk or an I/O error. Callers waiting for an acknowledgement are
   * answered now (nothing of theirs was stored; they retry after Retry-After) and their records
   * leave the queue; records accepted fire-and-forget stay queued and are written when space
   * returns. Writing is retried every STORAGE_RETRY_MS.
   */
  private storageFailed(kind: 'full' | 'io', err: Error, items: ValidRecord[], ids: string[], waiters: Waiter[]): void {
    if (this.storage === null) {
      this.metrics.storageFailures++;
      this.storage = { kind, message: err.message, since: this.clock() };
      this.emit('storage-error', this.storageProblem);
    }
    const allItems = items.concat(this.items);
    const allIds = ids.concat(this.ids);
    const allWaiters = waiters.concat(this.waiters.map((w) => ({ ...w, start: w.start + items.length, end: w.end + items.length })));
    const acknowledged = new Uint8Array(allItems.length);
    for (const w of allWaiters) acknowledged.fill(1, w.start, w.end);
    this.items = allItems.filter((_, i) => acknowledged[i] === 0);
    this.ids = allIds.filter((_, i) => acknowledged[i] === 0);
    this.waiters = [];
    const refusal = this.storageRefusal();
    for (const w of allWaiters) w.reject(refusal);
    this.armStorageRetry();
  }

  private armStorageRetry(): void {
    if (this.storageTimer !== null || this.closed) return;
    this.storageTimer = setTimeout(() => {
      this.storageTimer = null;
      void this.retryStorage();
    }, STORAGE_RETRY_MS);
  }

  /** Tries to write again: the queued records if any, else a probe transaction. */
  private async retryStorage(): Promise<void> {
    if (this.storage === null || this.closed) return;
    try {
      if (this.items.length > 0) await this.flush();
      else {
        this.stmt.probe();
        this.storageRecovered();
      }
    } catch {
      // still failing: storageFailed (flush) or below (probe) keeps the state
    }
    if (this.storage !== null) this.armStorageRetry();
  }

  private storageRecovered(): void {
    const was = this.storage;
    this.storage = null;
    if (this.storageTimer !== null) clearTimeout(this.storageTimer);
    this.storageTimer = null;
    this.emit('storage-ok', { since: was?.since ?? null, downMs: was === null ? 0 : this.clock() - was.since });
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

  /** Month-to-date entry for a customer × service in the month of `month`. */
  private monthEntry(month: number, customerId: string, service: string): MonthToDate {
    const current = this.monthToDate.get(customerId, service);
    if (current !== undefined && current.month === month) return current;
    // Another month (a backfill, or the month turned): keep the current one, look this one up.
    const cs = `${customerId}\u0000${service}`;
    const key = `${month}\u0000${cs}`;
    let entry = this.otherMonths.get(key);
    if (entry === undefined) {
      const row = this.stmt.monthQuantity.get(month, customerId, service) as { hi: number; lo: number } | undefined;
      const def = this.registry.services.get(service);
      const scale = 10 ** (def === undefined ? 0 : decimalsOf(def));
      const qty = joinLimbs(row?.hi, row?.lo);
      entry = { month, qty, qtySafe: safeOrMinus1(qty), scale, flush: -1, hour: -1, fold: null };
    }
    if (current === undefined || month > current.month) {
      this.monthToDate.set(customerId, service, entry);
      if (current !== undefined) this.otherMonths.set(`${current.month}\u0000${cs}`, current);
      this.otherMonths.delete(key);
    } else {
      this.otherMonths.set(key, entry);
    }
    return entry;
  }

  private insertStatement(rows: number): BetterSqlite3.Statement {
    let stmt = this.insertByRows.get(rows);
    if (stmt === undefined) {
      stmt = this.sqlite.prepare(`${INSERT_HEAD} VALUES ${new Array(rows).fill(this.rowSql).join(', ')}`);
      this.insertByRows.set(rows, stmt);
    }
    return stmt;
  }

  /**
   * Runs rows of `columns` parameters each in statements of up to `maxRows` rows; `sqlFor(k)` is
   * the statement for k rows, prepared once per k and kept in `cache`.
   */
  private runMultiRow(
    params: unknown[],
    columns: number,
    maxRows: number,
    cache: Map<number, BetterSqlite3.Statement>,
    sqlFor: (rows: number) => string,
  ): void {
    const total = params.length / columns;
    for (let at = 0; at < total; at += maxRows) {
      const k = Math.min(maxRows, total - at);
      let stmt = cache.get(k);
      if (stmt === undefined) {
        stmt = this.sqlite.prepare(sqlFor(k));
        cache.set(k, stmt);
      }
      stmt.run(k === total ? params : params.slice(at * columns, (at + k) * columns));
    }
  }

  private upsertRollups(params: unknown[]): void {
    this.runMultiRow(params, ROLLUP_COLUMNS, ROLLUP_ROWS, this.rollupByRows, (k) =>
      UPSERT_ROLLUP.replace(ROLLUP_ROW, new Array(k).fill(ROLLUP_ROW).join(', ')),
    );
  }

  private upsertHistogram(params: unknown[]): void {
    this.runMultiRow(params, HISTOGRAM_COLUMNS, HISTOGRAM_ROWS, this.histogramByRows, upsertHistogramSql);
  }

  /** One IMMEDIATE transaction: price and insert every record, then upsert the folded rollups. */
  private commit(items: ValidRecord[], ids: string[]): { costs: Float64Array; inserted: Uint8Array; touched: FlushInfo['touched'] } {
    const { insertOne } = this.stmt;
    const registry = this.registry;
    const n = items.length;
    const costs = new Float64Array(n); // unboxed: no heap number per record
    const inserted = new Uint8Array(n);
    const hourly: Fold[] = [];
    const hourlyByKey = new Map<string, Fold>();
    const flushNo = ++this.flushCount;
    // Bounded memory for backfills; cleared only between transactions, when the rollups are exact.
    if (this.otherMonths.size > 10_000) this.otherMonths.clear();
    // Records with writer-made ids cannot collide: they go in multi-row INSERTs (measured in the
    // writer: ~15 % less commit time than one prepared single-row INSERT per record). A
    // caller-supplied id may be a retry: single-row, duplicates ignored.
    const params: unknown[] = new Array(ROWS_PER_INSERT * COLUMNS);
    let buffered = 0;
    let duplicates = 0;

    const run = this.sqlite.transaction(() => {
      for (let i = 0; i < n; i++) {
        const r = items[i]!;
        const month = this.monthStartOf(r.recordedAt);
        const entry = this.monthEntry(month, r.customerId, r.service);
        // Month-to-date units: in doubles while they are safe integers (exact), else in BigInt.
        const units = r.units;
        const u = Number(units);
        const beforeSafe = entry.qtySafe;
        const afterSafe = beforeSafe >= 0 && u <= Number.MAX_SAFE_INTEGER ? beforeSafe + u : -1;
        const safe = afterSafe >= 0 && afterSafe <= Number.MAX_SAFE_INTEGER;
        const before = safe ? 0n : beforeSafe >= 0 ? BigInt(beforeSafe) : entry.qty;
        const after = safe ? 0n : before + units;
        const price = registry.priceAt(r.service, r.recordedAt);
        // Percentage and per-dimension prices charge each event on its metadata (pricing.ts).
        const queued = price.perEvent === undefined ? undefined : queuedCharges.get(r);
        const own =
          price.perEvent === undefined ? null : queued?.price === price ? queued.own : chargeEvent(price, r.quantity, r.metadataJson);
        // count / max / unique_count / latest services price their month's aggregate, not the sum.
        const agg = this.aggregation.step(registry.services.get(r.service), r, month);
        const afterBase = agg === null ? (safe ? afterSafe : Number(after)) / entry.scale : agg.after;
        const beforeBase = agg === null ? (safe ? beforeSafe : Number(before)) / entry.scale : agg.before;
        const cost = own === null ? price.charge(afterBase) - price.charge(beforeBase) : own.cost;
        checkCost(r, cost, i);
        const unitPrice = own === null ? price.unitPriceAt(afterBase) : own.unitPrice;
        if (r.id !== null) {
          if (
            insertOne.run(ids[i], r.recordedAt, r.customerId, r.userId, r.service, r.units, unitPrice, cost, r.metadataJson, r.source)
              .changes === 0
          ) {
            duplicates++;
            costs[i] = 0;
            continue;
          }
        } else {
          let p = buffered * COLUMNS;
          params[p++] = ids[i];
          params[p++] = r.recordedAt;
          params[p++] = r.customerId;
          params[p++] = r.userId;
          params[p++] = r.service;
          params[p++] = r.units;
          params[p++] = unitPrice;
          params[p++] = cost;
          params[p++] = r.metadataJson;
          params[p] = r.source;
          if (++buffered === ROWS_PER_INSERT) {
            this.insertStatement(ROWS_PER_INSERT).run(params);
            buffered = 0;
          }
        }
        if (safe) entry.qtySafe = afterSafe;
        else {
          entry.qty = after;
          entry.qtySafe = -1;
        }
        agg?.apply();
        inserted[i] = 1;
        costs[i] = cost;

        const hour = hourStart(r.recordedAt);
        let f = entry.flush === flushNo && entry.hour === hour ? entry.fold : null;
        if (f === null) {
          const key = `${hour}\u0000${r.customerId}\u0000${r.service}`;
          f = hourlyByKey.get(key) ?? null;
          if (f === null) {
            f = {
              customerId: r.customerId,
              service: r.service,
              bucket: hour,
              count: 0,
              sumQuantity: 0n,
              sumSafe: 0,
              values: new Map(),
              sumCost: 0,
              min: r.units,
              max: r.units,
            };
            hourlyByKey.set(key, f);
            hourly.push(f);
          }
          entry.flush = flushNo;
          entry.hour = hour;
          entry.fold = f;
        }
        f.count++;
        const sum = f.sumSafe + u;
        if (u <= Number.MAX_SAFE_INTEGER && sum <= Number.MAX_SAFE_INTEGER) f.sumSafe = sum;
        else f.sumQuantity += units;
        f.values.set(units, (f.values.get(units) ?? 0) + 1);
        f.sumCost += cost;
        if (units < f.min) f.min = units;
        if (units > f.max) f.max = units;
      }
      if (buffered > 0) this.insertStatement(buffered).run(params.slice(0, buffered * COLUMNS));
      for (const f of hourly) {
        if (f.sumSafe !== 0) f.sumQuantity += BigInt(f.sumSafe);
        f.sumSafe = 0;
      }

      // Coarser periods fold from the hourly folds: a few rows, not one pass per record.
      // Rollup rows go in multi-row upserts (unlike the inserts above: measured, 80 rollup rows
      // as one statement cost half of 80 single-row upserts, most of a small commit's time).
      const rows: unknown[] = [];
      for (const f of hourly) pushRollup(rows, 'hour', f);
      // The day's histogram: the hours of one day × customer × service counted together, then
      // one row per distinct quantity, in multi-row upserts.
      const hist: unknown[] = [];
      const days = new Map<string, { service: string; day: number; customerId: string; values: Map<bigint, number> }>();
      for (const f of hourly) {
        const day = dayStart(f.bucket);
        const key = `${day}\u0000${f.customerId}\u0000${f.service}`;
        const d = days.get(key);
        if (d === undefined) days.set(key, { service: f.service, day, customerId: f.customerId, values: f.values });
        else for (const [q, c] of f.values) d.values.set(q, (d.values.get(q) ?? 0) + c);
      }
      for (const d of days.values()) for (const [q, c] of d.values) hist.push(d.service, d.day, d.customerId, q, c);
      this.upsertHistogram(hist);
      const coarse: Array<['day' | 'week' | 'month', (ms: number) => number]> = [
        ['day', dayStart],
        ['week', weekStart],
        ['month', (ms) => this.monthStartOf(ms)],
      ];
      for (const [period, start] of coarse) {
        const folds = new Map<string, Fold>();
        for (const h of hourly) {
          const bucket = start(h.bucket);
          const key = `${bucket}\u0000${h.customerId}\u0000${h.service}`;
          const f = folds.get(key);
          if (f === undefined) folds.set(key, { ...h, bucket });
          else {
            f.count += h.count;
            f.sumQuantity += h.sumQuantity;
            f.sumCost += h.sumCost;
            if (h.min < f.min) f.min = h.min;
            if (h.max > f.max) f.max = h.max;
          }
        }
        for (const f of folds.values()) pushRollup(rows, period, f);
      }
      this.upsertRollups(rows);
    });
    run.immediate();
    this.metrics.ingested += n - duplicates;
    this.metrics.duplicates += duplicates;
    const seen = new Map<string, { customerId: string; service: string }>();
    for (const f of hourly) seen.set(`${f.customerId}\u0000${f.service}`, { customerId: f.customerId, service: f.service });
    return { costs, inserted, touched: [...seen.values()] };
  }

  /**
   * Runs a correction (src/storage/corrections.ts) in its own IMMEDIATE transaction between two
   * flushes, with the price book in force. It re-prices records, so the month-to-date figures
   * are re-read from the rollups afterwards.
   */
  async correct<T>(fn: (sqlite: BetterSqlite3.Database, registry: Registry, ctx: ValidationContext) => T): Promise<T> {
    if (this.closed) throw new TallyError('unavailable', 'the writer is closed');
    await this.flush();
    if ((this.stmt.dataVersion.get() as number) !== this.dataVersion) await this.refresh();
    while (this.flushing) await this.flushing;
    try {
      return this.sqlite.transaction(() => fn(this.sqlite, this.registry, this.context())).immediate();
    } finally {
      this.monthToDate.clear();
      this.aggregation.reset();
      this.otherMonths.clear();
    }
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

  /**
   * All or nothing across many commits: `fn` may call recordMany any number of times (each
   * commit becomes a savepoint) and everything is committed when it resolves, or rolled back
   * when it throws. Bulk imports stream a file through this with bounded memory. The writer
   * must not be shared meanwhile (other callers' records would join the transaction).
   */
  async atomically<T>(fn: () => Promise<T>): Promise<T> {
    await this.flush();
    this.sqlite.exec('BEGIN IMMEDIATE');
    this.uncommitted = 0;
    try {
      const result = await fn();
      await this.flush();
      this.sqlite.exec('COMMIT');
      this.checkpointer?.committed(this.uncommitted);
      return result;
    } catch (err) {
      if (this.sqlite.inTransaction) this.sqlite.exec('ROLLBACK');
      // The rolled-back records advanced the month-to-date figures: re-read them from the rollups.
      this.monthToDate.clear();
      this.aggregation.reset();
      this.otherMonths.clear();
      throw err;
    } finally {
      this.uncommitted = null;
    }
  }

  /** Sets the connection's page cache (KiB): a bulk import keeps its process small with less. */
  setCacheKiB(kib: number): void {
    this.sqlite.pragma(`cache_size = -${Math.max(1024, Math.floor(kib))}`);
  }

  /** Flushes what is queued, checkpoints, and refuses further records. Does not close the database. */
  async close(): Promise<void> {
    if (this.closed) return;
    if (this.immediate) clearImmediate(this.immediate);
    this.immediate = null;
    if (this.soon) clearTimeout(this.soon);
    this.soon = null;
    try {
      await this.flush();
    } catch (err) {
      // The disk is still full: one last try failed. Say how many accepted records are lost.
      if (this.storage === null) throw err;
      this.unstoredAtClose = this.items.length;
    }
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.idleTimer) clearTimeout(this.idleTimer);
    if (this.storageTimer) clearTimeout(this.storageTimer);
    if (this.checkpointer) {
      await this.checkpointer.close();
      this.sqlite.pragma('wal_autocheckpoint = 1000'); // SQLite's default, for whoever uses the connection next
    }
    if (this.storage === null) this.checkpoint();
  }
}

export async function loadRegistry(tdb: TallyDb): Promise<Registry> {
  const [services, rules] = await Promise.all([listServices(tdb.db), listPriceRules(tdb.db)]);
  return new Registry(services, rules);
}
