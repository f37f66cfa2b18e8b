// Two ClickHouse servers as the two shards of one cluster, behind Distributed tables sharded by
// customer: each customer's events land on one shard; the org-wide report over the Distributed
// tables equals the sum of the agents' own reports, and the PostgreSQL store's report for the
// same deliveries; a batch sent again through the cluster is held once.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient } from '@clickhouse/client';
import { migrateCollector, openCollectorDb, type CollectorDb } from '../../src/collector/db';
import { openClickHouseStore } from '../../src/collector/open';
import { pgStore } from '../../src/collector/pg-store';
import { collectorReport, ensureCollectorServices } from '../../src/collector/report';
import { startCollector, type RunningCollector } from '../../src/collector/server';
import type { CollectorStore } from '../../src/collector/store';
import { issueToken } from '../../src/collector/tokens';
import { usageReport } from '../../src/analytics/usage';
import { demoRecords } from '../../src/core/demo';
import { resolveTarget } from '../../src/core/sync/targets';
import type { TallyDb } from '../../src/storage/open';
import { SqliteOutbox } from '../../src/sync/store';
import { SyncEngine } from '../../src/sync/worker';
import { clickhouseMissing, startClickHouseCluster, type TestCluster } from '../helpers/clickhouse';
import { fixedClock, testDb, testWriter } from '../helpers/db';
import { startPostgres, type TestPostgres } from '../helpers/postgres';
import { startBoth } from '../helpers/servers';

const missing = clickhouseMissing();
if (missing) console.warn(missing);

const clock = fixedClock(Date.UTC(2026, 10, 20, 12));
const NOV = { from: Date.UTC(2026, 10, 1), to: Date.UTC(2026, 11, 1) };
const CUSTOMERS = ['acme', 'globex', 'initech', 'umbrella', 'hooli', 'stark'];
let pgServer: TestPostgres;
let cluster: TestCluster;
let cdb: CollectorDb;
let chStore: CollectorStore;
let pgCollector: RunningCollector;
let chCollector: RunningCollector;

