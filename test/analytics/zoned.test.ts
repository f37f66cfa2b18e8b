// Days and months in a customer's zone equal a recomputation from the raw records with the
// zone's real midnights: America/New_York across the November DST change, Asia/Kolkata (+5:30).
import { describe, expect, it } from 'vitest';
import { zonedReport, zonedSums } from '../../src/analytics/zoned';
import { zonedMonth } from '../../src/core/zone';
import { checkAlerts, DEFAULT_THRESHOLDS } from '../../src/quotas/alerts';
import { setQuota } from '../../src/quotas/quotas';
import { setCustomerZone } from '../../src/storage/repos/zones';
import { fixedClock, testDb, testWriter } from '../helpers/db';

const START = Date.UTC(2026, 9, 30);
const END = Date.UTC(2026, 11, 2);

async function month() {
  const tdb = await testDb();
  const clock = fixedClock(Date.UTC(2026, 11, 5));
  const writer = await testWriter(tdb, { clock: clock.now, batchSize: 5000, batchTimeoutMs: 60_000 });
  // A record every 7 minutes and 13 seconds, so every quarter of every hour holds some.
  const records = [];
  for (let t = START, i = 0; t < END; t += 433_000, i++) {
    records.push({
      service: 'bandwidth',
      quantity: 1_000_003 * (i % 97) + 17,
      customerId: i % 3 === 0 ? 'acme' : 'beta',
      recordedAt: t,
      metadata: { direction: i % 2 ? 'in' : 'out' },
    });
  }
  for (let i = 0; i < records.length; i += 5000) await writer.recordMany(records.slice(i, i + 5000));
  await writer.close();
  const raw = tdb.sqlite
    .prepare('SELECT recorded_at AS at, customer_id AS c, CAST(quantity AS TEXT) AS q, cost_nanos AS cost FROM usage_records')
    .all() as Array<{ at: number; c: string; q: string; cost: number }>;
  return { tdb, raw };
}

/** Sums per local date computed the plain way: Intl's calendar date of each record. */
function recompute(
  raw: Array<{ at: number; c: string; q: string; cost: number }>,
  zone: string,
  from: number,
  to: number,
  customer?: string,
) {
  const fmt = new Intl.DateTimeFormat('en-CA', { timeZone: zone, year: 'numeric', month: '2-digit', day: '2-digit' });
  const out = new Map<string, { events: number; units: bigint; cost: bigint }>();
  for (const r of raw) {
    if (r.at < from || r.at >= to || (customer && r.c !== customer)) continue;
    const day = fmt.format(r.at);
    const a = out.get(day) ?? { events: 0, units: 0n, cost: 0n };
    a.events++;
    a.units += BigInt(r.q);
    a.cost += BigInt(r.cost);
    out.set(day, a);
  }
  return out;
}

describe.each(['America/New_York', 'Asia/Kolkata'])('a month of days in %s', (zone) => {
  it("daily totals (and the month) equal the raw records grouped by the zone's real midnights", async () => {
    const { tdb, raw } = await month();
    const { from, to } = zonedMonth(zone, '2026-11');
    for (const customer of [undefined, 'acme']) {
      const { sums } = await zonedSums(tdb.db, { zone, period: 'day', from, to, customerId: customer });
      const expected = recompute(raw, zone, from, to, customer);
      expect(sums.map((s) => s.label)).toEqual([...expected.keys()].sort());
      expect(sums.length).toBe(30);
      for (const s of sums)
        expect({ day: s.label, events: s.events, units: s.units, cost: s.costNanos }).toEqual({ day: s.label, ...expected.get(s.label)! });
      const m = await zonedSums(tdb.db, { zone, period: 'month', from, to, customerId: customer });
      const all = [...expected.values()];
      expect(m.sums).toHaveLength(1);
      expect([m.sums[0]!.events, m.sums[0]!.units, m.sums[0]!.costNanos]).toEqual([
        all.reduce((n, a) => n + a.events, 0),
        all.reduce((n, a) => n + a.units, 0n),
        all.reduce((n, a) => n + a.cost, 0n),
      ]);
    }
    const rows = await zonedReport(tdb.db, { zone, period: 'day', from, to });
    const hours = rows.map((r) => r.hours);
    if (zone === 'America/New_York')
      expect(hours[0]).toBe(25); // 1 November: EDT → EST
    else expect(new Set(hours)).toEqual(new Set([24]));
    expect(rows[0]!.start).toBe(new Date(from).toISOString());
    await tdb.close();
  });
});

describe("quotas in a customer's zone", () => {
  it("a Kolkata customer's monthly quota counts its local month", async () => {
    const { tdb, raw } = await month();
    await setCustomerZone(tdb.db, 'acme', 'Asia/Kolkata', 0);
    await setQuota(tdb.db, { customerId: 'acme', service: 'bandwidth', period: 'month', limit: 1000 }, 0);
    const now = Date.UTC(2026, 10, 30, 20); // 1 December 01:30 in Kolkata: December has begun there
    const r = await checkAlerts(tdb.db, { now, thresholds: DEFAULT_THRESHOLDS, dryRun: true, customerId: 'acme' });
    const { from, to } = zonedMonth('Asia/Kolkata', '2026-12');
    const units = raw.filter((x) => x.c === 'acme' && x.at >= from && x.at < to).reduce((n, x) => n + BigInt(x.q), 0n);
    expect(r.status[0]!.periodStart).toBe('2026-11-30T18:30:00.000Z');
    expect(r.status[0]!.usage).toBe(Number((Number(units) / 2 ** 30).toPrecision(12)));
    await tdb.close();
  });
});
