// Exact quantities at real scale (issue 10 item 3): every figure a user or a billing system
// reads — rollups, the report, the statement, the export and the sync payload — equals the
// sum of the raw records to the last unit, for fractional CPU-seconds, a 10 PB-month of
// storage (2.7e22 byte-seconds, past 2^63) and 10^12 requests.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { build } from '../../src/core/tracking';
import { formatUnits, joinLimbs, toUnits } from '../../src/core/quantity';
import { usageReport } from '../../src/analytics/usage';
import { monthStatement } from '../../src/analytics/statement';
import { exportRecords } from '../../src/exports/export';
import { SqliteOutbox } from '../../src/sync/store';
import { getEvent } from '../../src/storage/repos/events';
import { nativeAdapter } from '../../src/core/sync/native';
import type { TallyDb } from '../../src/storage/open';
import { fixedClock, tempDir, testDb, testWriter } from '../helpers/db';

const MONTH = Date.UTC(2026, 9, 1); // October 2026: 31 days
const NEXT = Date.UTC(2026, 10, 1);
const PERIODS = ['hour', 'day', 'week', 'month'] as const;

/** Every rollup row equals the exact sum of its live raw records (SQLite sums integers exactly below 2^63). */
function expectRollupsExact(tdb: TallyDb, service: string): void {
  const bucket: Record<(typeof PERIODS)[number], string> = {
    hour: 'recorded_at - recorded_at % 3600000',
    day: 'recorded_at - recorded_at % 86400000',
    week: '(recorded_at - recorded_at % 86400000) - ((recorded_at / 86400000 + 3) % 7) * 86400000',
    month: "CAST(strftime('%s', recorded_at / 1000, 'unixepoch', 'start of month') AS INTEGER) * 1000",
  };
  for (const period of PERIODS) {
    // Limb sums, so raw sums past 2^63 do not overflow either.
    const raw = tdb.sqlite
      .prepare(
        `SELECT ${bucket[period]} AS b, count(*) AS n, CAST(sum(quantity >> 32) AS TEXT) AS hi, CAST(sum(quantity & 4294967295) AS TEXT) AS lo,
                CAST(sum(cost_nanos) AS TEXT) AS c
         FROM usage_records WHERE service = ? GROUP BY b ORDER BY b`,
      )
      .all(service) as Array<{ b: number; n: number; hi: string; lo: string; c: string }>;
    const rolled = tdb.sqlite
      .prepare(
        `SELECT bucket_start AS b, event_count AS n, sum_quantity_hi AS hi, sum_quantity_lo AS lo, CAST(sum_cost_nanos AS TEXT) AS c
         FROM rollups WHERE period = ? AND service = ? ORDER BY b`,
      )
      .all(period, service) as Array<{ b: number; n: number; hi: number; lo: number; c: string }>;
    const show = (rows: Array<{ b: number; n: number; hi: string | number; lo: string | number; c: string }>) =>
      rows.map((r) => [r.b, r.n, joinLimbs(r.hi, r.lo).toString(), r.c]);
    expect(show(rolled), `${service} ${period}`).toEqual(show(raw));
  }
}

async function exported(tdb: TallyDb, format: 'csv' | 'json', service: string): Promise<{ text: string; summary: unknown }> {
  const out = path.join(tempDir(), `export.${format}`);
  const r = await exportRecords({ dbPath: tdb.path, format, out, from: MONTH, to: NEXT, service, now: NEXT });
  return { text: fs.readFileSync(out, 'utf8'), summary: r.summary };
}

/** The sync payload of every record of `service`, as the Tally collector would receive it, summed exactly. */
async function syncedSum(tdb: TallyDb, service: string, decimals: number): Promise<bigint> {
  const outbox = new SqliteOutbox(tdb.sqlite);
  const adapter = nativeAdapter(
    { name: 'c', kind: 'tally', url: 'http://127.0.0.1:1', token: 't', batchSize: 5000, options: {} },
    () => NEXT,
  );
  let total = 0n;
  let after = 0;
  for (;;) {
    const batch = await outbox.batch(after, 5000);
    if (batch.length === 0) return total;
    const body = adapter.request(batch, null).body!;
    // Read the wire text itself: JSON.parse would round numbers past 2^53.
    for (const m of body.matchAll(/"service":"([a-z_]+)","quantity":([0-9.]+),/g)) {
      if (m[1] === service) total += toUnits(m[2]!, decimals);
    }
    after = batch.at(-1)!.seq;
  }
}

