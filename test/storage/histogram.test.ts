// The packed quantity histogram (migration 0018, src/storage/histogram.ts): the migration packs
// the rows of 0016 exactly as packHistogram does, packing folds deltas (negative ones too) into
// the packed rows, and QuantityCounts selects the nearest rank exactly, past 2^53 included.
import BetterSqlite3 from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { migrate } from '../../src/storage/migrate';
import { adjustHistogram, packHistogram, QuantityCounts } from '../../src/storage/histogram';

const DAY = Date.UTC(2026, 9, 5);

function blob(values: Array<number | bigint>): Buffer {
  const b = Buffer.alloc(values.length * 8);
  values.forEach((v, i) => b.writeBigInt64BE(BigInt(v), i * 8));
  return b;
}

function packed(db: BetterSqlite3.Database): unknown[] {
  return db
    .prepare(
      'SELECT service, day, customer_id, n, hex(quantities) AS q, iif(counts IS NULL, NULL, hex(counts)) AS c FROM quantity_histogram_packed ORDER BY 1, 2, 3',
    )
    .all();
}

/** (service, customer, quantity) → live count, read back from packed rows + deltas. */
function counts(db: BetterSqlite3.Database): Map<string, bigint> {
  const out = new Map<string, bigint>();
  const add = (k: string, n: bigint) => {
    const v = (out.get(k) ?? 0n) + n;
    if (v === 0n) out.delete(k);
    else out.set(k, v);
  };
  const hasPacked = db.prepare("SELECT count(*) FROM sqlite_schema WHERE name = 'quantity_histogram_packed'").pluck().get() === 1;
  for (const r of db
    .prepare(hasPacked ? 'SELECT service, day, customer_id, quantities, counts FROM quantity_histogram_packed' : 'SELECT 1 WHERE 0')
    .safeIntegers(true)
    .all() as Array<{
    service: string;
    day: bigint;
    customer_id: string;
    quantities: Buffer;
    counts: Buffer | null;
  }>) {
    for (let i = 0; i < r.quantities.length / 8; i++) {
      add(`${r.service}|${r.day}|${r.customer_id}|${r.quantities.readBigInt64BE(i * 8)}`, r.counts ? r.counts.readBigInt64BE(i * 8) : 1n);
    }
  }
  for (const r of db.prepare('SELECT service, day, customer_id, quantity, n FROM quantity_histogram').safeIntegers(true).all() as Array<{
    service: string;
    day: bigint;
    customer_id: string;
    quantity: bigint;
    n: bigint;
  }>) {
    add(`${r.service}|${r.day}|${r.customer_id}|${r.quantity}`, r.n);
  }
  return out;
}

