// Agents syncing to a real collector on a real PostgreSQL: three agents with their own SQLite
// files, one org-wide report that equals the sum of theirs; a token used for another host's
// records, and a revoked token, stop the target and store nothing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TallyDb } from '../../src/storage/open';
import { SqliteOutbox } from '../../src/sync/store';
import { SyncEngine } from '../../src/sync/worker';
import { migrateCollector, openCollectorDb, type CollectorDb } from '../../src/collector/db';
import { collectorReport, ensureCollectorServices } from '../../src/collector/report';
import { startCollector, type RunningCollector } from '../../src/collector/server';
import { issueToken, revokeTokens } from '../../src/collector/tokens';
import { demoRecords } from '../../src/core/demo';
import { setPriceRule, upsertService } from '../../src/storage/repos/services';
import { usageReport } from '../../src/analytics/usage';
import { resolveTarget } from '../../src/core/sync/targets';
import { fixedClock, testDb, testWriter } from '../helpers/db';
import { startPostgres, type TestPostgres } from '../helpers/postgres';

let pgServer: TestPostgres;
let cdb: CollectorDb;
let collector: RunningCollector;
const clock = fixedClock(Date.UTC(2026, 10, 20, 12));
const NOV = { from: Date.UTC(2026, 10, 1), to: Date.UTC(2026, 11, 1) };

beforeAll(async () => {
  pgServer = await startPostgres();
  cdb = openCollectorDb(await pgServer.createDatabase('collector_agents'));
  await migrateCollector(cdb.pool);
  await ensureCollectorServices(cdb.db, clock.now());
  collector = await startCollector({ db: cdb.db, rate: { perSecond: 1000, burst: 1000 } });
});

afterAll(async () => {
  await collector?.close();
  await cdb?.close();
  await pgServer?.stop();
});

async function agentDb(hostId: string, seed: number, customerId: string): Promise<TallyDb> {
  const tdb = await testDb();
  const writer = await testWriter(tdb, { hostId, clock: clock.now, batchSize: 5000 });
  for (const r of demoRecords({ days: 12, end: Date.UTC(2026, 10, 20), seed, customerId, scale: 0.05 }))
    writer.add({ ...r, source: 'demo' });
  // A custom service the collector has never heard of must still be in the org-wide total.
  await upsertService(
    tdb.db,
    {
      name: 'ocr_pages',
      displayName: 'OCR pages',
      baseUnit: 'pages',
      displayUnit: 'pages',
      displayFactor: 1,
      integerOnly: true,
      requiredFields: [],
      breakdownKeys: [],
      builtin: false,
    },
    clock.now(),
  );
  await setPriceRule(tdb.db, { service: 'ocr_pages', effectiveFrom: 0, spec: { model: 'per_unit', unitPrice: '0.002' } }, clock.now());
  await writer.refresh();
  await writer.recordMany([{ service: 'ocr_pages', quantity: 40 + seed, customerId, recordedAt: Date.UTC(2026, 10, 10) }]);
  await writer.close();
  return tdb;
}

function engine(tdb: TallyDb) {
  return new SyncEngine({ outbox: new SqliteOutbox(tdb.sqlite), timeoutMs: 5000, backoff: { baseMs: 10, maxMs: 100 }, now: clock.now });
}