describe.skipIf(missing !== null)('ClickHouse store on two shards', () => {
  beforeAll(async () => {
    [pgServer, cluster] = await startBoth(startPostgres(), startClickHouseCluster(2));
    cdb = openCollectorDb(await pgServer.createDatabase('collector_shards'));
    await migrateCollector(cdb.pool);
    await ensureCollectorServices(cdb.db, clock.now());
    const urls = cluster.servers.map((s) => `${s.url}/tally`).join(',');
    chStore = await openClickHouseStore({ clickhouse: urls, cluster: cluster.name }, clock.now());
    const rate = { perSecond: 1000, burst: 1000 };
    pgCollector = await startCollector({ db: cdb.db, rate });
    chCollector = await startCollector({ db: cdb.db, store: chStore, rate });
  });

  afterAll(async () => {
    await pgCollector?.close();
    await chCollector?.close();
    await chStore?.close();
    await cdb?.close();
    await Promise.all([pgServer?.stop(), cluster?.stop()]);
  });

  async function agent(i: number): Promise<TallyDb> {
    const tdb = await testDb();
    const writer = await testWriter(tdb, { hostId: `shard-host-${i}`, clock: clock.now, batchSize: 5000 });
    // Each agent meters two customers, so a host's batches span both shards.
    for (const customerId of [CUSTOMERS[i]!, CUSTOMERS[(i + 3) % CUSTOMERS.length]!])
      for (const r of demoRecords({ days: 10, end: Date.UTC(2026, 10, 20), seed: i + 1, customerId, scale: 0.02 }))
        writer.add({ ...r, source: 'demo' });
    await writer.close();
    return tdb;
  }

  it("puts each customer on one shard; the org-wide report is the sum of the agents'", { timeout: 60_000 }, async () => {
    const agents = await Promise.all([0, 1, 2].map(agent));
    for (const [i, tdb] of agents.entries()) {
      const { token } = await issueToken(cdb.db, `shard-host-${i}`, clock.now());
      const sync = new SyncEngine({
        outbox: new SqliteOutbox(tdb.sqlite),
        timeoutMs: 10_000,
        backoff: { baseMs: 10, maxMs: 100 },
        now: clock.now,
      });
      for (const [name, url] of [
        ['pg', pgCollector.url],
        ['ch', chCollector.url],
      ] as const) {
        const target = resolveTarget({ name, kind: 'tally', url, token, batchSize: 2500 }, 'settings');
        expect((await sync.syncTarget(target)).status).toBe('idle');
      }
    }

    // Each customer's rows are on exactly one server, and both servers hold some.
    const perShard = await Promise.all(
      cluster.servers.map(async (s) => {
        const c = createClient({ url: s.url, database: 'tally' });
        const r = await (
          await c.query({ query: 'SELECT customer_id, count() AS n FROM events_local GROUP BY customer_id', format: 'JSONEachRow' })
        ).json<{
          customer_id: string;
          n: string;
        }>();
        await c.close();
        return new Map(r.map((x) => [x.customer_id, Number(x.n)]));
      }),
    );
    expect(perShard.every((m) => m.size > 0)).toBe(true);
    for (const customer of CUSTOMERS) expect(perShard.filter((m) => m.has(customer)).length, customer).toBe(1);

    const local = await Promise.all(agents.map((a) => usageReport(a.db, NOV)));
    const central = await collectorReport(cdb.db, NOV, clock.now(), chStore);
    expect(central.totalEvents).toBe(local.reduce((n, r) => n + r.totalEvents, 0));
    expect(central.totalEvents).toBe([...perShard[0]!.values(), ...perShard[1]!.values()].reduce((a, b) => a + b, 0));
    expect(central.totalCostNanos).toBe(local.reduce((n, r) => n + r.totalCostNanos, 0));
    for (const line of central.services) {
      const parts = local.map((r) => r.services.find((l) => l.service === line.service));
      expect(line.events, line.service).toBe(parts.reduce((n, l) => n + (l?.events ?? 0), 0));
      expect(line.costNanos, line.service).toBe(parts.reduce((n, l) => n + (l?.costNanos ?? 0), 0));
    }
    // The same deliveries into PostgreSQL give the same report, to the last digit (quantities too).
    // (The last: edges inside an hour, raw events read through the Distributed table with FINAL.)
    for (const q of [
      NOV,
      { ...NOV, detailed: true },
      { ...NOV, customerId: 'globex' },
      { from: Date.UTC(2026, 10, 8, 3, 30), to: Date.UTC(2026, 10, 17, 1, 5) },
    ]) {
      expect(await collectorReport(cdb.db, q, clock.now(), chStore)).toEqual(
        await collectorReport(cdb.db, q, clock.now(), pgStore({ db: cdb.db })),
      );
    }
    for (const a of agents) await a.close();
  });

  it('a batch sent again through the cluster is held once', async () => {
    const { token } = await issueToken(cdb.db, 'shard-resend', clock.now());
    const records = CUSTOMERS.map((customerId, n) => ({
      id: `01KC${String(n).padStart(22, '0')}`,
      recordedAt: Date.UTC(2026, 10, 21, 8) + n,
      customerId,
      userId: null,
      hostId: 'shard-resend',
      service: 'api',
      quantity: 1,
      unitPrice: '0.0001',
      costNanos: 100_000,
      metadata: { endpoint: '/r', method: 'POST' },
      source: 'test',
    }));
    const post = async () => {
      const res = await fetch(`${chCollector.url}/v1/records`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ records }),
      });
      return res.json();
    };
    expect(await post()).toMatchObject({ inserted: CUSTOMERS.length, duplicates: 0 });
    expect(await post()).toMatchObject({ inserted: 0, duplicates: CUSTOMERS.length });
    const day = { from: Date.UTC(2026, 10, 21), to: Date.UTC(2026, 10, 22), service: 'api' };
    const before = await collectorReport(cdb.db, day, clock.now(), chStore);
    expect(await post()).toMatchObject({ inserted: 0 });
    expect(await collectorReport(cdb.db, day, clock.now(), chStore)).toEqual(before);
  });
});
