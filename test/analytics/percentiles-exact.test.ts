// p95/p99 stay the exact nearest rank of the live records through everything that changes them:
// the writer's flushes, voids and amends (also of days already packed, and amends that move a
// record to another day), the daily maintenance packing the histogram, archive and restore. For
// an integer service (bytes) and a fractional one (CPU-seconds), per customer and overall, over
// whole UTC days, ranges with edges inside a day, a day's hours, and a month in two zones. The
// analytics worker thread (where the agent runs stats) answers the same.
import path from 'node:path';
import { build } from 'esbuild';
import { beforeAll, describe, expect, it } from 'vitest';
import { workerReads } from '../../src/analytics/heavy';
import { roundDisplay, unitsToDisplay } from '../../src/analytics/common';
import { nearestRank, usageStats } from '../../src/analytics/stats';
import { archiveRecords, restoreArchive } from '../../src/archive/archive';
import { runMaintenance } from '../../src/archive/maintenance';
import { BUILTIN_SERVICES } from '../../src/core/services';
import { zonedMonth } from '../../src/core/zone';
import { amendRecord, voidRecord } from '../../src/storage/corrections';
import type { TallyDb } from '../../src/storage/open';
import type { BatchedWriter } from '../../src/storage/writer';
import { fixedClock, tempDir, testDb, testWriter } from '../helpers/db';

const START = Date.UTC(2026, 8, 1);
const END = Date.UTC(2026, 11, 1);
const CUTOFF = Date.UTC(2026, 8, 20); // records before it get archived
const SERVICES = ['bandwidth', 'compute'] as const;
const CUSTOMERS = ['acme', 'globex', 'initech'];

interface Rec {
  service: string;
  customer: string;
  at: number;
  units: bigint;
}

const WORKER = path.resolve(__dirname, '../../dist/test-percentiles/analytics-worker.mjs');

