import type BetterSqlite3 from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { archiveRecords, restoreArchive } from '../../src/archive/archive';
import { amendRecord, voidRecord } from '../../src/storage/corrections';
import { setPriceRule } from '../../src/storage/repos/services';
import { TallyError } from '../../src/core/errors';
import { joinLimbs } from '../../src/core/quantity';
import { dayStart, hourStart, monthStart, weekStart } from '../../src/core/time';
import { fixedClock, testDb, testWriter } from '../helpers/db';

const NOV = Date.UTC(2026, 10, 1);
const at = (day: number, hour = 10) => NOV + (day - 1) * 86_400_000 + hour * 3_600_000;

/** Rollups recomputed from the live raw records: every period, every bucket, every column (exact units). */
function rollupsFromRaw(sqlite: BetterSqlite3.Database): string[] {
  const rows = sqlite
    .prepare(
      'SELECT recorded_at, customer_id, service, CAST(quantity AS TEXT) AS quantity, cost_nanos FROM usage_records WHERE voided_at IS NULL',
    )
    .all() as Array<{ recorded_at: number; customer_id: string; service: string; quantity: string; cost_nanos: number }>;
  const folds = new Map<string, { n: number; q: bigint; c: number; lo: bigint; hi: bigint }>();
  const starts: Array<[string, (ms: number) => number]> = [
    ['hour', hourStart],
    ['day', dayStart],
    ['week', weekStart],
    ['month', monthStart],
  ];
  for (const r of rows) {
    const q = BigInt(r.quantity);
    for (const [p, start] of starts) {
      const key = `${p}|${start(r.recorded_at)}|${r.customer_id}|${r.service}`;
      const f = folds.get(key) ?? { n: 0, q: 0n, c: 0, lo: q, hi: q };
      f.n++;
      f.q += q;
      f.c += r.cost_nanos;
      if (q < f.lo) f.lo = q;
      if (q > f.hi) f.hi = q;
      folds.set(key, f);
    }
  }
  return [...folds].map(([k, f]) => `${k}|${f.n}|${f.q}|${f.c}|${f.lo}|${f.hi}`).sort();
}

function rollupsStored(sqlite: BetterSqlite3.Database): string[] {
  const rows = sqlite
    .prepare(
      `SELECT period, bucket_start, customer_id, service, event_count, CAST(sum_quantity_hi AS TEXT) AS hi, CAST(sum_quantity_lo AS TEXT) AS lo,
              sum_cost_nanos, min_quantity, max_quantity FROM rollups`,
    )
    .all() as Array<Record<string, string | number>>;
  return rows
    .map((r) =>
      [
        r.period,
        r.bucket_start,
        r.customer_id,
        r.service,
        r.event_count,
        joinLimbs(r.hi as string, r.lo as string),
        r.sum_cost_nanos,
        r.min_quantity,
        r.max_quantity,
      ].join('|'),
    )
    .sort();
}

const costs = (sqlite: BetterSqlite3.Database) =>
  sqlite.prepare('SELECT cost_nanos FROM usage_records WHERE voided_at IS NULL ORDER BY seq').pluck().all() as number[];

async function tiered() {
  const clock = fixedClock(at(20));
  const tdb = await testDb();
  // 1.00 per request up to 10, then 0.50: an early void moves later records into the cheaper tier's place.
  await setPriceRule(
    tdb.db,
    {
      service: 'api',
      effectiveFrom: 0,
      spec: {
        model: 'tiered',
        tiers: [
          { upTo: 10, unitPrice: '1' },
          { upTo: null, unitPrice: '0.5' },
        ],
      },
    },
    0,
  );
  const w = await testWriter(tdb, { clock: clock.now });
  const rec = (day: number, quantity = 4, endpoint = '/a') =>
    w.record({ service: 'api', quantity, metadata: { endpoint, method: 'GET' }, recordedAt: at(day), customerId: 'acme' });
  return { tdb, w, clock, rec };
}

