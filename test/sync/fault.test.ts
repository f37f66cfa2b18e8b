// The fault test: three agents (each `tally sync --once` in its own process, on its own SQLite
// file) sync to a collector on PostgreSQL through a proxy that answers 500, 429 with Retry-After,
// hangs past the timeout, cuts the connection mid-response after the collector stored the batch,
// and returns garbled bodies; each agent process is killed with SIGKILL mid-sync several times.
// At the end the collector holds every record exactly once: counts, ids and rollups compared.
// TALLY_FAULT_RECORDS sets the record count (default 100 000, split over the three agents).
// The proxy, the agents and the killing runs are shared with the ClickHouse variant
// (test/helpers/sync-faults.ts).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrateCollector, openCollectorDb, type CollectorDb } from '../../src/collector/db';
import { ensureCollectorServices } from '../../src/collector/report';
import { startCollector, type RunningCollector } from '../../src/collector/server';
import { issueToken } from '../../src/collector/tokens';
import { startPostgres, type TestPostgres } from '../helpers/postgres';
import { bundleCli, makeFaultAgent, startFaultProxy, syncWithKills, type FaultProxy } from '../helpers/sync-faults';

const TOTAL = Number(process.env.TALLY_FAULT_RECORDS ?? 100_000);
const AGENTS = 3;
const KILLS_PER_AGENT = 3;

let pgServer: TestPostgres;
let cdb: CollectorDb;
let collector: RunningCollector;
let proxy: FaultProxy;
let cli: string;

beforeAll(async () => {
  cli = await bundleCli('dist/sync-fault');
  pgServer = await startPostgres();
  cdb = openCollectorDb(await pgServer.createDatabase('collector_fault'));
  await migrateCollector(cdb.pool);
  await ensureCollectorServices(cdb.db, Date.now());
  collector = await startCollector({ db: cdb.db, rate: { perSecond: 200, burst: 200 } });
  proxy = await startFaultProxy(collector.url);
});

afterAll(async () => {
  await proxy?.close();
  await collector?.close();
  await cdb?.close();
  await pgServer?.stop();
});

async function stored(hostId: string): Promise<number> {
  const r = await cdb.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM usage_records WHERE host_id = $1', [hostId]);
  return r.rows[0]!.n;
}

describe('sync under faults and kill -9', () => {
  it(`delivers ${TOTAL} records from ${AGENTS} agents exactly once`, { timeout: 240_000 }, async () => {
    const per = Math.ceil(TOTAL / AGENTS);
    const agents = await Promise.all(
      Array.from({ length: AGENTS }, async (_, i) => {
        const hostId = `fault-host-${i}`;
        const { token } = await issueToken(cdb.db, hostId, Date.now());
        return makeFaultAgent(hostId, i === AGENTS - 1 ? TOTAL - per * (AGENTS - 1) : per, proxy.url, token);
      }),
    );
    const runs = await Promise.all(agents.map((a) => syncWithKills(cli, a, stored, KILLS_PER_AGENT)));
    // Each agent was killed mid-sync (whenever it has enough batches for that to be possible).
    for (const [i, r] of runs.entries())
      expect(r.killed, agents[i]!.hostId).toBe(agents[i]!.ids.length >= 10_000 ? KILLS_PER_AGENT : r.killed);
    expect(runs.reduce((n, r) => n + r.killed, 0)).toBeGreaterThan(0);
    // Every kind of fault happened.
    const { e500, e429, hang, cut, garbled } = proxy.faults;
    expect(Math.min(e500, e429, hang, cut, garbled), JSON.stringify(proxy.faults)).toBeGreaterThan(0);

    for (const a of agents) {
      const rows = await cdb.pool.query<{ id: string }>('SELECT id FROM usage_records WHERE host_id = $1 ORDER BY id', [a.hostId]);
      expect(rows.rows.length).toBe(a.ids.length);
      expect(rows.rows.map((r) => r.id)).toEqual(a.ids);
    }
    const total = await cdb.pool.query('SELECT count(*)::int AS n, count(DISTINCT id)::int AS d FROM usage_records');
    expect(total.rows[0]).toEqual({ n: TOTAL, d: TOTAL });
    // Rollups counted each record once too, whatever was re-sent.
    const rolled = await cdb.pool.query("SELECT sum(event_count)::int AS n FROM rollups WHERE period = 'hour'");
    expect(rolled.rows[0].n).toBe(TOTAL);
  });
});
