// The collector's ClickHouse store as an admin uses it: `tally collector serve --store clickhouse`,
// an agent's `tally sync --once` into it, `collector report|export --store clickhouse` equal to
// the agent's own; `collector migrate-store` copying a PostgreSQL store (again: nothing new);
// wrong flags refused with exit 1, naming the flag.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrateCollector, openCollectorDb } from '../../src/collector/db';
import { startCollector } from '../../src/collector/server';
import { clickhouseMissing, startClickHouse, type TestClickHouse } from '../helpers/clickhouse';
import { tally, tallyJson } from '../helpers/cli';
import { tempDir } from '../helpers/db';
import { startPostgres, type TestPostgres } from '../helpers/postgres';
import { startBoth } from '../helpers/servers';

const missing = clickhouseMissing();
if (missing) console.warn(missing);

const dir = tempDir('tally-collector-ch-cli-');
const NOW = { TALLY_NOW: '2026-11-20T12:00:00Z' };
const ALL = ['--from', '2000-01', '--to', '2100-01'];
let pgServer: TestPostgres;
let ch: TestClickHouse;
let pgUrl: string;
let chUrl: string;
let serve: ChildProcess;
let collectorUrl: string;

/** `tally` without blocking this process (spawnSync would stall a server running in it). */
function tallyAsync(args: readonly string[], env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.resolve('bin/tally.mjs'), ...args], {
      env: { PATH: process.env.PATH ?? '', HOME: dir, TALLY_CONFIG: '/nonexistent/tally-test-config.json', ...env },
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('exit', (code) => resolve({ code, stderr }));
  });
}

describe.skipIf(missing !== null)('tally collector --store clickhouse', () => {
  beforeAll(async () => {
    [pgServer, ch] = await startBoth(startPostgres(), startClickHouse());
    pgUrl = await pgServer.createDatabase('collector_ch_cli');
    chUrl = `${ch.url}/tally`;
    serve = spawn(
      process.execPath,
      [path.resolve('bin/tally.mjs'), 'collector', 'serve', '--pg', pgUrl, '--store', 'clickhouse', '--clickhouse', chUrl, '--port', '0'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    collectorUrl = await new Promise<string>((resolve, reject) => {
      let out = '';
      serve.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /listening on (\S+)/.exec(out);
        if (m) resolve(m[1]!);
      });
      serve.once('exit', (code) => reject(new Error(`collector serve exited ${code}`)));
    });
  });

  afterAll(async () => {
    if (serve && serve.exitCode === null) {
      process.kill(serve.pid!, 'SIGTERM');
      await new Promise((r) => serve.once('exit', r));
    }
    await Promise.all([pgServer?.stop(), ch?.stop()]);
  });

  it("an agent syncs into ClickHouse; report and export equal the agent's own", () => {
    const token = tally(['collector', 'token', 'issue', 'ch-cli-host', '--pg', pgUrl]).stdout.trim();
    fs.writeFileSync(path.join(dir, 'token'), token, { mode: 0o600 });
    const env = { ...NOW, TALLY_DB: path.join(dir, 'agent.db'), TALLY_HOST_ID: 'ch-cli-host' };
    expect(tally(['demo', '--days', '3', '--scale', '0.05'], env).code).toBe(0);
    const added = tally(
      ['sync', 'target', 'add', 'central', '--kind', 'tally', '--url', collectorUrl, '--token-file', path.join(dir, 'token')],
      env,
    );
    expect(added.code, added.stderr).toBe(0);
    const once = tally(['sync', '--once'], env);
    expect(once.code, once.stderr).toBe(0);

    const mine = tallyJson<{ totalEvents: number; totalCost: string }>(['report', ...ALL], env);
    const store = ['--pg', pgUrl, '--store', 'clickhouse', '--clickhouse', chUrl];
    const org = tallyJson<{ totalEvents: number; totalCost: string }>(['collector', 'report', ...store, ...ALL]);
    expect(mine.totalEvents).toBeGreaterThan(100);
    expect(org).toMatchObject({ totalEvents: mine.totalEvents, totalCost: mine.totalCost });
    const csv = tally(['collector', 'export', ...store, ...ALL]);
    expect(csv.code, csv.stderr).toBe(0);
    expect(csv.stdout.split('\n')[0]).toBe(
      'id,recorded_at,customer_id,user_id,host_id,service,quantity,unit_price,cost_nanos,metadata,source',
    );
    expect(csv.stdout.trim().split('\n')).toHaveLength(mine.totalEvents + 1);
    const file = path.join(dir, 'all.csv');
    expect(tally(['collector', 'export', ...store, ...ALL, '--out', file]).code).toBe(0);
    expect(fs.readFileSync(file, 'utf8')).toBe(csv.stdout);
  });

  it('migrate-store copies a PostgreSQL store into ClickHouse, once', async () => {
    // A PostgreSQL store with the agent's records (its own collector, records in PostgreSQL).
    const sourceUrl = await pgServer.createDatabase('collector_ch_cli_source');
    const source = openCollectorDb(sourceUrl);
    await migrateCollector(source.pool);
    const pgCollector = await startCollector({ db: source.db });
    try {
      const token = tally(['collector', 'token', 'issue', 'ch-cli-host', '--pg', sourceUrl]).stdout.trim();
      const env = { ...NOW, TALLY_DB: path.join(dir, 'agent.db'), TALLY_HOST_ID: 'ch-cli-host' };
      expect(tally(['sync', 'target', 'add', 'old', '--kind', 'tally', '--url', pgCollector.url, '--token', token], env).code).toBe(0);
      // Not spawnSync: the collector in this process must keep answering.
      const synced = await tallyAsync(['sync', '--once', '--target', 'old'], env);
      expect(synced.code, synced.stderr).toBe(0);
    } finally {
      await pgCollector.close();
      await source.close();
    }
    const target = ['--pg', sourceUrl, '--clickhouse', `${ch.url}/migrated`];
    const first = tallyJson<{ read: number; inserted: number }>(['collector', 'migrate-store', ...target]);
    expect(first.inserted).toBe(first.read);
    expect(first.read).toBeGreaterThan(100);
    expect(tallyJson(['collector', 'migrate-store', ...target])).toEqual({ read: first.read, inserted: 0 });
    const fromPg = tallyJson(['collector', 'report', '--pg', sourceUrl, ...ALL]);
    const fromCh = tallyJson(['collector', 'report', ...target, '--store', 'clickhouse', ...ALL]);
    expect(fromCh).toEqual(fromPg);
  });

  it('refuses wrong store flags, naming the flag', () => {
    const cases: Array<[string[], RegExp]> = [
      [['collector', 'report', '--pg', pgUrl, '--store', 'mysql'], /store: "mysql" must be postgres or clickhouse/],
      [['collector', 'report', '--pg', pgUrl, '--store', 'clickhouse'], /clickhouse: is required with --store clickhouse/],
      [
        ['collector', 'report', '--pg', pgUrl, '--store', 'clickhouse', '--clickhouse', chUrl, '--cluster', 'nowhere'],
        /cluster: "nowhere" is not in/,
      ],
    ];
    for (const [args, message] of cases) {
      const r = tally(args);
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.stderr).toMatch(message);
    }
  });
});