describe('agents → collector', () => {
  it("three agents sync everything; the collector's report is the sum of theirs", async () => {
    const agents = await Promise.all([agentDb('host-1', 1, 'acme'), agentDb('host-2', 2, 'acme'), agentDb('host-3', 3, 'globex')]);
    const results = await Promise.all(
      agents.map(async (tdb, i) => {
        const { token } = await issueToken(cdb.db, `host-${i + 1}`, clock.now());
        const target = resolveTarget({ name: 'central', kind: 'tally', url: collector.url, token, batchSize: 700 }, 'settings');
        return engine(tdb).syncTarget(target);
      }),
    );
    expect(results.map((r) => r.status)).toEqual(['idle', 'idle', 'idle']);

    const local = await Promise.all(agents.map((a) => usageReport(a.db, NOV)));
    const central = await collectorReport(cdb.db, NOV);
    const localCount = local.reduce((n, r) => n + r.totalEvents, 0);
    expect(localCount).toBeGreaterThan(1000);
    expect(central.totalEvents).toBe(localCount);
    expect(central.totalCostNanos).toBe(local.reduce((n, r) => n + r.totalCostNanos, 0));
    expect(central.services.map((l) => l.service)).toContain('ocr_pages');
    for (const line of central.services) {
      const parts = local.map((r) => r.services.find((l) => l.service === line.service)!);
      expect(line.events).toBe(parts.reduce((n, l) => n + l.events, 0));
      expect(line.costNanos).toBe(parts.reduce((n, l) => n + l.costNanos, 0));
      // Number(): quantities are exact decimal text in reports.
      expect(Number(line.quantity)).toBeCloseTo(
        parts.reduce((n, l) => n + Number(l.quantity), 0),
        3,
      );
    }
    // The per-day breakdown runs on PostgreSQL too, and adds up to the same total.
    const detailed = await collectorReport(cdb.db, { ...NOV, detailed: true });
    expect(detailed.daily!.reduce((n, d) => n + d.costNanos, 0)).toBe(central.totalCostNanos);
    // Per customer too: globex is host-3's alone.
    const globex = await collectorReport(cdb.db, { ...NOV, customerId: 'globex' });
    expect(globex.totalCostNanos).toBe(local[2]!.totalCostNanos);
    // A second pass sends nothing new and changes nothing.
    const again = await engine(agents[0]!).syncTarget(
      resolveTarget({ name: 'central', kind: 'tally', url: collector.url, token: 'unused', batchSize: 700 }, 'settings'),
    );
    expect(again).toMatchObject({ status: 'idle', delivered: 0 });
    for (const a of agents) await a.close();
  });

  it('sets aside a record edited in the file past validation, delivering the rest of its batch', async () => {
    const tdb = await testDb();
    const writer = await testWriter(tdb, { hostId: 'host-e', clock: clock.now });
    await writer.recordMany(
      Array.from({ length: 5 }, (_, i) => ({ service: 'api', quantity: 1, metadata: { endpoint: `/e${i}`, method: 'GET', status: 200 } })),
    );
    await writer.close();
    // Nothing Tally accepts holds a quote here; a hand edit can.
    tdb.sqlite.prepare(`UPDATE usage_records SET customer_id = 'bad"id' WHERE seq = 3`).run();
    const { token } = await issueToken(cdb.db, 'host-e', clock.now());
    const target = resolveTarget({ name: 'central', kind: 'tally', url: collector.url, token, batchSize: 10 }, 'settings');
    const outbox = new SqliteOutbox(tdb.sqlite);
    const r = await engine(tdb).syncTarget(target);
    expect(r).toMatchObject({ status: 'idle', delivered: 4, rejected: 1 });
    const [refused] = await outbox.rejected('central', 10);
    expect(refused).toMatchObject({ seq: 3, kind: 'rejected' });
    expect(refused!.reason).toMatch(/HTTP 400/);
    const stored = await cdb.pool.query("SELECT count(*)::int AS n FROM usage_records WHERE host_id = 'host-e'");
    expect(stored.rows[0].n).toBe(4);
    await tdb.close();
  });

  it('stops an agent whose token belongs to another host, and one whose token was revoked, storing nothing', async () => {
    const tdb = await testDb();
    const writer = await testWriter(tdb, { hostId: 'host-x', clock: clock.now });
    await writer.recordMany([{ service: 'api', quantity: 1, metadata: { endpoint: '/a', method: 'GET', status: 200 } }]);
    await writer.close();
    const { token: otherToken } = await issueToken(cdb.db, 'host-y', clock.now());
    const wrong = resolveTarget({ name: 'central', kind: 'tally', url: collector.url, token: otherToken }, 'settings');
    const e = engine(tdb);
    const r = await e.syncTarget(wrong);
    expect(r.status).toBe('stopped');
    expect(r.error).toMatch(/HTTP 403.*records\[0\]\.hostId: "host-x" is not the host this token belongs to/);

    const { token } = await issueToken(cdb.db, 'host-x', clock.now());
    await revokeTokens(cdb.db, 'host-x', clock.now());
    await e.resume('central');
    const revoked = await e.syncTarget(resolveTarget({ name: 'central', kind: 'tally', url: collector.url, token }, 'settings'));
    expect(revoked.status).toBe('stopped');
    expect(revoked.error).toMatch(/HTTP 401.*revoked/);
    const n = await cdb.pool.query("SELECT count(*)::int AS n FROM usage_records WHERE host_id IN ('host-x', 'host-y')");
    expect(n.rows[0].n).toBe(0);
    expect((await e.status(wrong)).pending).toBe(1);
    await tdb.close();
  });
});
