// How the writer groups records into commits, and the rollups those commits write: a burst is
// committed together (the batch size makes a commit start early, it does not cap it), a quiet
// trickle still commits within the batch timeout, and rollups written in multi-row upserts equal
// the raw records in every period.
import { describe, expect, it } from 'vitest';
import { build } from '../../src/core/tracking';
import type { FlushInfo } from '../../src/storage/writer';
import { fixedClock, testDb, testWriter } from '../helpers/db';

const api = (customerId = 'default') => ({ ...build.api('/users', 'GET', 200), customerId });

describe('writer commits', () => {
  it('commits a burst queued at once in one transaction, whatever the batch size', async () => {
    const tdb = await testDb();
    const w = await testWriter(tdb, { batchSize: 10, batchTimeoutMs: 60_000 });
    const flushes: FlushInfo[] = [];
    w.on('flush', (f: FlushInfo) => flushes.push(f));
    for (let i = 0; i < 1000; i++) w.add(api());
    await new Promise<void>((resolve) => w.once('flush', () => resolve()));
    expect(flushes.map((f) => f.records)).toEqual([1000]);
    await w.close();
  });

  it('record() callers arriving together share one commit and each learns its own id', async () => {
    const tdb = await testDb();
    const w = await testWriter(tdb, { batchSize: 100, batchTimeoutMs: 60_000 });
    const stored = await Promise.all(Array.from({ length: 250 }, (_, i) => w.recordMany([api(`c-${i % 7}`), api()])));
    expect(w.metrics.flushes).toBe(1);
    const rows = tdb.sqlite.prepare('SELECT id, customer_id FROM usage_records').all() as Array<{ id: string; customer_id: string }>;
    const customerOf = new Map(rows.map((r) => [r.id, r.customer_id]));
    stored.forEach((pair, i) => {
      expect(customerOf.get(pair[0]!.id)).toBe(`c-${i % 7}`);
      expect(customerOf.get(pair[1]!.id)).toBe('default');
    });
    await w.close();
  });

  it('a single record at a low rate is committed within the batch timeout', async () => {
    const tdb = await testDb();
    const w = await testWriter(tdb, { batchSize: 100, batchTimeoutMs: 40 });
    const id = w.add(api());
    await new Promise<void>((resolve) => w.once('flush', () => resolve()));
    expect(tdb.sqlite.prepare('SELECT count(*) FROM usage_records WHERE id = ?').pluck().get(id)).toBe(1);
    await w.close();
  });

  it('writes rollups equal to the raw records when a commit touches hundreds of rollup rows', async () => {
    const tdb = await testDb();
    const clock = fixedClock(Date.UTC(2026, 10, 15, 12));
    const w = await testWriter(tdb, { batchSize: 100_000, batchTimeoutMs: 60_000, clock: clock.now });
    // 150 customers over 3 hours and two days: 150 × 3 hour rows, 150 × 2 day rows, … in one commit.
    const at = [Date.UTC(2026, 10, 14, 23, 30), Date.UTC(2026, 10, 15, 0, 10), Date.UTC(2026, 10, 15, 11, 5)];
    const records = [];
    for (let i = 0; i < 3000; i++)
      records.push({ service: 'storage', quantity: 1 + (i % 13), customerId: `cust-${i % 150}`, recordedAt: at[Math.floor(i / 150) % 3]! });
    await w.recordMany(records);
    expect(w.metrics.flushes).toBe(1);
    // A second commit adds to the same rows (the upsert's update side).
    await w.recordMany(records.slice(0, 500));
    for (const period of ['hour', 'day', 'week', 'month'] as const) {
      const rollups = tdb.sqlite
        .prepare(
          `SELECT customer_id, bucket_start, event_count AS n, sum_quantity_hi * 4294967296 + sum_quantity_lo AS q, sum_cost_nanos AS cost
           FROM rollups WHERE period = ? ORDER BY customer_id, bucket_start`,
        )
        .all(period) as Array<{ customer_id: string; bucket_start: number; n: number; q: number; cost: number }>;
      const raw = tdb.sqlite
        .prepare(
          'SELECT customer_id, count(*) AS n, sum(quantity) AS q, sum(cost_nanos) AS cost FROM usage_records GROUP BY customer_id ORDER BY customer_id',
        )
        .all() as Array<{ customer_id: string; n: number; q: number; cost: number }>;
      // Summed over each customer's buckets, every period equals the raw records.
      const byCustomer = new Map<string, { n: number; q: number; cost: number }>();
      for (const r of rollups) {
        const s = byCustomer.get(r.customer_id) ?? { n: 0, q: 0, cost: 0 };
        s.n += r.n;
        s.q += r.q;
        s.cost += r.cost;
        byCustomer.set(r.customer_id, s);
      }
      expect(raw.length).toBe(150);
      for (const r of raw) expect(byCustomer.get(r.customer_id), `${period} ${r.customer_id}`).toEqual({ n: r.n, q: r.q, cost: r.cost });
    }
    const hours = tdb.sqlite.prepare("SELECT count(*) FROM rollups WHERE period = 'hour'").pluck().get();
    expect(hours).toBe(450);
    await w.close();
  });

  it('counts every record in the day histogram when one commit spans hours, days and hundreds of quantities', async () => {
    const tdb = await testDb();
    const clock = fixedClock(Date.UTC(2026, 10, 15, 12));
    const w = await testWriter(tdb, { batchSize: 100_000, batchTimeoutMs: 60_000, clock: clock.now });
    // Three hours over two days, 4 customers, 250 distinct quantities: several multi-row upserts,
    // the same day × quantity from several hours, and a second commit adding to the same rows.
    const at = [Date.UTC(2026, 10, 14, 23, 30), Date.UTC(2026, 10, 15, 0, 10), Date.UTC(2026, 10, 15, 11, 5)];
    const records = [];
    for (let i = 0; i < 4000; i++)
      records.push({ service: 'storage', quantity: 1 + ((i * 7) % 250), customerId: `cust-${i % 4}`, recordedAt: at[i % 3]! });
    await w.recordMany(records);
    await w.recordMany(records.slice(0, 700));
    await w.recordMany(records.slice(0, 1));
    const histogram = tdb.sqlite.prepare('SELECT customer_id, day, quantity, n FROM quantity_histogram ORDER BY 1, 2, 3').all() as Array<{
      customer_id: string;
      day: number;
      quantity: number;
      n: number;
    }>;
    const raw = tdb.sqlite
      .prepare(
        `SELECT customer_id, recorded_at - recorded_at % 86400000 AS day, quantity, count(*) AS n
         FROM usage_records GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`,
      )
      .all();
    expect(raw.length).toBe(1000);
    expect(histogram).toEqual(raw);
    await w.close();
  });

  it('keeps month-to-date and rollup sums exact when they cross 2^53 within a commit and across commits', async () => {
    const tdb = await testDb();
    const clock = fixedClock(Date.UTC(2026, 10, 15, 12));
    const w = await testWriter(tdb, { batchSize: 100_000, batchTimeoutMs: 60_000, clock: clock.now });
    const big = 2 ** 51 + 3; // units: 4 of them pass 2^53
    const at = Date.UTC(2026, 10, 15, 11);
    const first = await w.recordMany(
      Array.from({ length: 6 }, (_, i) => ({ ...build.storage(1, 1), quantity: i % 2 === 0 ? big : 1, recordedAt: at })),
    );
    const second = await w.recordMany(Array.from({ length: 7 }, () => ({ ...build.storage(1, 1), quantity: big, recordedAt: at + 1 })));
    expect(first).toHaveLength(6);
    expect(second).toHaveLength(7);
    const expected = 3n * BigInt(big) + 3n + 7n * BigInt(big);
    for (const period of ['hour', 'day', 'week', 'month']) {
      const row = tdb.sqlite
        .prepare(
          "SELECT sum_quantity_hi AS hi, sum_quantity_lo AS lo, event_count AS n FROM rollups WHERE period = ? AND customer_id = 'default'",
        )
        .safeIntegers()
        .get(period) as { hi: bigint; lo: bigint; n: bigint };
      expect(row.hi * 2n ** 32n + row.lo, period).toBe(expected);
      expect(row.n).toBe(13n);
    }
    const raw = tdb.sqlite.prepare('SELECT quantity FROM usage_records').safeIntegers().all() as Array<{ quantity: bigint }>;
    expect(raw.reduce((a, r) => a + r.quantity, 0n)).toBe(expected);
    await w.close();
  });
});
