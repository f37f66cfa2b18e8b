import { describe, expect, it } from 'vitest';
import { aggregate, breakdown } from '../../src/analytics/aggregate';
import { errorRates } from '../../src/analytics/insights';
import { projection } from '../../src/analytics/projection';
import { monthStatement } from '../../src/analytics/statement';
import { nearestRank, usageStats } from '../../src/analytics/stats';
import { peaks, trends } from '../../src/analytics/trends';
import { setQuota } from '../../src/quotas/quotas';
import { setPriceRule } from '../../src/storage/repos/services';
import { setCustomerZone } from '../../src/storage/repos/zones';
import { usageReport } from '../../src/analytics/usage';
import { fixedClock, testDb, testWriter } from '../helpers/db';

const H = 3_600_000;
const DAY = 24 * H;
const NOV = Date.UTC(2026, 10, 1);
const GIB = 2 ** 30;

async function seeded() {
  const clock = fixedClock(Date.UTC(2026, 10, 16));
  const tdb = await testDb();
  const writer = await testWriter(tdb, { clock: clock.now });
  const recs = [];
  // api: day 1 → 10 requests, day 2 → 20, day 3 → 15; hour 14 of day 2 is the peak.
  for (const [day, n] of [
    [0, 10],
    [1, 20],
    [2, 15],
  ] as const) {
    for (let i = 0; i < n; i++) {
      const hour = day === 1 && i < 12 ? 14 : i % 5;
      recs.push({
        service: 'api',
        quantity: 1,
        customerId: i % 2 ? 'acme' : 'beta',
        recordedAt: NOV + day * DAY + hour * H + i,
        metadata: { endpoint: i % 3 ? '/users' : '/orders', method: 'GET' },
      });
    }
  }
  // bandwidth: quantities 1..100 GiB-ish in bytes, for percentiles.
  for (let q = 1; q <= 100; q++)
    recs.push({
      service: 'bandwidth',
      quantity: q * 1_000_000,
      customerId: 'acme',
      recordedAt: NOV + 3 * DAY + q * 1000,
      metadata: { direction: q % 4 ? 'egress' : 'ingress', interface: 'eth0' },
    });
  await writer.recordMany(recs);
  return { clock, tdb, writer };
}

