// The analytics worker thread stops when no read needs it and starts again for the next one:
// a reader never sees the difference (same answers, in sequence or at once, and after a stop).
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { workerReads, type HeavyReads } from '../../src/analytics/heavy';
import { usageStats } from '../../src/analytics/stats';
import type { TallyDb } from '../../src/storage/open';
import { tempDir, testDb, testWriter } from '../helpers/db';

const WORKER = path.resolve('dist/analytics-worker.mjs'); // built by npm run build:cli (the test setup)
const RANGE = { from: Date.UTC(2026, 0, 1), to: Date.UTC(2026, 1, 1) };

describe('the analytics worker stopped between reads', () => {
  let tdb: TallyDb;
  let reads: HeavyReads;

  beforeAll(async () => {
    const file = path.join(tempDir('tally-heavy-idle-'), 'tally.db');
    tdb = await testDb(file);
    const writer = await testWriter(tdb);
    await writer.recordMany(
      Array.from({ length: 500 }, (_, i) => ({
        service: 'api',
        quantity: 1,
        recordedAt: RANGE.from + i * 60_000,
        metadata: { endpoint: `/x/${i % 7}`, method: 'GET', status: 200, latencyMs: i % 97 },
      })),
    );
    await writer.close();
    reads = workerReads(file, WORKER, 0); // stops as soon as no read is pending
  });

  afterAll(async () => {
    await reads?.close();
    await tdb?.close();
  });

  it('answers every read, one after another and several at once, as the inline computation does', async () => {
    const inline = JSON.parse(JSON.stringify(await usageStats(tdb.db, { service: 'api', ...RANGE })));
    expect(inline.totalEvents).toBe(500);
    for (let i = 0; i < 3; i++) {
      expect(JSON.parse(JSON.stringify(await reads.stats({ service: 'api', ...RANGE })))).toEqual(inline);
      await new Promise((r) => setTimeout(r, 20)); // the idle stop runs in between
    }
    const together = await Promise.all([1, 2, 3].map(() => reads.stats({ service: 'api', ...RANGE })));
    for (const s of together) expect(JSON.parse(JSON.stringify(s))).toEqual(inline);
  });

  it('a read pending at close is refused, not left waiting', async () => {
    const other = workerReads(tdb.path, WORKER, 60_000);
    const pending = other.stats({ service: 'api', ...RANGE });
    await other.close();
    await expect(pending).rejects.toThrow(/stopped/);
  });
});
