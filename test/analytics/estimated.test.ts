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
});
