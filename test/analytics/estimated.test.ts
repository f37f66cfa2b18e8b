// Reports show how much of a period is estimated: storage gaps billed as a lower bound carry
// `estimated: true`, and the report gives their share of the storage usage (JSON and table).
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { usageReport } from '../../src/analytics/usage';
import { tally } from '../helpers/cli';
import { tempDir, testDb, testWriter } from '../helpers/db';

const NOW = Date.UTC(2026, 10, 22, 12);

describe('estimated share in reports', () => {
  it('a month with one gap billed as a lower bound: its share of storage, nothing for other services', async () => {
    const file = path.join(tempDir('tally-estimated-'), 'tally.db');
    const tdb = await testDb(file);
    const w = await testWriter(tdb, { clock: () => NOW });
    const at = NOW - 3_600_000;
    w.add({ service: 'storage', quantity: 3_000_000, metadata: { path: '/srv', bytes: 50_000 }, recordedAt: at });
    w.add({ service: 'storage', quantity: 1_000_000, metadata: { path: '/srv', bytes: 1_000, estimated: true }, recordedAt: at + 60_000 });
    w.add({ service: 'api', quantity: 1, metadata: { endpoint: '/', method: 'GET' }, recordedAt: at });
    await w.close();
    const report = await usageReport(tdb.db, { from: Date.UTC(2026, 10, 1), to: Date.UTC(2026, 11, 1) });
    expect(report.services.find((l) => l.service === 'storage')!.estimated).toEqual({ events: 1, share: 0.25 });
    expect(report.services.find((l) => l.service === 'api')!.estimated).toBeUndefined();
    await tdb.close();

    const r = tally(['report', '--month', '2026-11', '--db', file], { TALLY_NOW: new Date(NOW).toISOString() });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('storage: 25.0% of the usage is estimated (1 gaps billed as a lower bound)');
  });

  it("one customer's gap is not another's: the share follows the report's customer", async () => {
    const tdb = await testDb(path.join(tempDir('tally-estimated-'), 'tally.db'));
    const w = await testWriter(tdb, { clock: () => NOW });
    const at = NOW - 3_600_000;
    w.add({ service: 'storage', customerId: 'a', quantity: 2_000_000, metadata: { path: '/srv' }, recordedAt: at });
    w.add({ service: 'storage', customerId: 'b', quantity: 500_000, metadata: { path: '/srv', estimated: true }, recordedAt: at });
    w.add({ service: 'storage', customerId: 'b', quantity: 1_500_000, metadata: { path: '/srv' }, recordedAt: at + 60_000 });
    await w.close();
    const period = { from: Date.UTC(2026, 10, 1), to: Date.UTC(2026, 11, 1) };
    const storage = async (customerId?: string) =>
      (await usageReport(tdb.db, { ...period, customerId })).services.find((l) => l.service === 'storage')!.estimated;
    expect(await storage('a')).toBeUndefined();
    expect(await storage('b')).toEqual({ events: 1, share: 0.25 });
    expect(await storage()).toEqual({ events: 1, share: 0.125 });
    // Outside the period: nothing estimated.
    expect(
      (await usageReport(tdb.db, { from: Date.UTC(2026, 9, 1), to: Date.UTC(2026, 10, 1) })).services.find((l) => l.service === 'storage')
        ?.estimated,
    ).toBeUndefined();
    await tdb.close();
  });
});
