// Void and amend. The original record stays, marked voided with who, when and why; an amend
// also inserts a replacement that points to it. Both run in one transaction through the writer
// (BatchedWriter.correct), which also:
//   - re-prices the records that followed in the same customer × service × month, as if the
//     voided one had never been there (cumulative pricing, see core/pricing.ts): the month's
//     costs telescope to F(live total) again;
//   - adjusts the hour/day/week/month rollups by the exact differences, so they stay equal to
//     the sums of the live records;
//   - appends the correction to the outbox the sync targets read.
import type BetterSqlite3 from 'better-sqlite3';
import type { Kysely } from 'kysely';
import { monotonicFactory } from 'ulid';
import { invalid, TallyError } from '../core/errors';
import { chargeEvent } from '../core/pricing';
import { decimalsOf, joinLimbs } from '../core/quantity';
import { validateRecord, type ValidationContext } from '../core/records';
import type { Registry } from '../core/registry';
import { dayStart, hourStart, monthStart, nextMonthStart, toIso, weekStart } from '../core/time';
import type { CorrectionDbRow, Database } from './schema';
import { costProblem, rollupParams, UPSERT_ROLLUP, type BatchedWriter } from './writer';
import { adjustHistogram } from './histogram';
import { rebuildUniqueValues, repriceAggregate } from './aggregation';

export interface VoidRequest {
  readonly id: string;
  readonly reason: string;
  /** Who asks: "admin", "key:<id>", "cli:<user>". */
  readonly actor: string;
}

export interface AmendRequest extends VoidRequest {
  /** New values; what is left out is copied from the original. */
  readonly quantity?: number | undefined;
  readonly metadata?: Record<string, unknown> | undefined;
  readonly recordedAt?: number | string | undefined;
}

export interface CorrectionResult {
  readonly kind: 'void' | 'amend';
  readonly id: string;
  /** The replacement record of an amend. */
  readonly newId: string | null;
  readonly voidedAt: string;
  readonly voidedBy: string;
  readonly reason: string;
  /** True when the record was already voided: nothing changed (voiding is idempotent). */
  readonly alreadyVoided: boolean;
  /** Change of the months' total cost in nanos, re-pricing of later records included. */
  readonly deltaCostNanos: number;
  /** Later records whose cost changed by re-pricing. */
  readonly repriced: number;
  /** Start of each month the correction changed (the original's, and a replacement's). */
  readonly months: readonly number[];
}

interface RecordRow {
  seq: number;
  id: string;
  recorded_at: number;
  customer_id: string;
  user_id: string | null;
  host_id: string;
  service: string;
  /** Exact units (core/quantity.ts). */
  quantity: bigint;
  cost_nanos: number;
  metadata: string;
  source: string;
  voided_at: number | null;
  voided_by: string | null;
  void_reason: string | null;
}

interface Live {
  seq: number;
  recorded_at: number;
  quantity: bigint;
  cost_nanos: number;
  unit_price: string;
  metadata: string;
}

interface Group {
  readonly customerId: string;
  readonly service: string;
  readonly month: number;
}

/** Rollup change per period × bucket for one customer × service. */
interface Delta {
  period: 'hour' | 'day' | 'week' | 'month';
  bucket: number;
  customerId: string;
  service: string;
  count: number;
  quantity: bigint;
  cost: number;
  /** A record left the bucket: its min/max must be re-read. */
  removed: boolean;
  added: bigint[];
}

const newUlid = monotonicFactory();
const ID = /^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$/;

export function checkCorrection(req: { id: unknown; reason: unknown }): void {
  if (typeof req.id !== 'string' || !ID.test(req.id)) throw invalid('id', 'must be the id of an event');
  if (typeof req.reason !== 'string' || req.reason.trim().length === 0) throw invalid('reason', 'is required: say why');
  if (req.reason.length > 500) throw invalid('reason', 'must be at most 500 characters');
}

