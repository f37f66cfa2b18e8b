import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runMaintenance } from '../../src/archive/maintenance';
import { EventBus, type AgentContext } from '../../src/handlers/context';
import { createHandlers } from '../../src/handlers/handlers';
import { defaults } from '../../src/config/config';
import { tempDir, testDb, testWriter } from '../helpers/db';

const NOW = Date.UTC(2026, 10, 20, 12);

describe('maintenance and the archive/export API calls', () => {
  it('vacuums only when the free list is worth it, and the agent API archives, exports and restores', async () => {
    const dir = tempDir('tally-maint-');
    const tdb = await testDb(path.join(dir, 'tally.db'));
    const writer = await testWriter(tdb, { clock: () => NOW, batchSize: 10_000 });
    const pad = 'x'.repeat(300);
    const recs = Array.from({ length: 40_000 }, (_, i) => ({
      service: 'api',
      quantity: 1,
      customerId: 'acme',
      recordedAt: Date.UTC(2026, 6, 1) + i * 1000,
      metadata: { endpoint: '/a', method: 'GET', pad },
    }));
    recs.push({
      service: 'api',
      quantity: 1,
      customerId: 'acme',
      recordedAt: NOW - 1000,
      metadata: { endpoint: '/a', method: 'GET', pad },
    });
    await writer.recordMany(recs);

    const quiet = runMaintenance(tdb.sqlite);
    expect(quiet.vacuumed).toBe(false);
    expect(quiet.reason).toMatch(/no VACUUM needed/);

    const ctx: AgentContext = {
      config: { ...defaults({}), db: tdb.path, customerId: 'acme' },
      tdb,
      writer,
      events: new EventBus(),
      now: () => NOW,
    };
    const h = createHandlers(ctx);
    const out = path.join(dir, 'july.csv');
    const exported = await h['export.file']({ format: 'csv', path: out, month: '2026-07' });
    expect(exported.records).toBe(40_000);
    await expect(Promise.resolve().then(() => h['export.file']({ format: 'csv', path: 'relative.csv', month: '2026-07' }))).rejects.toThrow(
      /absolute/,
    );
    // In the API's words, at its own field (the dashboard shows it there), not the CLI's --force.
    await expect(h['export.file']({ format: 'csv', path: out, month: '2026-07' })).rejects.toMatchObject({
      code: 'conflict',
      field: 'path',
      message: `path: ${out} already exists: set overwrite to replace it`,
    });
    await expect(h['export.file']({ format: 'csv', path: path.join(dir, 'none', 'x.csv'), month: '2026-07' })).rejects.toMatchObject({
      field: 'path',
      message: `path: folder ${path.join(dir, 'none')} does not exist`,
    });

    const archived = await h['archive.run']({ olderThanDays: 30, path: path.join(dir, 'july.jsonl.gz') });
    expect(archived.archived).toBe(40_000);
    const big = await h['maintenance.run']({});
    expect(big.vacuumed).toBe(true);
    expect(big.bytesAfter).toBeLessThan(big.bytesBefore / 2);
    expect(fs.statSync(tdb.path).size).toBe(big.bytesAfter);

    const back = await h['archive.restore']({ path: path.join(dir, 'july.jsonl.gz') });
    expect(back.restored).toBe(40_000);
    await writer.close();
    await tdb.close();
  });
});
