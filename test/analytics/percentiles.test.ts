// p95/p99 exact by nearest rank, from the per-day quantity histogram (whole-day ranges) and from
// the raw records (edges inside a day): both equal a brute-force sort of the live records,
// per customer and overall, and stay equal after a void and an amend.
import { describe, expect, it } from 'vitest';
import { usageStats, nearestRank } from '../../src/analytics/stats';
import { amendRecord, voidRecord } from '../../src/storage/corrections';
import { fixedClock, testDb, testWriter } from '../helpers/db';

const DAY = 86_400_000;
const FROM = Date.UTC(2026, 9, 1);
const TO = Date.UTC(2026, 10, 1);

function brute(values: number[], p: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[nearestRank(p, sorted.length) - 1]!;
}

describe('percentiles', () => {
  it('match a brute-force nearest rank from the histogram and from raw records, before and after corrections', async () => {
    const tdb = await testDb();
    const clock = fixedClock(TO + DAY);
    const w = await testWriter(tdb, { clock: clock.now, batchSize: 10_000 });
    let seed = 7;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const live: Array<{ id: string; customer: string; at: number; q: number }> = [];
    const inputs = [];
    for (let i = 0; i < 6000; i++) {
      // Request-like counts with a long tail: many repeats, a few large values.
      const q = random() < 0.9 ? 1 + Math.floor(random() * 5) : Math.floor(random() * 10_000);
      const customer = i % 3 === 0 ? 'acme' : 'globex';
      const at = FROM + Math.floor(random() * (TO - FROM));
      inputs.push({ service: 'database', quantity: q, customerId: customer, recordedAt: at, metadata: { type: 'SELECT' } });
      live.push({ id: '', customer, at, q });
    }
    const stored = await w.recordMany(inputs);
    stored.forEach((s, i) => (live[i]!.id = s.id));

    const check = async (from: number, to: number, customerId?: string) => {
      const s = await usageStats(tdb.db, { service: 'database', from, to, customerId });
      const values = live
        .filter((r) => r.at >= from && r.at < to && (customerId === undefined || r.customer === customerId))
        .map((r) => r.q);
      expect(s.totalEvents).toBe(values.length);
      expect([s.p95, s.p99]).toEqual([brute(values, 95), brute(values, 99)]);
      expect([s.min, s.max]).toEqual([Math.min(...values), Math.max(...values)]);
    };
    const ranges: Array<[number, number]> = [
      [FROM, TO], // whole days: the histogram
      [FROM + 5 * DAY, FROM + 6 * DAY],
      [FROM + 3_600_000 * 7, TO - 1234], // edges inside a day: raw records
    ];
    for (const [from, to] of ranges) {
      await check(from, to);
      await check(from, to, 'acme');
    }

    // The largest value goes away (void), another becomes the largest (amend): still exact.
    const largest = live.reduce((a, b) => (b.q > a.q ? b : a));
    await voidRecord(w, { id: largest.id, reason: 'test', actor: 'test' });
    live.splice(live.indexOf(largest), 1);
    const other = live[10]!;
    const amended = await amendRecord(w, { id: other.id, reason: 'test', actor: 'test', quantity: 50_000 });
    live.splice(live.indexOf(other), 1, { id: amended.newId!, customer: other.customer, at: other.at, q: 50_000 });
    for (const [from, to] of ranges) {
      await check(from, to);
      await check(from, to, other.customer);
    }
    // The histogram counts exactly the live records, value by value (so the whole-day path is taken).
    const hist = tdb.sqlite
      .prepare("SELECT quantity AS q, sum(n) AS n FROM quantity_histogram WHERE service = 'database' GROUP BY quantity ORDER BY quantity")
      .all();
    const counts = new Map<number, number>();
    for (const r of live) counts.set(r.q, (counts.get(r.q) ?? 0) + 1);
    expect(hist).toEqual([...counts].sort(([a], [b]) => a - b).map(([q, n]) => ({ q, n })));
    await w.close();
    await tdb.close();
  }, 60_000);
});