describe('percentiles stay exact', () => {
  beforeAll(async () => {
    await build({
      entryPoints: [path.resolve(__dirname, '../../src/analytics/worker.ts')],
      outfile: WORKER,
      bundle: true,
      platform: 'node',
      format: 'esm',
      packages: 'external',
      loader: { '.sql': 'text' },
      logLevel: 'warning',
    });
  });

  it('through inserts, voids, amends, packing, archive and restore, for integer and fractional services and zoned months', async () => {
    const file = path.join(tempDir(), 'tally.db');
    const clock = fixedClock(Date.UTC(2026, 11, 15));
    let tdb: TallyDb = await testDb(file);
    let w: BatchedWriter = await testWriter(tdb, { clock: clock.now, batchSize: 37 });
    let seed = 11;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
    /** Every record not voided, archived ones included (the histogram and rollups keep those). */
    const live = new Map<string, Rec>();
    const archived = new Set<string>();

    const quantity = (service: string): number =>
      service === 'bandwidth'
        ? random() < 0.5
          ? pick([100, 200, 300, 1000]) // repeats
          : Math.floor(random() * 2 ** 40) // a long tail of distinct values
        : Math.round(random() * 3_600_000_000) / 1e6; // CPU-seconds with microseconds
    const insert = async (count: number, from = START, to = END) => {
      const inputs = Array.from({ length: count }, () => {
        const service = pick(SERVICES);
        const metadata = service === 'bandwidth' ? { interface: 'eth0', direction: 'egress' } : { instance: 'web-1' };
        return {
          service,
          quantity: quantity(service),
          customerId: pick(CUSTOMERS),
          recordedAt: from + Math.floor(random() * (to - from)),
          metadata,
        };
      });
      const stored = await w.recordMany(inputs);
      const units = tdb.sqlite.prepare('SELECT quantity FROM usage_records WHERE id = ?').pluck().safeIntegers(true);
      stored.forEach((s, i) => {
        const r = inputs[i]!;
        live.set(s.id, { service: r.service, customer: r.customerId, at: r.recordedAt, units: units.get(s.id) as bigint });
      });
    };
    const correct = async (count: number) => {
      const ids = [...live.keys()].filter((id) => !archived.has(id));
      for (let i = 0; i < count; i++) {
        const id = ids.splice(Math.floor(random() * ids.length), 1)[0]!;
        const r = live.get(id)!;
        live.delete(id);
        const u = random();
        if (u < 0.4) {
          await voidRecord(w, { id, reason: 'test', actor: 'test' });
          continue;
        }
        // An amend: a new quantity, sometimes at another time (another day's histogram).
        const q = quantity(r.service);
        const at = u < 0.7 ? r.at : START + Math.floor(random() * (END - START));
        const a = await amendRecord(w, { id, reason: 'test', actor: 'test', quantity: q, recordedAt: at });
        const units = tdb.sqlite
          .prepare('SELECT quantity FROM usage_records WHERE id = ?')
          .pluck()
          .safeIntegers(true)
          .get(a.newId!) as bigint;
        live.set(a.newId!, { ...r, at, units });
      }
    };

    const zoned = [zonedMonth('America/New_York', '2026-10'), zonedMonth('Asia/Kolkata', '2026-10')];
    const ranges: Array<{ from: number; to: number }> = [
      { from: START, to: END }, // whole days, archived ones included
      { from: Date.UTC(2026, 9, 1), to: Date.UTC(2026, 10, 1) },
      { from: Date.UTC(2026, 9, 3, 7, 13), to: Date.UTC(2026, 10, 20, 13, 1, 2, 3) }, // edges inside a day
      ...zoned, // a month in New York (edges at 04:00 / 05:00 UTC) and Kolkata (at 18:30 UTC)
      { from: Date.UTC(2026, 9, 5, 3), to: Date.UTC(2026, 9, 5, 17) }, // hours of one day
      { from: Date.UTC(2026, 8, 25, 12), to: Date.UTC(2026, 9, 7) }, // an edge in a day after the cutoff
    ];
    const defs = new Map(BUILTIN_SERVICES.map((s) => [s.name, s]));
    const check = async (stage: string) => {
      for (const service of SERVICES) {
        const def = defs.get(service)!;
        const show = (u: bigint) => roundDisplay(unitsToDisplay(def, u));
        for (const customerId of [undefined, 'acme']) {
          for (const { from, to } of ranges) {
            const s = await usageStats(tdb.db, { service, from, to, customerId });
            const units = [...live.entries()]
              .filter(
                ([, r]) => r.service === service && r.at >= from && r.at < to && (customerId === undefined || r.customer === customerId),
              )
              .filter(([id]) => !archived.has(id))
              .map(([, r]) => r.units)
              .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
            const all = [...live.values()].filter(
              (r) => r.service === service && r.at >= from && r.at < to && (customerId === undefined || r.customer === customerId),
            );
            // Archived records count where whole days answer; where the raw records must, the
            // stats cover the records left and say how many were archived.
            const covered = s.archivedEvents === 0 ? all.map((r) => r.units).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)) : units;
            const where = `${stage}: ${service} ${customerId ?? 'all'} ${new Date(from).toISOString()}…${new Date(to).toISOString()}`;
            expect(s.archivedEvents === 0 ? s.totalEvents : s.archivedEvents + units.length, where).toBe(all.length);
            const n = covered.length;
            const expected = n === 0 ? [null, null] : [show(covered[nearestRank(95, n) - 1]!), show(covered[nearestRank(99, n) - 1]!)];
            expect([s.p95, s.p99], where).toEqual(expected);
            if (n > 0) expect([s.min, s.max], where).toEqual([show(covered[0]!), show(covered[n - 1]!)]);
          }
        }
      }
    };

    await insert(1500);
    await check('inserted');
    await correct(60);
    await check('corrected');
    runMaintenance(tdb.sqlite); // the daily job: the histogram is packed
    expect(tdb.sqlite.prepare('SELECT count(*) FROM quantity_histogram').pluck().get()).toBe(0);
    await check('packed');
    // New records into packed days, corrections of packed days (negative deltas), some packed again.
    await insert(400);
    await correct(80);
    expect(tdb.sqlite.prepare('SELECT count(*) FROM quantity_histogram WHERE n < 0').pluck().get()).toBeGreaterThan(0);
    await check('deltas over packed days');

    // Archive September's first weeks: whole days still count them, raw edges in them do not.
    await w.close();
    await tdb.close();
    const out = path.join(path.dirname(file), 'old.jsonl.gz');
    const before = new Set([...live.entries()].filter(([, r]) => r.at < CUTOFF).map(([id]) => id));
    const a = await archiveRecords({ dbPath: file, cutoff: CUTOFF, out, now: clock.now() });
    expect(a.archived).toBe(before.size);
    for (const id of before) archived.add(id);
    tdb = await testDb(file);
    ranges.push({ from: Date.UTC(2026, 8, 5, 12), to: Date.UTC(2026, 9, 1) }); // an edge inside an archived day
    const s = await usageStats(tdb.db, { service: 'compute', from: Date.UTC(2026, 8, 5, 12), to: Date.UTC(2026, 9, 1) });
    expect(s.archivedEvents).toBeGreaterThan(0);
    expect(s.note).toMatch(/archived/);
    await check('archived');
    await tdb.close();
    expect((await restoreArchive({ dbPath: file, file: out, now: clock.now() })).restored).toBe(before.size);
    archived.clear();
    tdb = await testDb(file);
    w = await testWriter(tdb, { clock: clock.now, batchSize: 37 });
    await check('restored');
    await insert(300, START, CUTOFF); // into restored days
    await correct(50);
    await check('after restore');
    runMaintenance(tdb.sqlite);
    await check('packed again');
    const worker = workerReads(file, WORKER);
    for (const service of SERVICES) {
      for (const range of ranges) {
        expect(await worker.stats({ service, ...range })).toEqual(await usageStats(tdb.db, { service, ...range }));
      }
    }
    await worker.close();
    await w.close();
    await tdb.close();
  }, 120_000);
});
