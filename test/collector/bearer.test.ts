// The collector's Authorization header on a real collector over a real PostgreSQL: the auth
// scheme is case-insensitive (RFC 7235 §2.1), as in the agent's gates; anything else is 401.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrateCollector, openCollectorDb, type CollectorDb } from '../../src/collector/db';
import { startCollector, type RunningCollector } from '../../src/collector/server';
import { issueToken } from '../../src/collector/tokens';
import { startPostgres, type TestPostgres } from '../helpers/postgres';

let pgServer: TestPostgres;
let cdb: CollectorDb;
let collector: RunningCollector;
let token: string;

beforeAll(async () => {
  pgServer = await startPostgres();
  cdb = openCollectorDb(await pgServer.createDatabase('collector_bearer'));
  await migrateCollector(cdb.pool);
  collector = await startCollector({ db: cdb.db, rate: { perSecond: 1000, burst: 1000 } });
  ({ token } = await issueToken(cdb.db, 'host-a', Date.UTC(2026, 10, 3)));
});

afterAll(async () => {
  await collector?.close();
  await cdb?.close();
  await pgServer?.stop();
});

const post = (authorization: string) =>
  fetch(`${collector.url}/v1/records`, {
    method: 'POST',
    headers: { authorization, 'content-type': 'application/json' },
    body: '{"records":[]}',
  });

describe('collector Authorization', () => {
  it('takes the Bearer scheme in any case', async () => {
    for (const scheme of ['Bearer', 'bearer', 'BEARER', 'bEaReR']) {
      const res = await post(`${scheme} ${token}`);
      expect(res.status, scheme).toBe(200);
      expect(await res.json()).toEqual({ inserted: 0, duplicates: 0, rejected: [] });
    }
  });

  it('still refuses another scheme, a missing token and a wrong token', async () => {
    for (const header of [`Basic ${token}`, 'bearer', `Bearer${token}`, 'bearer tly_nope_nope']) {
      const res = await post(header);
      expect(res.status, header).toBe(401);
      expect(await res.json()).toEqual({ error: expect.objectContaining({ code: 'unauthorized' }) });
    }
  });
});
