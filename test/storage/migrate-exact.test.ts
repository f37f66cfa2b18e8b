// Migration 0009: REAL quantities become integer units, and rollups become exact two-limb sums,
// recomputed from the live raw records where the bucket still has them all.
import BetterSqlite3 from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { migrate } from '../../src/storage/migrate';

const HOUR = Date.UTC(2026, 1, 10, 9); // a Tuesday; its ISO week starts on Monday the 9th

function before(): BetterSqlite3.Database {
  const db = new BetterSqlite3(':memory:');
  migrate(db, { target: 7 });
  db.exec(`INSERT INTO services (name, display_name, base_unit, display_unit, display_factor, integer_only, created_at) VALUES
    ('compute', 'Compute', 'CPU-seconds', 'CPU-hours', 3600, 0, 0), ('storage', 'Storage', 'byte-seconds', 'GB-hours', 3865470566400, 1, 0)`);
  const ins = db.prepare(
    `INSERT INTO usage_records (id, recorded_at, customer_id, host_id, service, quantity, unit_price, cost_nanos, source, voided_at)
     VALUES (?, ?, 'c', 'h', ?, ?, '0', 1, 's', ?)`,
  );
  ins.run('a', HOUR + 5, 'compute', 1.234567, null);
  ins.run('b', HOUR + 7, 'compute', 0.5, null);
  ins.run('v', HOUR + 8, 'compute', 9, 1); // voided: not in any rollup
  ins.run('d', HOUR + 9, 'storage', 2 ** 52, null);
  const roll = db.prepare('INSERT INTO rollups VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)');
  // Drifted REAL sums, as the old writer left them.
  roll.run('hour', HOUR, 'c', 'compute', 2, 1.7345670000000002, 2, 0.5, 1.234567);
  roll.run('month', Date.UTC(2026, 1, 1), 'c', 'compute', 2, 1.7345669999999998, 2, 0.5, 1.234567);
  roll.run('week', Date.UTC(2026, 1, 9), 'c', 'storage', 1, 2 ** 52, 1, 2 ** 52, 2 ** 52);
  // A month whose records were archived: only the rollup is left, converted as it stands.
  roll.run('month', Date.UTC(2025, 0, 1), 'c', 'compute', 5, 3.5, 5, 0.5, 1.25);
  return db;
}

describe('migration 0009 (exact quantities)', () => {
  it('converts quantities to integer units and rollups to exact limbs', () => {
    const db = before();
    migrate(db);
    const q = db.prepare('SELECT id, quantity FROM usage_records ORDER BY id').all();
    expect(q).toEqual([
      { id: 'a', quantity: 1_234_567 },
      { id: 'b', quantity: 500_000 },
      { id: 'd', quantity: 2 ** 52 },
      { id: 'v', quantity: 9_000_000 },
    ]);
    const rows = db
      .prepare(
        'SELECT period, bucket_start AS b, service, event_count AS n, sum_quantity_hi AS hi, sum_quantity_lo AS lo, min_quantity AS mn, max_quantity AS mx FROM rollups ORDER BY b, period',
      )
      .all();
    expect(rows).toEqual([
      { period: 'month', b: Date.UTC(2025, 0, 1), service: 'compute', n: 5, hi: 0, lo: 3_500_000, mn: 500_000, mx: 1_250_000 },
      { period: 'month', b: Date.UTC(2026, 1, 1), service: 'compute', n: 2, hi: 0, lo: 1_734_567, mn: 500_000, mx: 1_234_567 },
      { period: 'week', b: Date.UTC(2026, 1, 9), service: 'storage', n: 1, hi: 2 ** 20, lo: 0, mn: 2 ** 52, mx: 2 ** 52 },
      { period: 'hour', b: HOUR, service: 'compute', n: 2, hi: 0, lo: 1_734_567, mn: 500_000, mx: 1_234_567 },
    ]);
    expect(db.prepare("SELECT typeof(quantity) FROM usage_records WHERE id = 'a'").pluck().get()).toBe('integer');
  });
});