describe('packed quantity histogram', () => {
  it('migration 0018 packs the rows of 0016 as packHistogram does, large and negative quantities included', () => {
    const rows: Array<[string, number, string, number | bigint, number]> = [
      ['storage', DAY, 'acme', 5, 1],
      ['storage', DAY, 'acme', -3, 1],
      ['storage', DAY, 'acme', 2n ** 62n, 1],
      ['storage', DAY, 'globex', 7, 1],
      ['api', DAY, 'acme', 1, 4000],
      ['api', DAY, 'acme', 2, 1],
      ['api', DAY + 86_400_000, 'acme', 1, 17],
    ];
    const migrated = new BetterSqlite3(':memory:');
    migrate(migrated, { target: 17 });
    const viaJs = new BetterSqlite3(':memory:');
    migrate(viaJs, { target: 17 });
    for (const db of [migrated, viaJs]) {
      const ins = db.prepare('INSERT INTO quantity_histogram (service, day, customer_id, quantity, n) VALUES (?, ?, ?, ?, ?)');
      for (const r of rows) ins.run(...r);
    }
    const before = counts(migrated);
    migrate(migrated);
    // packHistogram on a database that has the packed table but still its rows.
    viaJs.exec(`CREATE TEMP TABLE keep AS SELECT * FROM quantity_histogram`);
    migrate(viaJs);
    viaJs.exec('INSERT INTO quantity_histogram SELECT * FROM keep; DELETE FROM quantity_histogram_packed');
    expect(packHistogram(viaJs)).toEqual({ days: 4, deltas: rows.length });
    expect(packed(migrated)).toEqual(packed(viaJs));
    expect(packed(migrated)).toEqual([
      {
        service: 'api',
        day: DAY,
        customer_id: 'acme',
        n: 4001,
        q: '0000000000000001' + '0000000000000002',
        c: '0000000000000FA0' + '0000000000000001',
      },
      { service: 'api', day: DAY + 86_400_000, customer_id: 'acme', n: 17, q: '0000000000000001', c: '0000000000000011' },
      {
        service: 'storage',
        day: DAY,
        customer_id: 'acme',
        n: 3,
        q: 'FFFFFFFFFFFFFFFD' + '0000000000000005' + '4000000000000000',
        c: null, // every count is 1
      },
      { service: 'storage', day: DAY, customer_id: 'globex', n: 1, q: '0000000000000007', c: null },
    ]);
    expect(migrated.prepare('SELECT count(*) FROM quantity_histogram').pluck().get()).toBe(0);
    expect(counts(migrated)).toEqual(before);
  });

  it('folds deltas into packed rows: added, cancelled and new quantities, a day emptied', () => {
    const db = new BetterSqlite3(':memory:');
    migrate(db);
    const rec = (quantity: number, day = DAY, customerId = 'acme') => ({
      service: 'storage',
      customerId,
      recordedAt: day + 1234,
      units: quantity,
    });
    for (const q of [10, 20, 20, 30]) adjustHistogram(db, rec(q), 1);
    adjustHistogram(db, rec(99, DAY + 86_400_000), 1);
    packHistogram(db);
    expect(db.prepare('SELECT count(*) FROM quantity_histogram').pluck().get()).toBe(0);
    // After packing, a void of a packed quantity is a negative delta until the next packing.
    adjustHistogram(db, rec(20), -1);
    adjustHistogram(db, rec(30), -1);
    adjustHistogram(db, rec(25), 1);
    adjustHistogram(db, rec(99, DAY + 86_400_000), -1);
    expect(db.prepare('SELECT quantity, n FROM quantity_histogram ORDER BY day, quantity').raw().all()).toEqual([
      [20, -1],
      [25, 1],
      [30, -1],
      [99, -1],
    ]);
    const live = counts(db);
    expect(packHistogram(db)).toEqual({ days: 2, deltas: 4 });
    expect(counts(db)).toEqual(live);
    expect(packed(db)).toEqual([
      { service: 'storage', day: DAY, customer_id: 'acme', n: 3, q: '000000000000000A' + '0000000000000014' + '0000000000000019', c: null },
    ]);
    // Past 2^53 the merge is done in bigints: 2^60 and 2^60 + 1 stay apart.
    const huge = { service: 'storage', customerId: 'big', recordedAt: DAY, units: 2n ** 60n };
    adjustHistogram(db, huge, 1);
    adjustHistogram(db, { ...huge, units: 2n ** 60n + 2n }, 1);
    packHistogram(db);
    adjustHistogram(db, { ...huge, units: 2n ** 60n + 1n }, 1);
    adjustHistogram(db, { ...huge, units: 2n ** 60n + 2n }, -1);
    adjustHistogram(db, { ...huge, units: 2n ** 60n }, 1);
    packHistogram(db);
    expect(packed(db)[1]).toEqual({
      service: 'storage',
      day: DAY,
      customer_id: 'big',
      n: 3,
      q: '1000000000000000' + '1000000000000001',
      c: '0000000000000002' + '0000000000000001',
    });
    // A delta that would take a count below zero is a broken invariant, never packed silently.
    adjustHistogram(db, rec(777), -1);
    expect(() => packHistogram(db)).toThrow(/counts -1 records of 777/);
    db.exec('DELETE FROM quantity_histogram');
    adjustHistogram(db, rec(10), -1);
    adjustHistogram(db, rec(10), -1);
    expect(() => packHistogram(db)).toThrow(/counts -1 records of 10 \(storage, acme/);
  });

  it('QuantityCounts: nearest rank over unsorted parts, repeated and negative counts, and past 2^53', () => {
    const c = new QuantityCounts();
    c.add(blob([5, 1, 9]));
    c.add(blob([9, 3, 1]), blob([2, 3, -1])); // 9 ×3 in all, 3 ×3, 1 ×0
    c.add(null);
    // Multiset: 3 3 3 5 9 9 9  (1 cancelled out)
    expect([1, 3, 4, 5, 7].map((r) => c.select(r))).toEqual([3, 3, 5, 9, 9]);
    const big = new QuantityCounts();
    big.add(blob([2n ** 60n + 1n, 2n ** 60n, 7]));
    big.add(blob([2n ** 60n + 1n]), blob([2]));
    // 7, 2^60, 2^60+1 ×3: ranks stay exact where doubles could not tell 2^60 from 2^60 + 1.
    expect([1, 2, 3, 5].map((r) => big.select(r))).toEqual([7n, 2n ** 60n, 2n ** 60n + 1n, 2n ** 60n + 1n]);
    // Many distinct values: the same as a sort.
    let seed = 3;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const values = Array.from({ length: 5000 }, () => Math.floor(random() * 2 ** 52) * (random() < 0.1 ? -1 : 1));
    const many = new QuantityCounts();
    for (let i = 0; i < values.length; i += 700) many.add(blob(values.slice(i, i + 700)));
    const sorted = [...values].sort((a, b) => a - b);
    for (const r of [1, 17, 2500, 4750, 4950, 5000]) expect(many.select(r)).toBe(sorted[r - 1]);
  });
});
