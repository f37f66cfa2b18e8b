// The ClickHouse store against the PostgreSQL one, on real servers: the same agents sync to two
// collectors (records in PostgreSQL, records in ClickHouse); re-sent and partly re-sent batches are
// held once; the org-wide reports (month, detailed, one customer, edges inside an hour) are equal
// to the last digit and the exports hold the same rows. Migrations: re-run is a no-op, a database
// from a newer collector is refused; bad --clickhouse/--cluster values name the flag.
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient } from '@clickhouse/client';
import { parseClickHouseTarget } from '../../src/collector/clickhouse/connection';
import { migrateCollector, openCollectorDb, type CollectorDb } from '../../src/collector/db';
import { openClickHouseStore } from '../../src/collector/open';
import { pgStore } from '../../src/collector/pg-store';
import { collectorReport, ensureCollectorServices } from '../../src/collector/report';
import { startCollector, type RunningCollector } from '../../src/collector/server';
import type { CollectorStore } from '../../src/collector/store';
import { issueToken } from '../../src/collector/tokens';
import { demoRecords } from '../../src/core/demo';
import { resolveTarget } from '../../src/core/sync/targets';
import type { TallyDb } from '../../src/storage/open';
import { SqliteOutbox } from '../../src/sync/store';
import { SyncEngine } from '../../src/sync/worker';
import { correctionsHook } from '../../src/sync/corrections';
import { amendRecord, voidRecord } from '../../src/storage/corrections';
import { setPriceRule } from '../../src/storage/repos/services';
import { clickhouseMissing, startClickHouse, type TestClickHouse } from '../helpers/clickhouse';
import { fixedClock, testDb, testWriter } from '../helpers/db';
import { startPostgres, type TestPostgres } from '../helpers/postgres';
import { startBoth } from '../helpers/servers';

const missing = clickhouseMissing();
if (missing) console.warn(missing);

const clock = fixedClock(Date.UTC(2026, 10, 20, 12));
const NOV = { from: Date.UTC(2026, 10, 1), to: Date.UTC(2026, 11, 1) };
let pgServer: TestPostgres;
let ch: TestClickHouse;
let cdb: CollectorDb;
let chStore: CollectorStore;
let pgCollector: RunningCollector;
let chCollector: RunningCollector;