describe('analytics', () => {
  it('aggregates from rollups with the seed columns, totals agreeing with the report', async () => {
    const { tdb, writer } = await seeded();
    const daily = await aggregate(tdb.db, { granularity: 'daily', from: NOV, to: NOV + 30 * DAY, service: 'api' });
    expect(daily.rows.map((r) => [r.period.slice(0, 10), r.event_count, r.total_quantity, r.total_cost, r.avg_quantity])).toEqual([
      ['2026-11-01', 10, 10, '0.0010', 1],
      ['2026-11-02', 20, 20, '0.0020', 1],
      ['2026-11-03', 15, 15, '0.0015', 1],
    ]);
    const monthly = await aggregate(tdb.db, { granularity: 'monthly', from: NOV, to: NOV + 30 * DAY });
    const report = await usageReport(tdb.db, { from: NOV, to: NOV + 30 * DAY });
    expect(monthly.totals.total_cost).toBe(report.totalCost);
    expect(monthly.totals.event_count).toBe(report.totalEvents);
    const acme = await aggregate(tdb.db, { granularity: 'hourly', from: NOV, to: NOV + DAY, customerId: 'acme' });
    expect(acme.rows.reduce((n, r) => n + r.event_count, 0)).toBe(5);
    await expect(aggregate(tdb.db, { granularity: 'yearly' as never, from: NOV, to: NOV + DAY })).rejects.toThrow(/granularity/);
    await expect(aggregate(tdb.db, { granularity: 'daily', from: NOV, to: NOV, service: 'api' })).rejects.toThrow(/to/);
    await writer.close();
    await tdb.close();
  });

  it('breaks a service down by its metadata keys', async () => {
    const { tdb, writer } = await seeded();
    const b = await breakdown(tdb.db, { service: 'api', from: NOV, to: NOV + 30 * DAY });
    expect(b.keys).toEqual(['endpoint', 'method']);
    expect(b.rows.map((r) => [r.values.endpoint, r.events])).toEqual([
      ['/users', 29],
      ['/orders', 16],
    ]);
    const bw = await breakdown(tdb.db, { service: 'bandwidth', from: NOV, to: NOV + 30 * DAY });
    expect(bw.rows.map((r) => [r.values.interface, r.values.direction, r.events])).toEqual([
      ['eth0', 'egress', 75],
      ['eth0', 'ingress', 25],
    ]);
    await expect(breakdown(tdb.db, { service: 'api', keys: ["x') --"], from: NOV, to: NOV + DAY })).rejects.toThrow(/keys\[0\]/);
    await writer.close();
    await tdb.close();
  });

  it('stats: exact nearest-rank p95/p99 over raw records, and a note when records were archived', async () => {
    const { tdb, writer } = await seeded();
    expect([nearestRank(95, 100), nearestRank(99, 100), nearestRank(95, 1)]).toEqual([95, 99, 1]);
    const s = await usageStats(tdb.db, { service: 'bandwidth', from: NOV, to: NOV + 30 * DAY });
    expect(s.totalEvents).toBe(100);
    expect(s.p95).toBeCloseTo((95 * 1_000_000) / GIB, 12);
    expect(s.p99).toBeCloseTo((99 * 1_000_000) / GIB, 12);
    expect(s.percentileMethod).toBe('nearest-rank');
    expect(s.note).toBeNull();
    tdb.sqlite.prepare("DELETE FROM usage_records WHERE service = 'bandwidth' AND quantity <= 10000000").run();
    // Whole days: the day rollups and the quantity histogram still hold the archived records.
    const kept = await usageStats(tdb.db, { service: 'bandwidth', from: NOV, to: NOV + 30 * DAY });
    expect([kept.totalEvents, kept.p95, kept.archivedEvents, kept.note]).toEqual([100, s.p95, 0, null]);
    // An edge inside a day without archived records: whole days from the histogram, the edge raw.
    const edged = await usageStats(tdb.db, { service: 'bandwidth', from: NOV, to: NOV + 30 * DAY - 1 });
    expect([edged.totalEvents, edged.p95, edged.archivedEvents, edged.note]).toEqual([100, s.p95, 0, null]);
    // An edge inside the day that held the archived records: only the raw records can answer,
    // and the note says what they lack.
    const after = await usageStats(tdb.db, { service: 'bandwidth', from: NOV + 3 * DAY + 1, to: NOV + 30 * DAY });
    expect(after.archivedEvents).toBe(10);
    expect(after.note).toMatch(/10 records in this range were archived/);
    await expect(usageStats(tdb.db, { service: 'nope', from: NOV, to: NOV + DAY })).rejects.toThrow(/service/);
    await writer.close();
    await tdb.close();
  });

  it('trends day over day, and peaks by hour and day', async () => {
    const { tdb, writer } = await seeded();
    const t = await trends(tdb.db, { service: 'api', from: NOV, to: NOV + 4 * DAY });
    expect(t.rows.map((r) => [r.day, r.usage, r.previous, r.changePercent])).toEqual([
      ['2026-11-01', 10, 0, null],
      ['2026-11-02', 20, 10, 100],
      ['2026-11-03', 15, 20, -25],
      ['2026-11-04', 0, 15, -100],
    ]);
    // The first day of a range compares with the day before it; the day holding `now` is partial and
    // compared with the same whole hours of the day before (Nov 2 to 10:00 had 8, Nov 3 to 10:00 has 15).
    const p = await trends(tdb.db, { service: 'api', from: NOV + DAY, to: NOV + 3 * DAY, now: NOV + 2 * DAY + 10.5 * H });
    expect(p.rows.map((r) => [r.day, r.usage, r.previous, r.changePercent, r.partial, r.comparedTo])).toEqual([
      ['2026-11-02', 20, 10, 100, false, null],
      ['2026-11-03', 15, 8, 87.5, true, '10:00'],
    ]);
    const ph = await peaks(tdb.db, { service: 'api', by: 'hour', top: 2, from: NOV, to: NOV + 30 * DAY });
    expect(ph.rows[0]).toMatchObject({ rank: 1, start: '2026-11-02T14:00:00.000Z', events: 12 });
    const pd = await peaks(tdb.db, { service: 'api', by: 'day', top: 1, from: NOV, to: NOV + 30 * DAY });
    expect(pd.rows.map((r) => r.start.slice(0, 10))).toEqual(['2026-11-02']);
    await expect(peaks(tdb.db, { service: 'api', by: 'week' as never, top: 1, from: NOV, to: NOV + DAY })).rejects.toThrow(/by/);
    await writer.close();
    await tdb.close();
  });

  it('projects the month at its run rate next to the quota', async () => {
    const { clock, tdb, writer } = await seeded();
    await setQuota(tdb.db, { customerId: 'acme', service: 'api', period: 'month', limit: 40 }, clock.now());
    // 16 Nov 00:00: half the month (15 of 30 days) gone.
    const p = await projection(tdb.db, { now: clock.now(), customerId: 'acme', service: 'api' });
    expect(p.lines).toHaveLength(1);
    expect(p.lines[0]).toMatchObject({ usage: 22, projected: 44, limit: 40, percent: 55, projectedPercent: 110, projectedCost: '0.0044' });
    // A price raised now re-prices only the rest of the month: 22 × 0.0001 so far + 22 × 0.0002.
    await setPriceRule(
      tdb.db,
      { service: 'api', effectiveFrom: clock.now(), spec: { model: 'per_unit', unitPrice: '0.0002' } },
      clock.now(),
    );
    const raised = await projection(tdb.db, { now: clock.now(), customerId: 'acme', service: 'api' });
    expect(raised.lines[0]).toMatchObject({ cost: '0.0022', projectedCost: '0.0066' });
    await writer.close();
    await tdb.close();
  });

  it('error rates fall into hour and day buckets: one row per bucket and service, not per event', async () => {
    const now = Date.parse('2026-11-15T12:00:00Z');
    const tdb = await testDb();
    const writer = await testWriter(tdb, { clock: () => now });
    const at = ['2026-11-14T10:05:00Z', '2026-11-14T10:50:00Z', '2026-11-14T11:10:00Z', '2026-11-15T01:00:00Z'];
    for (const [i, t] of at.entries())
      await writer.record({
        service: 'api',
        quantity: 1,
        recordedAt: t,
        metadata: { endpoint: '/x', method: 'GET', status: i === 0 ? 500 : 200 },
      });
    const range = { from: Date.parse('2026-11-14T00:00:00Z'), to: Date.parse('2026-11-16T00:00:00Z'), limit: 10 };
    const days = await errorRates(tdb.db, { ...range, bucket: 'day' });
    expect(days.buckets.map((b) => [b.start, b.events, b.classes['5xx'] ?? 0])).toEqual([
      ['2026-11-14T00:00:00.000Z', 3, 1],
      ['2026-11-15T00:00:00.000Z', 1, 0],
    ]);
    const hours = await errorRates(tdb.db, { ...range, bucket: 'hour' });
    expect(hours.buckets.map((b) => [b.start, b.events])).toEqual([
      ['2026-11-14T10:00:00.000Z', 2],
      ['2026-11-14T11:00:00.000Z', 1],
      ['2026-11-15T01:00:00.000Z', 1],
    ]);
    await writer.close();
    await tdb.close();
  });

  it("projects a zoned customer's local day, and truncates percentages as every percentage is", async () => {
    const now = Date.parse('2026-11-15T12:00:00Z'); // 17:30 in Kolkata
    const tdb = await testDb();
    const writer = await testWriter(tdb, { clock: () => now });
    await setCustomerZone(tdb.db, 'acme', 'Asia/Kolkata', now);
    const api = (customerId: string, quantity: number, at: string) =>
      writer.record({ service: 'api', quantity, customerId, recordedAt: at, metadata: { endpoint: '/x', method: 'GET' } });
    await api('acme', 10, '2026-11-14T19:00:00Z'); // 15 November, 00:30 local: today there, yesterday in UTC
    await api('acme', 5, '2026-11-14T18:00:00Z'); // 14 November, 23:30 local: yesterday
    await api('utc', 7799, '2026-11-15T01:00:00Z');
    await setQuota(tdb.db, { customerId: 'acme', service: 'api', period: 'day', limit: 100 }, now);
    await setQuota(tdb.db, { customerId: 'utc', service: 'api', period: 'day', limit: 10_000 }, now);
    const p = await projection(tdb.db, { now, period: 'day', service: 'api' });
    expect(p.lines).toEqual([
      expect.objectContaining({ customerId: 'acme', usage: 10, periodStart: '2026-11-14T18:30:00.000Z', elapsed: 0.7292, percent: 10 }),
      // 77.99 %: 77.9, never 78 (the alert says 77 % at whole percent).
      expect.objectContaining({ customerId: 'utc', usage: 7799, periodStart: '2026-11-15T00:00:00.000Z', percent: 77.9 }),
    ]);
    await expect(projection(tdb.db, { now, service: 'nope' })).rejects.toThrow(/service: unknown service "nope"/);
    await writer.close();
    await tdb.close();
  });

  it('the statement applies minimum charges, shows overage, and its total is the sum of its lines', async () => {
    const { clock, tdb, writer } = await seeded();
    await setPriceRule(
      tdb.db,
      { service: 'api', effectiveFrom: 0, spec: { model: 'per_unit', unitPrice: '0.0001' }, minimumCharge: '1.50' },
      clock.now(),
    );
    await setQuota(tdb.db, { customerId: 'acme', service: 'api', period: 'month', limit: 20 }, clock.now());
    const s = await monthStatement(tdb.db, { month: '2026-11' });
    const acmeApi = s.lines.find((l) => l.customerId === 'acme' && l.service === 'api')!;
    expect(acmeApi).toMatchObject({ events: 22, usageCost: '0.0022', minimumTopUp: '1.4978', lineTotal: '1.5000', quota: 20, overage: 2 });
    const sum = s.lines.reduce((n, l) => n + BigInt(l.lineTotalNanos), 0n);
    expect(s.totalNanos).toBe(sum.toString());
    expect(s.customers.map((c) => c.customerId)).toEqual(['acme', 'beta']);
    await expect(monthStatement(tdb.db, { month: '2026-13' })).rejects.toThrow(/month/);
    await writer.close();
    await tdb.close();
  });
});
