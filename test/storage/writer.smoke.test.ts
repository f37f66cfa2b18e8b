import { describe, expect, it } from 'vitest';
import { testDb, testWriter } from '../helpers/db';

describe('writer smoke', () => {
  it('records and rolls up', async () => {
    const tdb = await testDb();
    const w = await testWriter(tdb);
    const s = await w.record({ service: 'api', quantity: 1, metadata: { endpoint: '/users', method: 'GET', status: 200 } });
    expect(s.costNanos).toBe(100000);
    const r = tdb.sqlite.prepare("select * from rollups where period='month'").all();
    expect(r).toHaveLength(1);
    await w.close();
    await tdb.close();
  });
});