describe.skipIf(missing !== null)('the ClickHouse store', () => {
  beforeAll(async () => {
    [pgServer, ch] = await startBoth(startPostgres(), startClickHouse());
    cdb = openCollectorDb(await pgServer.createDatabase('collector_ch'));
    await migrateCollector(cdb.pool);
    await ensureCollectorServices(cdb.db, clock.now());
    chStore = await openClickHouseStore({ clickhouse: `${ch.url}/tally` }, clock.now());
    const rate = { perSecond: 1000, burst: 1000 };
    pgCollector = await startCollector({ db: cdb.db, rate });
    chCollector = await startCollector({ db: cdb.db, store: chStore, rate });
  });

  afterAll(async () => {
    await pgCollector?.close();
    await chCollector?.close();
    await chStore?.close();
    await cdb?.close();
    await Promise.all([pgServer?.stop(), ch?.stop()]);
  });

  async function agent(hostId: string, seed: number, customerId: string): Promise<TallyDb> {
    const tdb = await testDb();
    const writer = await testWriter(tdb, { hostId, clock: clock.now, batchSize: 5000 });
    for (const r of demoRecords({ days: 12, end: Date.UTC(2026, 10, 20), seed, customerId, scale: 0.05 }))
      writer.add({ ...r, source: 'demo' });
    await writer.close();
    return tdb;
  }

  const engine = (tdb: TallyDb) =>
    new SyncEngine({ outbox: new SqliteOutbox(tdb.sqlite), timeoutMs: 10_000, backoff: { baseMs: 10, maxMs: 100 }, now: clock.now });

  async function post(url: string, token: string, records: unknown[]) {
    const res = await fetch(`${url}/v1/records`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ records }),
    });
    return { status: res.status, body: (await res.json()) as { inserted: number; duplicates: number; rejected: unknown[] } };
  }

  function exported(store: CollectorStore): Promise<string[][]> {
    const out = new PassThrough();
    const chunks: Buffer[] = [];
    out.on('data', (c: Buffer) => chunks.push(c));
    return store.exportCsv(NOV, out).then(() => parseCsv(Buffer.concat(chunks).toString('utf8')));
  }

  it('holds what agents sync once, and reports equal the PostgreSQL store to the last digit', { timeout: 60_000 }, async () => {
    const agents = await Promise.all([agent('ch-host-1', 1, 'acme'), agent('ch-host-2', 2, 'acme'), agent('ch-host-3', 3, 'globex')]);
    for (const [i, tdb] of agents.entries()) {
      const { token } = await issueToken(cdb.db, `ch-host-${i + 1}`, clock.now());
      for (const [name, url] of [
        ['pg', pgCollector.url],
        ['ch', chCollector.url],
      ] as const) {
        const target = resolveTarget({ name, kind: 'tally', url, token, batchSize: 2500 }, 'settings');
        expect((await engine(tdb).syncTarget(target)).status).toBe('idle');
      }
    }
    const pg = pgStore({ db: cdb.db, pool: cdb.pool });
    const queries = [
      NOV,
      { ...NOV, detailed: true },
      { ...NOV, customerId: 'globex' },
      { ...NOV, service: 'api' },
      // Edges inside an hour: raw records, each id once.
      { from: Date.UTC(2026, 10, 3, 5, 17), to: Date.UTC(2026, 10, 9, 22, 41) },
      { from: Date.UTC(2026, 10, 3), to: Date.UTC(2026, 10, 9) },
    ];
    for (const q of queries) {
      const fromPg = await collectorReport(cdb.db, q, clock.now(), pg);
      const fromCh = await collectorReport(cdb.db, q, clock.now(), chStore);
      expect(fromCh, JSON.stringify(q)).toEqual(fromPg);
    }
    const report = await collectorReport(cdb.db, NOV, clock.now(), chStore);
    expect(report.totalEvents).toBeGreaterThan(3000);

    // The same rows in both exports (metadata compared as JSON: PostgreSQL keeps it as jsonb text).
    const [pgRows, chRows] = await Promise.all([exported(pg), exported(chStore)]);
    expect(chRows.length).toBe(report.totalEvents + 1);
    const plain = (rows: string[][]) => rows.map((r) => [...r.slice(0, 9), r[9]!.startsWith('{') ? JSON.parse(r[9]!) : r[9], r[10]]);
    expect(plain(chRows)).toEqual(plain(pgRows));
    for (const a of agents) await a.close();
  });

  it('a batch sent again, or partly again with a duplicate inside, is held once; bad records are refused alone', async () => {
    const { token } = await issueToken(cdb.db, 'resend-host', clock.now());
    const rec = (n: number) => ({
      id: `01KB${String(n).padStart(22, '0')}`,
      recordedAt: Date.UTC(2026, 10, 30, 23, 59, 59) + n, // the last month edge: some land in December
      customerId: 'resend-co',
      userId: n % 2 ? 'u1' : null,
      hostId: 'resend-host',
      service: 'api',
      quantity: 1,
      unitPrice: '0.0001',
      costNanos: 100_000,
      metadata: { endpoint: '/x', method: 'GET', note: 'a, "quoted"\nline' },
      source: 'test',
    });
    const first = Array.from({ length: 10 }, (_, n) => rec(n));
    const again = [...first.slice(5), rec(10), rec(10), { ...rec(11), quantity: -1 }];
    for (const url of [pgCollector.url, chCollector.url]) {
      expect((await post(url, token, first)).body).toMatchObject({ inserted: 10, duplicates: 0 });
      expect((await post(url, token, first)).body).toMatchObject({ inserted: 0, duplicates: 10 });
      const r = await post(url, token, again);
      expect(r.body).toMatchObject({
        inserted: 1,
        duplicates: 6,
        rejected: [{ index: 7, reason: 'records[7].quantity: must be a finite number ≥ 0' }],
      });
    }
    const q = { from: Date.UTC(2026, 10, 1), to: Date.UTC(2027, 0, 1), customerId: 'resend-co' };
    const fromCh = await collectorReport(cdb.db, q, clock.now(), chStore);
    expect(fromCh.totalEvents).toBe(11);
    expect(fromCh).toEqual(await collectorReport(cdb.db, q, clock.now(), pgStore({ db: cdb.db })));
  });

  it('applies voids and amends like the PostgreSQL store: reports and exports equal, rollups equal the live records', async () => {
    const tdb = await testDb();
    await setPriceRule(
      tdb.db,
      {
        service: 'api',
        effectiveFrom: 0,
        spec: {
          model: 'tiered',
          tiers: [
            { upTo: 10, unitPrice: '1' },
            { upTo: null, unitPrice: '0.5' },
          ],
        },
      },
      0,
    );
    const writer = await testWriter(tdb, { hostId: 'fix-host', clock: clock.now });
    const stored = await writer.recordMany(
      [4, 4, 4, 4].map((quantity, i) => ({
        service: 'api',
        quantity,
        customerId: 'fix-co',
        recordedAt: Date.UTC(2026, 10, 19, 9) + i,
        metadata: { endpoint: '/x', method: 'GET' },
      })),
    );
    const ids = stored.map((r) => r.id);
    const { token } = await issueToken(cdb.db, 'fix-host', clock.now());
    const engine = new SyncEngine({
      outbox: new SqliteOutbox(tdb.sqlite),
      timeoutMs: 10_000,
      backoff: { baseMs: 10, maxMs: 50 },
      now: clock.now,
      random: () => 0.5,
      corrections: correctionsHook(tdb.sqlite, 5000, clock.now),
    });
    const targets = [
      resolveTarget({ name: 'pg', kind: 'tally', url: pgCollector.url, token }, 'settings'),
      resolveTarget({ name: 'ch', kind: 'tally', url: chCollector.url, token }, 'settings'),
    ];
    for (const t of targets) expect(await engine.syncTarget(t)).toMatchObject({ status: 'idle', delivered: 4 });
    await voidRecord(writer, { id: ids[0]!, reason: 'test traffic', actor: 'admin' });
    await amendRecord(writer, { id: ids[2]!, reason: 'undercounted', actor: 'cli:ops', quantity: 6 });
    for (const t of targets) {
      expect(await engine.syncTarget(t)).toMatchObject({ status: 'idle', delivered: 1 }); // the replacement
      await engine.syncTarget(t); // nothing more goes out, nothing is applied twice
    }
    const settled = tdb.sqlite.prepare("SELECT count(*) FROM sync_corrections WHERE state = 'delivered'").pluck().get();
    expect(settled).toBe(4);

    const day = { from: Date.UTC(2026, 10, 19), to: Date.UTC(2026, 10, 20), customerId: 'fix-co' };
    const pg = pgStore({ db: cdb.db, pool: cdb.pool });
    for (const q of [
      day,
      { ...day, detailed: true },
      { from: Date.UTC(2026, 10, 19, 9), to: Date.UTC(2026, 10, 19, 9, 30), customerId: 'fix-co' },
    ]) {
      expect(await collectorReport(cdb.db, q, clock.now(), chStore), JSON.stringify(q)).toEqual(
        await collectorReport(cdb.db, q, clock.now(), pg),
      );
    }
    const live = await collectorReport(cdb.db, day, clock.now(), chStore);
    const agentCost = tdb.sqlite.prepare('SELECT sum(cost_nanos) FROM usage_records WHERE voided_at IS NULL').pluck().get();
    expect(live).toMatchObject({ totalEvents: 3, totalCostNanos: agentCost });
    // Every rollup period moved by the same differences.
    const raw = createClient({ url: ch.url, database: 'tally' });
    const sums = await (
      await raw.query({
        query:
          "SELECT period, sum(event_count) AS n, toString(sum(sum_cost_nanos)) AS c FROM rollups_local WHERE customer_id = 'fix-co' GROUP BY period ORDER BY period",
        format: 'JSONEachRow',
      })
    ).json<{ period: string; n: string; c: string }>();
    await raw.close();
    expect(sums).toEqual(['day', 'hour', 'month', 'week'].map((period) => ({ period, n: '3', c: String(agentCost) })));
    // The exports hold the same live records (the voided ones in neither).
    const [pgRows, chRows] = await Promise.all([exported(pg), exported(chStore)]);
    expect(chRows.map((r) => r[0])).toEqual(pgRows.map((r) => r[0]));
    expect(chRows.some((r) => r[0] === ids[0])).toBe(false);
    await writer.close();
    await tdb.close();
  });

  it('migrations: again is a no-op; a database from a newer collector is refused', async () => {
    const again = await openClickHouseStore({ clickhouse: `${ch.url}/tally` }, clock.now());
    await again.close();
    const raw = createClient({ url: ch.url, database: 'default' });
    await raw.command({ query: 'CREATE DATABASE IF NOT EXISTS newer' });
    await raw.command({
      query: 'CREATE TABLE newer.tally_migrations (id UInt32, name String, applied_at Int64) ENGINE = MergeTree ORDER BY id',
    });
    await raw.command({
      query: "INSERT INTO newer.tally_migrations VALUES (1, 'events and rollups', 0), (2, 'corrections', 0), (999, 'from the future', 0)",
    });
    const ids = await (
      await raw.query({ query: 'SELECT DISTINCT id FROM tally.tally_migrations ORDER BY id', format: 'JSONEachRow' })
    ).json();
    expect(ids).toEqual([{ id: 1 }, { id: 2 }]);
    await raw.close();
    await expect(openClickHouseStore({ clickhouse: `${ch.url}/newer` })).rejects.toThrow(/migration 999.*newer collector/);
  });

  it('names the flag that is wrong', async () => {
    expect(() => parseClickHouseTarget(undefined, undefined)).toThrow(/^clickhouse: is required/);
    expect(() => parseClickHouseTarget('ftp://x', undefined)).toThrow(/^clickhouse: .* must start with http/);
    expect(() => parseClickHouseTarget('http://a:1/x;drop', undefined)).toThrow(/^clickhouse: database/);
    expect(() => parseClickHouseTarget('http://a:1,http://b:1', undefined)).toThrow(/^cluster: is required/);
    expect(() => parseClickHouseTarget('http://a:1', 'bad name')).toThrow(/^cluster: /);
    await expect(openClickHouseStore({ clickhouse: ch.url, cluster: 'nowhere' })).rejects.toThrow(/^cluster: "nowhere" is not in/);
  });
});

/** RFC 4180 CSV as PostgreSQL writes it (quoted fields may hold commas, quotes, newlines). */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted && ch === '"' && text[i + 1] === '"') {
      field += '"';
      i++;
    } else if (ch === '"') quoted = !quoted;
    else if (quoted || (ch !== ',' && ch !== '\n')) field += ch;
    else {
      row.push(field);
      field = '';
      if (ch === '\n') {
        rows.push(row);
        row = [];
      }
    }
  }
  return rows;
}
