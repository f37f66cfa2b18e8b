// The fault test: three agents (each `tally sync --once` in its own process, on its own SQLite
// file) sync to a collector on PostgreSQL through a proxy that answers 500, 429 with Retry-After,
// hangs past the timeout, cuts the connection mid-response after the collector stored the batch,
// and returns garbled bodies; each agent process is killed with SIGKILL mid-sync several times.
// At the end the collector holds every record exactly once: counts, ids and rollups compared.
// TALLY_FAULT_RECORDS sets the record count (default 100 000, split over the three agents).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrateCollector, openCollectorDb, type CollectorDb } from '../../src/collector/db';
import { ensureCollectorServices } from '../../src/collector/report';
import { startCollector, type RunningCollector } from '../../src/collector/server';
import { issueToken } from '../../src/collector/tokens';
import { prng } from '../../src/core/demo';
import { tempDir, testDb, testWriter } from '../helpers/db';
import { startPostgres, type TestPostgres } from '../helpers/postgres';

const TOTAL = Number(process.env.TALLY_FAULT_RECORDS ?? 100_000);
const AGENTS = 3;
const KILLS_PER_AGENT = 3;
const BUNDLE = path.resolve('dist/sync-fault/tally.mjs');
const CLI = path.resolve('dist/sync-fault/cli.mjs');

let pgServer: TestPostgres;
let cdb: CollectorDb;
let collector: RunningCollector;
let proxy: http.Server;
let proxyUrl: string;
const hung: http.ServerResponse[] = [];
const faults = { ok: 0, e500: 0, e429: 0, hang: 0, cut: 0, garbled: 0 };

/** The fault-injecting proxy in front of the collector. */
function startProxy(target: string): Promise<void> {
  const random = prng(2026);
  const upstream = new URL(target);
  proxy = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const r = random();
      if (r < 0.1) return void (faults.e500++, res.writeHead(500).end('upstream exploded'));
      if (r < 0.17) return void (faults.e429++, res.writeHead(429, { 'retry-after': '1' }).end('slow down'));
      if (r < 0.21) return void (faults.hang++, hung.push(res));
      const fwd = http.request(
        {
          host: upstream.hostname,
          port: upstream.port,
          method: req.method,
          path: req.url,
          headers: { authorization: req.headers.authorization ?? '', 'content-type': 'application/json' },
        },
        (up) => {
          const body: Buffer[] = [];
          up.on('data', (c: Buffer) => body.push(c));
          up.on('end', () => {
            if (r < 0.29) {
              // The collector stored the batch; the agent never learns it.
              faults.cut++;
              res.writeHead(200, { 'content-type': 'application/json', 'content-length': '500' });
              res.write('{"inserted":');
              return void setTimeout(() => res.destroy(), 5);
            }
            if (r < 0.36)
              return void (faults.garbled++, res.writeHead(200, { 'content-type': 'application/json' }).end('{"inserted": 12, "dupli'));
            faults.ok++;
            res.writeHead(up.statusCode ?? 502, { 'content-type': 'application/json' }).end(Buffer.concat(body));
          });
        },
      );
      fwd.on('error', () => res.destroy());
      fwd.end(Buffer.concat(chunks));
    });
  });
  return new Promise((resolve) =>
    proxy.listen(0, '127.0.0.1', () => {
      proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
      resolve();
    }),
  );
}

beforeAll(async () => {
  await build({
    entryPoints: ['src/cli/main.ts'],
    outfile: BUNDLE,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    packages: 'external',
    loader: { '.sql': 'text' },
    logLevel: 'warning',
  });
  // The same entry as bin/tally.mjs, on a bundle of this source tree.
  fs.writeFileSync(CLI, "import { run } from './tally.mjs';\nrun(process.argv.slice(2)).then((code) => { process.exitCode = code; });\n");
  pgServer = await startPostgres();
  cdb = openCollectorDb(await pgServer.createDatabase('collector_fault'));
  await migrateCollector(cdb.pool);
  await ensureCollectorServices(cdb.db, Date.now());
  collector = await startCollector({ db: cdb.db, rate: { perSecond: 200, burst: 200 } });
  await startProxy(collector.url);
});

afterAll(async () => {
  for (const res of hung) res.destroy();
  proxy?.closeAllConnections();
  await new Promise((r) => (proxy ? proxy.close(r) : r(null)));
  await collector?.close();
  await cdb?.close();
  await pgServer?.stop();
});

