// node bench/run.mjs keys — what a scoped key costs on the ingest path: the same agent (child
// process, temp SQLite file, batched writer) loaded by autocannon with single-event requests,
// alternating the admin token and an ingest key (SHA-256 of the key, one indexed lookup, the
// token bucket, the customer stamp) so both see the same machine. The key's rate is set far
// above the load: this measures the check, not the limit.
//
// Env: BENCH_SECONDS (default 8 per run), BENCH_CONNECTIONS (default 50), BENCH_ROUNDS (default 2),
//      BENCH_PROFILE (a folder for the agent's CPU profile).
import { fork, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import { defaults, type Config } from '../src/config/config';
import { EventBus } from '../src/handlers/context';
import { startHttpServer } from '../src/server/server';
import { createKey } from '../src/storage/repos/keys';
import { ensureBuiltins } from '../src/storage/repos/services';
import { openDatabase } from '../src/storage/open';
import { BatchedWriter } from '../src/storage/writer';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);

type FromChild = { type: 'ready'; url: string; token: string; key: string } | { type: 'stopped'; ingested: number; keyRows: number };

async function serve(dir: string): Promise<void> {
  const dbFile = path.join(dir, 'tally.db');
  const tdb = openDatabase(dbFile);
  await ensureBuiltins(tdb.db, Date.now());
  const base = defaults({});
  const config: Config = { ...base, db: dbFile, http: { ...base.http, port: 0 } };
  const writer = await BatchedWriter.open(tdb, {
    batchSize: config.writer.batchSize,
    batchTimeoutMs: config.writer.batchTimeoutSeconds * 1000,
    maxQueue: config.writer.maxQueue,
    hostId: 'bench',
    defaultCustomerId: 'default',
  });
  const { key } = await createKey(tdb.db, { customer: 'bench-tenant', scope: 'ingest', rate: 1_000_000 }, Date.now());
  const server = await startHttpServer({ config, tdb, writer, events: new EventBus(), now: Date.now }, undefined, {
    log: (line) => process.stderr.write(JSON.stringify(line) + '\n'),
  });
  process.send!({ type: 'ready', url: server.url, token: server.token, key } satisfies FromChild);
  process.on('message', async () => {
    await server.close();
    await writer.close();
    const keyRows = (
      tdb.sqlite.prepare("SELECT count(*) AS n FROM usage_records WHERE customer_id = 'bench-tenant'").get() as { n: number }
    ).n;
    await tdb.close();
    process.send!({ type: 'stopped', ingested: writer.metrics.ingested, keyRows } satisfies FromChild);
    process.disconnect();
  });
}

function next<T extends FromChild['type']>(child: ChildProcess, type: T): Promise<Extract<FromChild, { type: T }>> {
  return new Promise((resolve) => {
    const on = (m: FromChild) => {
      if (m.type !== type) return;
      child.off('message', on);
      resolve(m as Extract<FromChild, { type: T }>);
    };
    child.on('message', on);
  });
}

async function run(
  url: string,
  headers: Record<string, string>,
): Promise<{ rps: number; p50: number; p99: number; non2xx: number; ok: number }> {
  const body = JSON.stringify({ service: 'api', quantity: 1, metadata: { endpoint: '/bench', method: 'POST' } });
  const r = await autocannon({
    url: `${url}/v1/events`,
    method: 'POST',
    connections: CONNECTIONS,
    duration: SECONDS,
    headers: { ...headers, 'content-type': 'application/json' },
    body,
  });
  return { rps: r['2xx'] / r.duration, p50: r.latency.p50, p99: r.latency.p99, non2xx: r.non2xx, ok: r['2xx'] };
}

async function main(): Promise<void> {
  if (process.argv[2] === '--serve') return serve(process.argv[3]!);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tally-bench-keys-'));
  // BENCH_PROFILE=<folder> writes a V8 CPU profile of the agent there.
  const execArgv = process.env.BENCH_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE}`] : [];
  const child = fork(process.argv[1]!, ['--serve', dir], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv });
  const ready = await next(child, 'ready');
  const rows: Array<{ run: string; rps: number; p50: number; p99: number; non2xx: number }> = [];
  let keyOk = 0;
  for (let round = 1; round <= ROUNDS; round++) {
    rows.push({ run: `admin token #${round}`, ...(await run(ready.url, { authorization: `Bearer ${ready.token}` })) });
    const k = await run(ready.url, { 'x-api-key': ready.key });
    keyOk += k.ok;
    rows.push({ run: `ingest key #${round}`, ...k });
  }
  child.send('stop');
  const stopped = await next(child, 'stopped');
  console.log(`single-event POST /v1/events, ${CONNECTIONS} connections, ${SECONDS} s per run, ${os.cpus().length} cores`);
  console.table(rows.map((r) => ({ ...r, rps: Math.round(r.rps) })));
  console.log(`ingested ${stopped.ingested}; stored under the key's customer ${stopped.keyRows} ≥ acknowledged with the key ${keyOk}`);
  fs.rmSync(dir, { recursive: true, force: true });
  // Requests still in flight when a run ends are stored but not counted by autocannon.
  if (stopped.keyRows < keyOk) process.exitCode = 1;
}

await main();
