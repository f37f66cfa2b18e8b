// The sync fault machinery, for any collector store: a proxy in front of the collector that
// answers 500, 429 with Retry-After, hangs past the agent's timeout, cuts the connection after the
// collector stored the batch, and garbles bodies; agents on their own SQLite files; and a runner
// that SIGKILLs `tally sync --once` mid-sync (as soon as the collector holds some but not all of
// the agent's records). The same steps as test/sync/fault.test.ts, which predates this helper.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { build } from 'esbuild';
import { prng } from '../../src/core/demo';
import { tempDir, testDb, testWriter } from './db';

export interface FaultCounts {
  ok: number;
  e500: number;
  e429: number;
  hang: number;
  cut: number;
  garbled: number;
}

export interface FaultProxy {
  readonly url: string;
  readonly faults: FaultCounts;
  close(): Promise<void>;
}

/** Bundles this source tree's CLI into `dir` (tally.mjs + cli.mjs, the bin's entry); returns cli.mjs. */
export async function bundleCli(dir: string): Promise<string> {
  const bundle = path.resolve(dir, 'tally.mjs');
  await build({
    entryPoints: ['src/cli/main.ts'],
    outfile: bundle,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    packages: 'external',
    loader: { '.sql': 'text' },
    logLevel: 'warning',
  });
  const cli = path.resolve(dir, 'cli.mjs');
  fs.writeFileSync(cli, "import { run } from './tally.mjs';\nrun(process.argv.slice(2)).then((code) => { process.exitCode = code; });\n");
  return cli;
}

function forward(target: URL, req: http.IncomingMessage, body: Buffer, res: http.ServerResponse, r: number, faults: FaultCounts): void {
  const fwd = http.request(
    {
      host: target.hostname,
      port: target.port,
      method: req.method,
      path: req.url,
      headers: { authorization: req.headers.authorization ?? '', 'content-type': 'application/json' },
    },
    (up) => {
      const chunks: Buffer[] = [];
      up.on('data', (c: Buffer) => chunks.push(c));
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
        res.writeHead(up.statusCode ?? 502, { 'content-type': 'application/json' }).end(Buffer.concat(chunks));
      });
    },
  );
  fwd.on('error', () => res.destroy());
  fwd.end(body);
}

export function startFaultProxy(target: string, seed = 2026): Promise<FaultProxy> {
  const random = prng(seed);
  const upstream = new URL(target);
  const faults: FaultCounts = { ok: 0, e500: 0, e429: 0, hang: 0, cut: 0, garbled: 0 };
  const hung: http.ServerResponse[] = [];
  const proxy = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const r = random();
      if (r < 0.1) return void (faults.e500++, res.writeHead(500).end('upstream exploded'));
      if (r < 0.17) return void (faults.e429++, res.writeHead(429, { 'retry-after': '1' }).end('slow down'));
      if (r < 0.21) return void (faults.hang++, hung.push(res));
      forward(upstream, req, Buffer.concat(chunks), res, r, faults);
    });
  });
  return new Promise((resolve) =>
    proxy.listen(0, '127.0.0.1', () =>
      resolve({
        url: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`,
        faults,
        async close() {
          for (const res of hung) res.destroy();
          proxy.closeAllConnections();
          await new Promise((r) => proxy.close(r));
        },
      }),
    ),
  );
}

export interface FaultAgent {
  readonly hostId: string;
  readonly dbFile: string;
  readonly configFile: string;
  /** Every record id, sorted. */
  readonly ids: string[];
}

/** An agent with `count` records of three services over seven customers, 10 ms apart from `start`, syncing to `url` with `token`. */
export async function makeFaultAgent(
  hostId: string,
  count: number,
  url: string,
  token: string,
  start = Date.UTC(2026, 10, 16, 12),
): Promise<FaultAgent> {
  const dir = tempDir('tally-fault-');
  const dbFile = path.join(dir, 'tally.db');
  const tdb = await testDb(dbFile);
  const writer = await testWriter(tdb, { hostId, batchSize: 10_000, maxQueue: 1_000_000 });
  const services = ['api', 'database', 'functions'] as const;
  for (let n = 0; n < count; n++) {
    const service = services[n % 3]!;
    const metadata =
      service === 'api'
        ? { endpoint: '/users', method: 'GET', status: 200 }
        : service === 'database'
          ? { type: 'SELECT', duration_ms: 3 }
          : { function: 'sendEmail', duration_ms: 9, memory_mb: 128 };
    writer.add({ service, quantity: 1 + (n % 5), customerId: `cust-${n % 7}`, recordedAt: start + n * 10, metadata });
  }
  await writer.close();
  const ids = tdb.sqlite.prepare('SELECT id FROM usage_records ORDER BY id').pluck().all() as string[];
  await tdb.close();
  const configFile = path.join(dir, 'config.json');
  const config = {
    db: dbFile,
    hostId,
    sync: {
      intervalSeconds: 1,
      timeoutSeconds: 1,
      backoff: { baseSeconds: 0.02, maxSeconds: 0.3 },
      targets: [{ name: 'central', kind: 'tally', url, token, batchSize: 1000 }],
    },
  };
  fs.writeFileSync(configFile, JSON.stringify(config), { mode: 0o600 });
  return { hostId, dbFile, configFile, ids };
}

/**
 * Runs `tally sync --once` (the bundle `cli`) until it exits 0. The first `kills` runs are
 * killed with SIGKILL as soon as `stored(hostId)` shows some but not all of this agent's records.
 */
export async function syncWithKills(
  cli: string,
  agent: FaultAgent,
  stored: (hostId: string) => Promise<number>,
  kills: number,
): Promise<{ runs: number; killed: number }> {
  let killed = 0;
  for (let runs = 1; runs <= 40; runs++) {
    const before = await stored(agent.hostId);
    const child = spawn(process.execPath, [cli, '--config', agent.configFile, 'sync', '--once', '--json'], {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, HOME: path.dirname(agent.dbFile) },
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    let done = false;
    const killer = (async () => {
      while (!done && killed < kills) {
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