interface Agent {
  hostId: string;
  dbFile: string;
  configFile: string;
  ids: string[];
}

async function makeAgent(i: number, count: number): Promise<Agent> {
  const dir = tempDir('tally-fault-');
  const dbFile = path.join(dir, 'tally.db');
  const hostId = `fault-host-${i}`;
  const tdb = await testDb(dbFile);
  const writer = await testWriter(tdb, { hostId, batchSize: 10_000, maxQueue: 1_000_000 });
  const now = Date.now();
  const services = ['api', 'database', 'functions'] as const;
  for (let n = 0; n < count; n++) {
    const service = services[n % 3]!;
    const metadata =
      service === 'api'
        ? { endpoint: '/users', method: 'GET', status: 200 }
        : service === 'database'
          ? { type: 'SELECT', duration_ms: 3 }
          : { function: 'sendEmail', duration_ms: 9, memory_mb: 128 };
    writer.add({ service, quantity: 1 + (n % 5), customerId: `cust-${n % 7}`, recordedAt: now - (count - n) * 10, metadata });
  }
  await writer.close();
  const ids = tdb.sqlite.prepare('SELECT id FROM usage_records ORDER BY id').pluck().all() as string[];
  await tdb.close();
  const { token } = await issueToken(cdb.db, hostId, now);
  const configFile = path.join(dir, 'config.json');
  const config = {
    db: dbFile,
    hostId,
    sync: {
      intervalSeconds: 1,
      timeoutSeconds: 1,
      backoff: { baseSeconds: 0.02, maxSeconds: 0.3 },
      targets: [{ name: 'central', kind: 'tally', url: proxyUrl, token, batchSize: 1000 }],
    },
  };
  fs.writeFileSync(configFile, JSON.stringify(config), { mode: 0o600 });
  return { hostId, dbFile, configFile, ids };
}

async function stored(hostId: string): Promise<number> {
  const r = await cdb.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM usage_records WHERE host_id = $1', [hostId]);
  return r.rows[0]!.n;
}

/**
 * Runs `tally sync --once` until it exits 0. The first few runs are killed with SIGKILL as soon
 * as the collector has taken some of this run's records but not all: mid-sync, by construction.
 */
async function syncWithKills(agent: Agent): Promise<{ runs: number; killed: number }> {
  let killed = 0;
  for (let runs = 1; runs <= 40; runs++) {
    const before = await stored(agent.hostId);
    const child = spawn(process.execPath, [CLI, '--config', agent.configFile, 'sync', '--once', '--json'], {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, HOME: path.dirname(agent.dbFile) },
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    let done = false;
    const killer = (async () => {
      while (!done && killed < KILLS_PER_AGENT) {
        const now = await stored(agent.hostId);
        if (now > before && now < agent.ids.length && !done) {
          child.kill('SIGKILL');
          return;
        }
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    const code = await exited;
    done = true;
    await killer;
    if (code === null) {
      killed++;
      continue;
    }
    if (code === 0) return { runs, killed };
    if (!/retry|answer|reach|HTTP/.test(stderr)) throw new Error(`tally sync failed: ${stderr}`);
  }
  throw new Error(`${agent.hostId}: still not synced after 40 runs`);
}

describe('sync under faults and kill -9', () => {
  it(`delivers ${TOTAL} records from ${AGENTS} agents exactly once`, { timeout: 240_000 }, async () => {
    const per = Math.ceil(TOTAL / AGENTS);
    const agents = await Promise.all(
      Array.from({ length: AGENTS }, (_, i) => makeAgent(i, i === AGENTS - 1 ? TOTAL - per * (AGENTS - 1) : per)),
    );
    const runs = await Promise.all(agents.map((a) => syncWithKills(a)));
    // Each agent was killed mid-sync (whenever it has enough batches for that to be possible).
    for (const [i, r] of runs.entries())
      expect(r.killed, agents[i]!.hostId).toBe(agents[i]!.ids.length >= 10_000 ? KILLS_PER_AGENT : r.killed);
    expect(runs.reduce((n, r) => n + r.killed, 0)).toBeGreaterThan(0);
    // Every kind of fault happened.
    expect(Math.min(faults.e500, faults.e429, faults.hang, faults.cut, faults.garbled), JSON.stringify(faults)).toBeGreaterThan(0);

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
