// The collector on a real PostgreSQL: tokens bound to host ids, revocation, idempotent storage,
// rollups and the org-wide report, and the rate limit.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { monotonicFactory } from 'ulid';
import { migrateCollector, openCollectorDb, type CollectorDb } from '../../src/collector/db';
import { collectorReport, ensureCollectorServices } from '../../src/collector/report';
import { startCollector, type RunningCollector } from '../../src/collector/server';
import { issueToken, revokeTokens } from '../../src/collector/tokens';
import { startPostgres, type TestPostgres } from '../helpers/postgres';

let pgServer: TestPostgres;
let cdb: CollectorDb;
let collector: RunningCollector;
const ulid = monotonicFactory();
const T0 = Date.UTC(2026, 10, 3, 10);

function rec(hostId: string, i: number, extra: Record<string, unknown> = {}) {
  return {
    id: ulid(),
    recordedAt: T0 + i * 60_000,
    customerId: 'acme',
    userId: null,
    hostId,
    service: 'api',
    quantity: 1,
    unitPrice: '0.0001',
    costNanos: 100_000,
    metadata: { endpoint: '/users' },
    source: 'api',
    ...extra,
  };
}

async function post(token: string, records: unknown[]) {
  const res = await fetch(`${collector.url}/v1/records`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ records }),
  });
  return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, unknown> };
}

beforeAll(async () => {
  pgServer = await startPostgres();
  cdb = openCollectorDb(await pgServer.createDatabase('collector_api'));
  await migrateCollector(cdb.pool);
  await ensureCollectorServices(cdb.db, T0);
  collector = await startCollector({ db: cdb.db, rate: { perSecond: 1000, burst: 1000 } });
});

afterAll(async () => {
  await collector?.close();
  await cdb?.close();
  await pgServer?.stop();
});

describe('collector', () => {
  it('stores each record once however often it is sent, and keeps rollups for the report', async () => {
    const { token } = await issueToken(cdb.db, 'host-a', T0);
    const batch = Array.from({ length: 50 }, (_, i) => rec('host-a', i));
    const first = await post(token, batch);
    expect(first.status).toBe(200);
    expect(first.body).toEqual({ inserted: 50, duplicates: 0, rejected: [] });
    const again = await post(token, batch);
    expect(again.body).toEqual({ inserted: 0, duplicates: 50, rejected: [] });
    const report = await collectorReport(cdb.db, { from: Date.UTC(2026, 10, 1), to: Date.UTC(2026, 11, 1) });
    const api = report.services.find((s) => s.service === 'api')!;
    expect(api.events).toBe(50);
    expect(api.cost).toBe('0.0050');
  });

  it('refuses a bad record alone and names its field', async () => {
    const { token } = await issueToken(cdb.db, 'host-b', T0);
    const res = await post(token, [rec('host-b', 0), rec('host-b', 1, { quantity: -3 }), rec('host-b', 2)]);
    expect(res.status).toBe(200);
    expect(res.body.inserted).toBe(2);
    expect(res.body.rejected).toEqual([{ index: 1, reason: expect.stringContaining('records[1].quantity') }]);
  });

  it("refuses records under another agent's host id (403) and revoked tokens (401)", async () => {
    const { token } = await issueToken(cdb.db, 'host-c', T0);
    const forged = await post(token, [rec('host-c', 0), rec('host-a', 1)]);
    expect(forged.status).toBe(403);
    expect(JSON.stringify(forged.body)).toContain('records[1].hostId');
    const count = await cdb.pool.query("SELECT count(*)::int AS n FROM usage_records WHERE host_id = 'host-c'");
    expect(count.rows[0].n).toBe(0);

    await revokeTokens(cdb.db, 'host-c', T0);
    const revoked = await post(token, [rec('host-c', 0)]);
    expect(revoked.status).toBe(401);
    expect(JSON.stringify(revoked.body)).toContain('revoked');
    expect((await post('tly_nope_nope', [rec('host-c', 0)])).status).toBe(401);
  });

  it('limits each token with a token bucket and says when to come back', async () => {
    const limited = await startCollector({ db: cdb.db, rate: { perSecond: 0.5, burst: 2 } });
    try {
      const { token } = await issueToken(cdb.db, 'host-d', T0);
      const send = () =>
        fetch(`${limited.url}/v1/records`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: '{"records":[]}',
        });
      expect((await send()).status).toBe(200);
      expect((await send()).status).toBe(200);
      const third = await send();
      expect(third.status).toBe(429);
      expect(Number(third.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    } finally {
      await limited.close();
    }
  });
});

describe('collector input', () => {
  it('reads a key given twice the same way PostgreSQL stores it (no smuggled host id)', async () => {
    const { token } = await issueToken(cdb.db, 'host-e', T0);
    const r = rec('host-e', 0);
    const body = JSON.stringify({ records: [r] }).replace('"hostId":"host-e"', '"hostId":"host-a","hostId":"host-e"');
    const res = await fetch(`${collector.url}/v1/records`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body,
    });
    expect(res.status).toBe(200);
    const stored = await cdb.pool.query('SELECT host_id, metadata FROM usage_records WHERE id = $1', [r.id]);
    expect(stored.rows).toEqual([{ host_id: 'host-e', metadata: '{"endpoint": "/users"}' }]);
  });

  it('refuses a body that is not JSON, naming it', async () => {
    const { token } = await issueToken(cdb.db, 'host-f', T0);
    const res = await fetch(`${collector.url}/v1/records`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: '{"records": [',
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: expect.objectContaining({ code: 'invalid_input', field: 'body' }) });
  });
});