describe('void and amend in storage', () => {
  it('voiding an early record re-prices the later ones exactly under graduated tiers, rollups equal the live raw sums', async () => {
    const { tdb, w, rec } = await tiered();
    const stored = [];
    for (let d = 1; d <= 5; d++) stored.push(await rec(d));
    expect(costs(tdb.sqlite)).toEqual([4e9, 4e9, 3e9, 2e9, 2e9]);

    const r = await voidRecord(w, { id: stored[0]!.id, reason: 'test traffic', actor: 'admin' });
    expect(r).toMatchObject({ kind: 'void', alreadyVoided: false, voidedBy: 'admin', reason: 'test traffic', repriced: 2 });
    // Live: 4 + 4 + 4 + 4 = 16 requests = 10 × 1 + 6 × 0.5 = 13; before it was 15.
    expect(costs(tdb.sqlite)).toEqual([4e9, 4e9, 3e9, 2e9]);
    expect(r.deltaCostNanos).toBe(-2e9);
    expect(rollupsStored(tdb.sqlite)).toEqual(rollupsFromRaw(tdb.sqlite));

    const orig = tdb.sqlite.prepare('SELECT voided_at, voided_by, void_reason FROM usage_records WHERE id = ?').get(stored[0]!.id);
    expect(orig).toEqual({ voided_at: at(20), voided_by: 'admin', void_reason: 'test traffic' });

    // Records after the correction are priced from the corrected month-to-date (16 → 20: 2.00).
    const later = await rec(6);
    expect(later.costNanos).toBe(2e9);
    expect(rollupsStored(tdb.sqlite)).toEqual(rollupsFromRaw(tdb.sqlite));
    await w.close();
  });

  it('voiding is idempotent: the second void changes nothing and reports the first', async () => {
    const { tdb, w, rec, clock } = await tiered();
    const a = await rec(1);
    await rec(2);
    await voidRecord(w, { id: a.id, reason: 'duplicate', actor: 'key:k1' });
    const snapshot = rollupsStored(tdb.sqlite);
    clock.advance(60_000);
    const again = await voidRecord(w, { id: a.id, reason: 'other reason', actor: 'admin' });
    expect(again).toMatchObject({ alreadyVoided: true, voidedBy: 'key:k1', reason: 'duplicate', deltaCostNanos: 0 });
    expect(rollupsStored(tdb.sqlite)).toEqual(snapshot);
    expect(tdb.sqlite.prepare('SELECT count(*) FROM corrections').pluck().get()).toBe(1);
    await w.close();
  });

  it('an amend voids the original and stores a replacement that points to it, re-pricing exactly', async () => {
    const { tdb, w, rec } = await tiered();
    const stored = [];
    for (let d = 1; d <= 4; d++) stored.push(await rec(d));
    const r = await amendRecord(w, { id: stored[1]!.id, reason: 'counted twice', actor: 'cli:ops', quantity: 1 });
    expect(r.kind).toBe('amend');
    const repl = tdb.sqlite.prepare('SELECT quantity, amends, metadata, recorded_at FROM usage_records WHERE id = ?').get(r.newId);
    expect(repl).toEqual({ quantity: 1, amends: stored[1]!.id, metadata: '{"endpoint":"/a","method":"GET"}', recorded_at: at(2) });
    // Live in stored order: 4, 4, 4, then the replacement 1 → 4 + 4 + (2×1 + 2×0.5) + 0.5 = 11.5
    expect(costs(tdb.sqlite)).toEqual([4e9, 4e9, 3e9, 0.5e9]);
    expect(r.deltaCostNanos).toBe(11.5e9 - 13e9);
    expect(rollupsStored(tdb.sqlite)).toEqual(rollupsFromRaw(tdb.sqlite));
    await w.close();
  });

  it('an amend that moves a record to another month corrects both months', async () => {
    const { tdb, w, rec } = await tiered();
    const a = await rec(2, 6);
    await rec(3, 6);
    const r = await amendRecord(w, { id: a.id, reason: 'wrong month', actor: 'admin', recordedAt: '2026-10-31T23:00:00Z' });
    expect(rollupsStored(tdb.sqlite)).toEqual(rollupsFromRaw(tdb.sqlite));
    const oct = tdb.sqlite
      .prepare("SELECT sum_quantity_lo FROM rollups WHERE period = 'month' AND bucket_start = ?")
      .pluck()
      .get(Date.UTC(2026, 9, 1));
    expect(oct).toBe(6);
    // November now holds only the second record, priced from zero: 6 requests = 6.00.
    expect(costs(tdb.sqlite)).toEqual([6e9, 6e9]);
    expect(r.deltaCostNanos).toBe(1e9); // 6 + 6 in two months against 6 + 5 in one month before
    await w.close();
  });

  it('refuses unknown ids (not_found), a missing reason (naming the field) and amending a voided record (conflict), storing nothing', async () => {
    const { tdb, w, rec } = await tiered();
    const a = await rec(1);
    const fail = async (p: Promise<unknown>) =>
      p.then(
        () => null,
        (e: TallyError) => e,
      );
    expect((await fail(voidRecord(w, { id: '01JUNKNOWN0000000000000000', reason: 'x', actor: 'admin' })))?.code).toBe('not_found');
    expect(await fail(Promise.resolve().then(() => voidRecord(w, { id: a.id, reason: ' ', actor: 'admin' })))).toMatchObject({
      field: 'reason',
    });
    expect(await fail(Promise.resolve().then(() => amendRecord(w, { id: a.id, reason: 'x', actor: 'admin', quantity: -1 })))).toMatchObject(
      { code: 'invalid_input', field: 'quantity' },
    );
    await voidRecord(w, { id: a.id, reason: 'x', actor: 'admin' });
    expect((await fail(amendRecord(w, { id: a.id, reason: 'x', actor: 'admin', quantity: 2 })))?.code).toBe('conflict');
    expect(tdb.sqlite.prepare('SELECT count(*) FROM usage_records').pluck().get()).toBe(1);
    expect(tdb.sqlite.prepare('SELECT count(*) FROM corrections').pluck().get()).toBe(1);
    expect(rollupsStored(tdb.sqlite)).toEqual(rollupsFromRaw(tdb.sqlite));
    await w.close();
  });
  it('an archived event cannot be corrected (409 naming the archive) until it is restored; voided records are never archived', async () => {
    const { tdb, w, rec } = await tiered();
    const keep = await rec(1);
    const gone = await rec(2);
    await rec(3);
    await voidRecord(w, { id: keep.id, reason: 'test', actor: 'admin' });
    const archived = await archiveRecords({ dbPath: tdb.path, cutoff: at(3, 0), now: at(20), includeUnsynced: true });
    expect(archived.archived).toBe(1); // the voided one stays in the database
    const err = await voidRecord(w, { id: gone.id, reason: 'x', actor: 'admin' }).catch((e: TallyError) => e);
    expect(err).toMatchObject({ code: 'conflict', field: 'id' });
    expect((err as TallyError).message).toMatch(/archived .*tally archive restore/);
    await restoreArchive({ dbPath: tdb.path, file: archived.file!, now: at(20) });
    expect((await voidRecord(w, { id: gone.id, reason: 'x', actor: 'admin' })).alreadyVoided).toBe(false);
    expect(rollupsStored(tdb.sqlite)).toEqual(rollupsFromRaw(tdb.sqlite));
    await w.close();
  });
});