describe('exact quantities', () => {
  it('10 000 random fractional CPU-second records: rollups, report, statement, export and sync equal the raw sum', async () => {
    const tdb = await testDb();
    const clock = fixedClock(NEXT - 1);
    const w = await testWriter(tdb, { clock: clock.now, batchSize: 997 });
    let seed = 42;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 500;
    let expected = 0n;
    const inputs = [];
    for (let i = 0; i < 10_000; i++) {
      const seconds = random(); // a double with ~15 significant digits
      expected += toUnits(seconds, 6); // CPU microseconds, rounded half up
      inputs.push({ ...build.record('compute', seconds), recordedAt: MONTH + i * 267_000 });
    }
    for (let i = 0; i < inputs.length; i += 1000) await w.recordMany(inputs.slice(i, i + 1000));
    await w.close();

    const raw = tdb.sqlite
      .prepare("SELECT CAST(sum(quantity) AS TEXT) FROM usage_records WHERE service = 'compute'")
      .pluck()
      .get() as string;
    expect(BigInt(raw)).toBe(expected);
    expectRollupsExact(tdb, 'compute');
    const text = formatUnits(expected, 6);
    const report = await usageReport(tdb.db, { from: MONTH, to: NEXT, service: 'compute' });
    expect(report.services[0]!.quantity).toBe(text);
    const statement = await monthStatement(tdb.db, { month: '2026-10' });
    expect(statement.lines.find((l) => l.service === 'compute')!.quantity).toBe(text);
    const json = await exported(tdb, 'json', 'compute');
    expect((json.summary as { services: Record<string, { quantity: string }> }).services.compute!.quantity).toBe(text);
    expect(await syncedSum(tdb, 'compute', 6)).toBe(expected);
    // The event log shows each record in CPU-seconds, to the microsecond.
    const first = await getEvent(tdb.db, tdb.sqlite.prepare('SELECT id FROM usage_records ORDER BY seq LIMIT 1').pluck().get() as string);
    expect(first!.quantity).toBe(Number(formatUnits(toUnits(inputs[0]!.quantity as number, 6), 6)));
    await tdb.close();
  }, 120_000);

  it('a 10 PB-month of storage (2.7e22 byte-seconds, past 2^63) and 10^12 requests sum exactly everywhere', async () => {
    const tdb = await testDb();
    const clock = fixedClock(NEXT - 1);
    const w = await testWriter(tdb, { clock: clock.now, batchSize: 10_000 });
    const PB10 = 10 ** 16; // bytes
    const minutes = 31 * 24 * 60;
    // One sample a minute of a 10 PB volume: 6e17 byte-seconds each, past 2^53 (a bigint in-process).
    for (let i = 0; i < minutes; i += 2000) {
      const batch = [];
      for (let m = i; m < Math.min(minutes, i + 2000); m++) {
        batch.push({ ...build.storage(PB10, 1 / 60, { metadata: { volume: '/data' } }), recordedAt: MONTH + m * 60_000 + 30_000 });
      }
      await w.recordMany(batch);
    }
    // 10^12 requests: a thousand records of a million requests each... times a thousand.
    const requests = [];
    for (let i = 0; i < 1000; i++) {
      requests.push({ ...build.api('/v1/things', 'GET', 200), quantity: 1_000_000_000, recordedAt: MONTH + i * 2_600_000 });
    }
    await w.recordMany(requests);
    await w.close();

    const storage = BigInt(PB10) * 60n * BigInt(minutes); // 26 784 000 000 000 000 000 000
    expect(storage > 2n ** 63n).toBe(true);
    expectRollupsExact(tdb, 'storage');
    expectRollupsExact(tdb, 'api');

    const report = await usageReport(tdb.db, { from: MONTH, to: NEXT });
    const line = (s: string) => report.services.find((l) => l.service === s)!;
    expect(line('storage').quantity).toBe('26784000000000000000000');
    expect(line('api').quantity).toBe('1000000000000');
    // 0.0001 per request: exactly 100 000 000 (10^17 nanos, past 2^53).
    expect(line('api').cost).toBe('100000000.0000');
    // 0.001 per GiB-hour: 2.678e22 / (2^30 × 3600) GiB-hours, to the nano.
    const storageCost = (storage * 1_000_000n * 2n + 2n ** 30n * 3600n) / (2n * 2n ** 30n * 3600n);
    expect(line('storage').cost).toBe(formatNanosText(storageCost));

    const statement = await monthStatement(tdb.db, { month: '2026-10' });
    expect(statement.lines.find((l) => l.service === 'storage')!.quantity).toBe('26784000000000000000000');
    expect(statement.lines.find((l) => l.service === 'api')!.quantity).toBe('1000000000000');

    const csv = await exported(tdb, 'csv', 'storage');
    const rows = csv.text.trim().split('\r\n').slice(1);
    expect(rows).toHaveLength(minutes);
    // base_quantity, fifth from the end (metadata before it holds commas).
    expect(rows.every((r) => r.split(',').at(-5) === '600000000000000000')).toBe(true);
    const json = await exported(tdb, 'json', 'api');
    expect((json.summary as { services: Record<string, { quantity: string }> }).services.api!.quantity).toBe('1000000000000');

    expect(await syncedSum(tdb, 'storage', 0)).toBe(storage);
    const sample = await getEvent(
      tdb.db,
      tdb.sqlite.prepare("SELECT id FROM usage_records WHERE service = 'storage' LIMIT 1").pluck().get() as string,
    );
    expect(String(sample!.quantity)).toBe('600000000000000000'); // a number only where a double is exact
    expect(await syncedSum(tdb, 'api', 0)).toBe(10n ** 12n);
    await tdb.close();
  }, 180_000);
});

function formatNanosText(nanos: bigint): string {
  const frac = (nanos % 1_000_000_000n).toString().padStart(9, '0').replace(/0+$/, '');
  return `${nanos / 1_000_000_000n}.${frac.padEnd(4, '0')}`;
}