export function voidRecord(writer: BatchedWriter, req: VoidRequest): Promise<CorrectionResult> {
  checkCorrection(req);
  return writer.correct((sqlite, registry, ctx) => applyCorrection(sqlite, registry, ctx, req, null));
}

export function amendRecord(writer: BatchedWriter, req: AmendRequest): Promise<CorrectionResult> {
  checkCorrection(req);
  if (req.quantity === undefined && req.metadata === undefined && req.recordedAt === undefined) {
    throw invalid('quantity', 'an amend changes at least one of quantity, metadata, recorded_at');
  }
  return writer.correct((sqlite, registry, ctx) => applyCorrection(sqlite, registry, ctx, req, req));
}

function findRecord(sqlite: BetterSqlite3.Database, id: string): RecordRow {
  const row = sqlite
    .prepare(
      `SELECT seq, id, recorded_at, customer_id, user_id, host_id, service, CAST(quantity AS TEXT) AS quantity, cost_nanos, metadata,
              source, voided_at, voided_by, void_reason FROM usage_records WHERE id = ?`,
    )
    .get(id) as (Omit<RecordRow, 'quantity'> & { quantity: string }) | undefined;
  if (row === undefined) {
    // Archived: the record lives in an archive file, not here; correcting it needs it back first.
    const archived = sqlite
      .prepare(
        `SELECT a.archive, l.file FROM archived_ids a LEFT JOIN archive_log l ON l.sha256 = a.archive AND l.restored_at IS NULL WHERE a.id = ?`,
      )
      .get(id) as { archive: string; file: string | null } | undefined;
    if (archived) {
      const where = archived.file ?? `the archive with sha256 ${archived.archive}`;
      throw new TallyError(
        'conflict',
        `event ${id} was archived (${where}): restore it with \`tally archive restore\` before correcting it`,
        {
          field: 'id',
        },
      );
    }
    throw new TallyError('not_found', `no event with id ${id}`, { field: 'id' });
  }
  return { ...row, quantity: BigInt(row.quantity) };
}

