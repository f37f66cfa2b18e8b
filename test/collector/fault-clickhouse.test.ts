// The sync fault test against the ClickHouse store: three agents (each `tally sync --once` in its
// own process, on its own SQLite file) sync through a proxy that answers 500, 429, hangs, cuts
// the answer after the collector stored the batch and garbles bodies; each agent is SIGKILLed
// mid-sync three times. ClickHouse has no unique keys: at the end it still holds every id exactly
// once (as rows, before any merge), its rollups count each once, and the org-wide report equals
// the agents' own. TALLY_FAULT_CH_RECORDS sets the record count (default 15 000).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, type ClickHouseClient } from '@clickhouse/client';
import { usageReport } from '../../src/analytics/usage';
import { migrateCollector, openCollectorDb, type CollectorDb } from '../../src/collector/db';
import { openClickHouseStore } from '../../src/collector/open';
import { collectorReport, ensureCollectorServices } from '../../src/collector/report';
import { startCollector, type RunningCollector } from '../../src/collector/server';
import type { CollectorStore } from '../../src/collector/store';
import { issueToken } from '../../src/collector/tokens';
import { clickhouseMissing, startClickHouse, type TestClickHouse } from '../helpers/clickhouse';
import { testDb } from '../helpers/db';
import { startPostgres, type TestPostgres } from '../helpers/postgres';
import { startBoth } from '../helpers/servers';
import { bundleCli, makeFaultAgent, startFaultProxy, syncWithKills, type FaultProxy } from '../helpers/sync-faults';

const missing = clickhouseMissing();
if (missing) console.warn(missing);

const TOTAL = Number(process.env.TALLY_FAULT_CH_RECORDS ?? 15_000);
const AGENTS = 3;
const KILLS_PER_AGENT = 3;
const NOV = { from: Date.UTC(2026, 10, 1), to: Date.UTC(2026, 11, 1) };

let pgServer: TestPostgres;
let ch: TestClickHouse;
let cdb: CollectorDb;
let store: CollectorStore;
let raw: ClickHouseClient;
let collector: RunningCollector;
let proxy: FaultProxy;
let cli: string;

async function count<T = number>(query: string): Promise<T> {
  const [row] = await (await raw.query({ query, format: 'JSONEachRow' })).json<Record<string, unknown>>();
  return Object.values(row!)[0] as T;
}

describe.skipIf(missing !== null)('sync under faults and kill -9, into ClickHouse', () => {
  beforeAll(async () => {
    cli = await bundleCli('dist/sync-fault-ch');
    [pgServer, ch] = await startBoth(startPostgres(), startClickHouse());
    cdb = openCollectorDb(await pgServer.createDatabase('collector_fault_ch'));
    await migrateCollector(cdb.pool);
    await ensureCollectorServices(cdb.db, Date.now());
    store = await openClickHouseStore({ clickhouse: `${ch.url}/tally` });
    raw = createClient({ url: ch.url, database: 'tally' });
    collector = await startCollector({ db: cdb.db, store, rate: { perSecond: 200, burst: 200 } });
    proxy = await startFaultProxy(collector.url);
  });

  afterAll(async () => {
    await proxy?.close();
    await collector?.close();
    await store?.close();
    await raw?.close();
    await cdb?.close();
    await Promise.all([pgServer?.stop(), ch?.stop()]);
  });

  const stored = async (hostId: string) => Number(await count<string>(`SELECT count() FROM events_local WHERE host_id = '${hostId}'`));

  it(`delivers ${TOTAL} records from ${AGENTS} agents exactly once`, { timeout: 120_000 }, async () => {
    const per = Math.ceil(TOTAL / AGENTS);
    const agents = await Promise.all(
      Array.from({ length: AGENTS }, async (_, i) => {
        const hostId = `fault-ch-host-${i}`;
        const { token } = await issueToken(cdb.db, hostId, Date.now());
        return makeFaultAgent(hostId, i === AGENTS - 1 ? TOTAL - per * (AGENTS - 1) : per, proxy.url, token);
      }),
    );
    const runs = await Promise.all(agents.map((a) => syncWithKills(cli, a, stored, KILLS_PER_AGENT)));
    expect(runs.reduce((n, r) => n + r.killed, 0)).toBeGreaterThan(0);
    expect(Math.min(...Object.values(proxy.faults)), JSON.stringify(proxy.faults)).toBeGreaterThan(0);

    for (const a of agents) {
      const ids = await (
        await raw.query({ query: `SELECT id FROM events_local WHERE host_id = '${a.hostId}' ORDER BY id`, format: 'JSONEachRow' })
      ).json<{ id: string }>();
      expect(ids.map((r) => r.id)).toEqual(a.ids);
    }
    // As rows, not only after merges: the look-up before insert kept every re-sent id out.
    expect(Number(await count<string>('SELECT count() FROM events_local'))).toBe(TOTAL);
    expect(Number(await count<string>('SELECT uniqExact(id) FROM events_local'))).toBe(TOTAL);
    expect(Number(await count<string>("SELECT sum(event_count) FROM rollups_local WHERE period = 'hour'"))).toBe(TOTAL);

    // The org-wide report equals the sum of the agents' own.
    const local = await Promise.all(
      agents.map(async (a) => {
        const tdb = await testDb(a.dbFile);
        try {
          return await usageReport(tdb.db, NOV);
        } finally {
          await tdb.close();
        }
      }),
    );
    const central = await collectorReport(cdb.db, NOV, Date.now(), store);
    expect(central.totalEvents).toBe(TOTAL);
    expect(central.totalEvents).toBe(local.reduce((n, r) => n + r.totalEvents, 0));
    expect(central.totalCostNanos).toBe(local.reduce((n, r) => n + r.totalCostNanos, 0));
    for (const line of central.services) {
      const parts = local.map((r) => r.services.find((l) => l.service === line.service));
      expect(line.events, line.service).toBe(parts.reduce((n, l) => n + (l?.events ?? 0), 0));
      expect(BigInt(line.quantity), line.service).toBe(parts.reduce((n, l) => n + BigInt(l?.quantity ?? 0), 0n));
    }
  });
});