/** The whole correction; runs inside the writer's IMMEDIATE transaction. */
function applyCorrection(
  sqlite: BetterSqlite3.Database,
  registry: Registry,
  ctx: ValidationContext,
  req: VoidRequest,
  amend: AmendRequest | null,
): CorrectionResult {
  const orig = findRecord(sqlite, req.id);
  if (orig.voided_at !== null) {
    if (amend !== null) {
      throw new TallyError(
        'conflict',
        `event ${orig.id} was already voided (${toIso(orig.voided_at)} by ${orig.voided_by}): amend its replacement instead`,
        { field: 'id' },
      );
    }
    return {
      kind: 'void',
      id: orig.id,
      newId: null,
      voidedAt: toIso(orig.voided_at),
      voidedBy: orig.voided_by ?? '',
      reason: orig.void_reason ?? '',
      alreadyVoided: true,
      deltaCostNanos: 0,
      repriced: 0,
      months: [],
    };
  }
  const decimals = decimalsOf(ctx.services.get(orig.service) ?? { integerOnly: true });
  const replacement = amend === null ? null : validateReplacement(orig, amend, ctx, decimals);
  const groups = [{ customerId: orig.customer_id, service: orig.service, month: monthStart(orig.recorded_at) }];
  if (replacement !== null && monthStart(replacement.recordedAt) !== groups[0]!.month) {
    groups.push({ customerId: orig.customer_id, service: orig.service, month: monthStart(replacement.recordedAt) });
  }
  // Records stored before the original keep their prices: only it and what followed it change.
  const from = orig.seq;
  const bases = groups.map((g) => startQuantity(sqlite, g, from));

  const now = ctx.now;
  sqlite
    .prepare('UPDATE usage_records SET voided_at = ?, voided_by = ?, void_reason = ? WHERE seq = ?')
    .run(now, req.actor, req.reason, orig.seq);
  // A unique_count service recounts the distinct values of the periods the event was in.
  rebuildUniqueValues(sqlite, ctx.services.get(orig.service), orig.customer_id, orig.recorded_at);
  let newId: string | null = null;
  let newSeq: number | null = null;
  if (replacement !== null) {
    newId = newUlid(now);
    newSeq = Number(
      sqlite
        .prepare(
          `INSERT INTO usage_records (id, recorded_at, customer_id, user_id, host_id, service, quantity, unit_price, cost_nanos, metadata, source, amends)
           VALUES (?, ?, ?, ?, ?, ?, ?, '0', 0, ?, ?, ?)`,
        )
        .run(
          newId,
          replacement.recordedAt,
          orig.customer_id,
          orig.user_id,
          orig.host_id,
          orig.service,
          replacement.units,
          replacement.metadataJson,
          orig.source,
          orig.id,
        ).lastInsertRowid,
    );
  }

  if (replacement !== null) rebuildUniqueValues(sqlite, ctx.services.get(orig.service), orig.customer_id, replacement.recordedAt);
  const deltas = new Map<string, Delta>();
  let deltaCost = -orig.cost_nanos;
  let repriced = 0;
  addDelta(deltas, groups[0]!, orig.recorded_at, -1, -orig.quantity, -orig.cost_nanos);
  // The percentile histogram counts live records too (migration 0016).
  adjustHistogram(sqlite, { service: orig.service, customerId: orig.customer_id, recordedAt: orig.recorded_at, units: orig.quantity }, -1);
  // What a target holding the records must take over: [id, cost] of each record whose cost changed.
  const costs: Array<[string, number]> = [];
  const idOf = sqlite.prepare('SELECT id FROM usage_records WHERE seq = ?').pluck();
  groups.forEach((g, i) => {
    for (const c of reprice(sqlite, registry, g, { from, base: bases[i]!, scale: 10 ** decimals, added: newSeq })) {
      const added = c.seq === newSeq;
      if (!added && c.cost !== c.oldCost) costs.push([idOf.get(c.seq) as string, c.cost]);
      addDelta(deltas, g, c.recorded_at, added ? 1 : 0, added ? c.quantity : 0n, c.cost - c.oldCost);
      if (added) adjustHistogram(sqlite, { service: g.service, customerId: g.customerId, recordedAt: c.recorded_at, units: c.quantity }, 1);
      deltaCost += c.cost - c.oldCost;
      if (!added) repriced++;
    }
  });
  applyDeltas(sqlite, [...deltas.values()]);

  sqlite
    .prepare(
      `INSERT INTO corrections (kind, record_id, record_seq, new_id, new_seq, customer_id, service, recorded_at, quantity, cost_nanos,
         delta_cost_nanos, reason, actor, at, costs) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    )
    .run(
      amend === null ? 'void' : 'amend',
      orig.id,
      orig.seq,
      newId,
      newSeq,
      orig.customer_id,
      orig.service,
      orig.recorded_at,
      Number(orig.quantity) / 10 ** decimals,
      orig.cost_nanos,
      deltaCost,
      req.reason,
      req.actor,
      now,
      JSON.stringify(costs),
    );
  return {
    kind: amend === null ? 'void' : 'amend',
    id: orig.id,
    newId,
    voidedAt: toIso(now),
    voidedBy: req.actor,
    reason: req.reason,
    alreadyVoided: false,
    deltaCostNanos: deltaCost,
    repriced,
    months: groups.map((g) => g.month),
  };
}

function validateReplacement(orig: RecordRow, amend: AmendRequest, ctx: ValidationContext, decimals: number) {
  const valid = validateRecord(
    {
      service: orig.service,
      quantity: amend.quantity ?? Number(orig.quantity) / 10 ** decimals,
      metadata: amend.metadata ?? (JSON.parse(orig.metadata) as Record<string, unknown>),
      customerId: orig.customer_id,
      userId: orig.user_id ?? undefined,
      recordedAt: amend.recordedAt ?? orig.recorded_at,
      source: orig.source,
    },
    ctx,
  );
  // An unchanged quantity is copied exactly, not through a double.
  return amend.quantity === undefined ? { ...valid, units: orig.quantity } : valid;
}

/** The group's live records from seq `from` on, in the order they were stored. */
function liveRecords(sqlite: BetterSqlite3.Database, g: Group, from: number): Live[] {
  const rows = sqlite
    .prepare(
      `SELECT seq, recorded_at, CAST(quantity AS TEXT) AS quantity, cost_nanos, unit_price, metadata FROM usage_records
       WHERE service = ? AND recorded_at >= ? AND recorded_at < ? AND customer_id = ? AND voided_at IS NULL AND seq >= ? ORDER BY seq`,
    )
    .all(g.service, g.month, nextMonthStart(g.month), g.customerId, from) as Array<Omit<Live, 'quantity'> & { quantity: string }>;
  return rows.map((r) => ({ ...r, quantity: BigInt(r.quantity) }));
}

/**
 * The month-to-date quantity the record at seq `from` was priced after: the live records stored
 * before it, plus what the month rollup holds beyond the live raw records (archived ones, which
 * count first). Sums in two limbs, like the rollups: exact past 2^63.
 */
function startQuantity(sqlite: BetterSqlite3.Database, g: Group, from: number): bigint {
  const raw = sqlite
    .prepare(
      `SELECT CAST(sum(quantity >> 32) AS TEXT) AS hi, CAST(sum(quantity & 4294967295) AS TEXT) AS lo,
              CAST(sum(CASE WHEN seq < @from THEN quantity >> 32 ELSE 0 END) AS TEXT) AS phi,
              CAST(sum(CASE WHEN seq < @from THEN quantity & 4294967295 ELSE 0 END) AS TEXT) AS plo
       FROM usage_records
       WHERE service = @service AND recorded_at >= @start AND recorded_at < @end AND customer_id = @customer AND voided_at IS NULL`,
    )
    .get({ from, service: g.service, start: g.month, end: nextMonthStart(g.month), customer: g.customerId }) as Record<
    'hi' | 'lo' | 'phi' | 'plo',
    string | null
  >;
  const rolled = sqlite
    .prepare(
      `SELECT CAST(sum_quantity_hi AS TEXT) AS hi, CAST(sum_quantity_lo AS TEXT) AS lo FROM rollups
       WHERE period = 'month' AND bucket_start = ? AND customer_id = ? AND service = ?`,
    )
    .get(g.month, g.customerId, g.service) as { hi: string; lo: string } | undefined;
  const archived = joinLimbs(rolled?.hi, rolled?.lo) - joinLimbs(raw.hi, raw.lo);
  return (archived > 0n ? archived : 0n) + joinLimbs(raw.phi, raw.plo);
}

interface Repriced {
  readonly seq: number;
  readonly recorded_at: number;
  readonly quantity: bigint;
  readonly oldCost: number;
  readonly cost: number;
}

/**
 * Prices the group's live records from seq `from` on again, in stored order, writes the costs
 * that changed and returns those records (a new replacement, stored at cost 0, is one of them).
 */
function reprice(
  sqlite: BetterSqlite3.Database,
  registry: Registry,
  g: Group,
  o: { from: number; base: bigint; scale: number; added: number | null },
): Repriced[] {
  const { from, base, scale, added } = o;
  const update = sqlite.prepare('UPDATE usage_records SET cost_nanos = ?, unit_price = ? WHERE seq = ?');
  // count / max / unique_count / latest: the whole month again, its aggregate stepped as the writer did.
  const def = registry.services.get(g.service);
  if (def !== undefined && (def.aggregation ?? 'sum') !== 'sum')
    return repriceAggregate(
      def,
      liveRecords(sqlite, g, 0),
      (at) => registry.priceAt(g.service, at),
      scale,
      added,
      (c, p, s) => update.run(c, p, s),
    );
  const changed: Repriced[] = [];
  let before = base;
  for (const r of liveRecords(sqlite, g, from)) {
    // The same charge as the writer's (writer.ts commit): cumulative, or per event on its metadata.
    const after = before + r.quantity;
    const price = registry.priceAt(g.service, r.recorded_at);
    const own = price.perEvent === undefined ? null : chargeEvent(price, Number(r.quantity) / scale, r.metadata);
    const afterBase = Number(after) / scale;
    const cost = own === null ? price.charge(afterBase) - price.charge(Number(before) / scale) : own.cost;
    // Past one record's limit the change is refused whole (the transaction rolls back), as the writer refuses such a record.
    const problem = costProblem(Number(r.quantity) / scale, g.service, cost);
    if (problem !== null)
      throw invalid('quantity', r.seq === added ? problem : `re-priced by this change, the record at seq ${r.seq}: ${problem}`);
    const unitPrice = own === null ? price.unitPriceAt(afterBase) : own.unitPrice;
    before = after;
    if (cost !== r.cost_nanos || r.unit_price !== unitPrice) update.run(cost, unitPrice, r.seq);
    if (cost !== r.cost_nanos || r.seq === added) {
      changed.push({ seq: r.seq, recorded_at: r.recorded_at, quantity: r.quantity, oldCost: r.cost_nanos, cost });
    }
  }
  return changed;
}

const PERIODS: Array<[Delta['period'], (ms: number) => number]> = [
  ['hour', hourStart],
  ['day', dayStart],
  ['week', weekStart],
  ['month', monthStart],
];

/** Adds one record's change to the deltas of its four buckets. */
function addDelta(deltas: Map<string, Delta>, g: Group, recordedAt: number, count: number, quantity: bigint, cost: number): void {
  for (const [period, start] of PERIODS) {
    const bucket = start(recordedAt);
    const key = `${period}\u0000${bucket}\u0000${g.customerId}\u0000${g.service}`;
    let d = deltas.get(key);
    if (d === undefined) {
      d = { period, bucket, customerId: g.customerId, service: g.service, count: 0, quantity: 0n, cost: 0, removed: false, added: [] };
      deltas.set(key, d);
    }
    d.count += count;
    d.quantity += quantity;
    d.cost += cost;
    if (count < 0) d.removed = true;
    if (count > 0) d.added.push(quantity);
  }
}

function applyDeltas(sqlite: BetterSqlite3.Database, deltas: readonly Delta[]): void {
  const upsert = sqlite.prepare(UPSERT_ROLLUP);
  const row = sqlite.prepare('SELECT event_count FROM rollups WHERE period = ? AND bucket_start = ? AND customer_id = ? AND service = ?');
  const remove = sqlite.prepare('DELETE FROM rollups WHERE period = ? AND bucket_start = ? AND customer_id = ? AND service = ?');
  const rawRange = sqlite
    .prepare(
      `SELECT count(*) AS n, min(quantity) AS lo, max(quantity) AS hi FROM usage_records
     WHERE service = ? AND recorded_at >= ? AND recorded_at < ? AND customer_id = ? AND voided_at IS NULL`,
    )
    .safeIntegers(true);
  const setRange = sqlite.prepare(
    'UPDATE rollups SET min_quantity = ?, max_quantity = ? WHERE period = ? AND bucket_start = ? AND customer_id = ? AND service = ?',
  );
  for (const d of deltas) {
    if (d.count === 0 && d.quantity === 0n && d.cost === 0) continue;
    // Nothing added: bounds that leave min/max as they are.
    const min = d.added.reduce((m, q) => (q < m ? q : m), MAX_I64);
    const max = d.added.reduce((m, q) => (q > m ? q : m), -MAX_I64);
    const f = { bucket: d.bucket, customerId: d.customerId, service: d.service, count: d.count, sumQuantity: d.quantity, sumCost: d.cost };
    upsert.run(rollupParams(d.period, { ...f, min, max }));
    if (!d.removed) continue;
    const keys = [d.period, d.bucket, d.customerId, d.service] as const;
    const count = (row.get(...keys) as { event_count: number }).event_count;
    if (count <= 0) {
      remove.run(...keys);
      continue;
    }
    // min/max cannot be un-folded: read them from the live records, unless some were archived.
    const end = PERIOD_END[d.period](d.bucket);
    const raw = rawRange.get(d.service, d.bucket, end, d.customerId) as { n: bigint; lo: bigint; hi: bigint };
    if (raw.n === BigInt(count)) setRange.run(raw.lo, raw.hi, ...keys);
  }
}

const MAX_I64 = 2n ** 63n - 1n;

const PERIOD_END: Record<Delta['period'], (start: number) => number> = {
  hour: (s) => s + 3_600_000,
  day: (s) => s + 86_400_000,
  week: (s) => s + 7 * 86_400_000,
  month: nextMonthStart,
};

export interface CorrectionRow {
  readonly seq: number;
  readonly kind: 'void' | 'amend';
  readonly recordId: string;
  readonly newId: string | null;
  readonly customerId: string;
  readonly service: string;
  readonly recordedAt: number;
  readonly quantity: number;
  readonly costNanos: number;
  readonly deltaCostNanos: number;
  readonly reason: string;
  readonly actor: string;
  readonly at: number;
}

/** A corrections row as the audit trail shows it (the sync outbox adds the sequences and costs). */
export function rowToCorrection(r: CorrectionDbRow): CorrectionRow {
  return {
    seq: r.seq,
    kind: r.kind,
    recordId: r.record_id,
    newId: r.new_id,
    customerId: r.customer_id,
    service: r.service,
    recordedAt: r.recorded_at,
    quantity: r.quantity,
    costNanos: r.cost_nanos,
    deltaCostNanos: r.delta_cost_nanos,
    reason: r.reason,
    actor: r.actor,
    at: r.at,
  };
}

/** The audit trail, newest first; `id` narrows it to one record (as original or replacement). */
export async function listCorrections(db: Kysely<Database>, q: { id?: string | undefined; limit: number }): Promise<CorrectionRow[]> {
  let query = db.selectFrom('corrections').selectAll().orderBy('seq', 'desc').limit(q.limit);
  if (q.id !== undefined) {
    const id = q.id;
    query = query.where((eb) => eb.or([eb('record_id', '=', id), eb('new_id', '=', id)]));
  }
  return (await query.execute()).map(rowToCorrection);
}

export interface SyncCorrectionRow extends CorrectionRow {
  readonly target: string;
  readonly state: 'delivered' | 'manual' | 'done';
  readonly note: string;
  readonly settledAt: number;
}

/** What sync targets made of the corrections; by default only those waiting for a person. */
export async function listSyncCorrections(
  db: Kysely<Database>,
  q: { target?: string | undefined; all?: boolean | undefined; limit: number },
): Promise<SyncCorrectionRow[]> {
  let query = db
    .selectFrom('sync_corrections as s')
    .innerJoin('corrections as c', 'c.seq', 's.correction_seq')
    .selectAll('c')
    .select(['s.target', 's.state', 's.note', 's.at as settled_at'])
    .orderBy('s.correction_seq', 'desc')
    .orderBy('s.target')
    .limit(q.limit);
  if (!q.all) query = query.where('s.state', '=', 'manual');
  if (q.target !== undefined) query = query.where('s.target', '=', q.target);
  return (await query.execute()).map((r) => ({
    ...rowToCorrection(r),
    target: r.target,
    state: r.state,
    note: r.note,
    settledAt: r.settled_at,
  }));
}

/** A person adjusted the vendor by hand: the manual correction is done. */
export async function markSyncCorrectionDone(db: Kysely<Database>, target: string, seq: number, now: number): Promise<void> {
  const r = await db
    .updateTable('sync_corrections')
    .set({ state: 'done', at: now })
    .where('target', '=', target)
    .where('correction_seq', '=', seq)
    .where('state', '=', 'manual')
    .executeTakeFirst();
  if (Number(r.numUpdatedRows) === 0) {
    throw new TallyError('not_found', `seq: no correction ${seq} waiting for a manual adjustment at target "${target}"`, { field: 'seq' });
  }
}
