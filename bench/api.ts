// npm run bench:api — the agent's HTTP ingestion over loopback: the real server (Fastify, the
// token check, the batched writer, a temp SQLite file) in a child process, loaded by
// autocannon with ~50 connections. Two runs, each bounded: single-event requests and
// 1 000-event batches. Every 2xx answer came after the commit holding its events, and the
// row count is checked against the acknowledged events at the end.
//
// The batch run is compared with `tally import` of the same events (a JSON Lines file, a fresh
// database, in-process writer): events per CPU-second of each process, measured in the same run.
// The single-event run is compared with a bare Fastify route answering the same body.
//
// Afterwards it runs the idle footprint bench (bench/idle.ts: `tally agent` with every collector
// on a one-minute schedule, RSS and CPU share over a minute), so one command prints both.
//
// Env: BENCH_SECONDS (default 10 per run), BENCH_CONNECTIONS (default 50),
//      BENCH_IDLE_SECONDS (default 60; 0 skips the idle run),
//      BENCH_IMPORT_EVENTS (default 300 000: the JSON Lines file `tally import` reads).
import { fork, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import { EventBus } from '../src/handlers/context';
import { defaults, type Config } from '../src/config/config';
import { openDatabase } from '../src/storage/open';
import { startHttpServer } from '../src/server/server';
import { BatchedWriter } from '../src/storage/writer';
import { ensureBuiltins } from '../src/storage/repos/services';
import { machine, ratio, reportRow } from './rows';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const IMPORT_EVENTS = Number(process.env.BENCH_IMPORT_EVENTS ?? 300_000);

type ToChild = { type: 'cpu' } | { type: 'stop' };
type FromChild =
  | { type: 'ready'; url: string; token: string }
  | { type: 'cpu'; cpuMs: number; rss: number }
  | { type: 'stopped'; ingested: number; flushes: number; rss: number };

/** The agent side: what `tally agent` runs for its HTTP API, minus the collectors. */
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
  const server = await startHttpServer({ config, tdb, writer, events: new EventBus(), now: Date.now }, undefined, {
    log: (line) => process.stderr.write(JSON.stringify(line) + '\n'),
  });
  const send = (m: FromChild) => process.send!(m);
  send({ type: 'ready', url: server.url, token: server.token });
  process.on('message', async (m: ToChild) => {
    if (m.type === 'cpu') {
      const u = process.cpuUsage();
      send({ type: 'cpu', cpuMs: (u.user + u.system) / 1000, rss: process.memoryUsage().rss });
    } else if (m.type === 'stop') {
      await server.close();
      await writer.close();
      const rss = process.memoryUsage().rss;
      await tdb.close();
      send({ type: 'stopped', ingested: writer.metrics.ingested, flushes: writer.metrics.flushes, rss });
      process.disconnect();
    }
  });
}

/** The ceiling on this machine right now: Fastify parsing the same JSON, no token, no database. */
async function serveBare(): Promise<void> {
  const { default: Fastify } = await import('fastify');
  const app = Fastify({ logger: false, bodyLimit: 5 * 1024 * 1024 });
  app.post('/v1/events', async (req) => ({ accepted: Array.isArray(req.body) ? req.body.length : 1 }));
  await app.listen({ host: '127.0.0.1', port: 0 });
  const port = (app.server.address() as { port: number }).port;
  process.send!({ type: 'ready', url: `http://127.0.0.1:${port}`, token: '-' } satisfies FromChild);
  process.on('message', async (m: ToChild) => {
    if (m.type === 'cpu') {
      const u = process.cpuUsage();
      process.send!({ type: 'cpu', cpuMs: (u.user + u.system) / 1000, rss: process.memoryUsage().rss } satisfies FromChild);
    } else if (m.type === 'stop') {
      await app.close();
      process.send!({ type: 'stopped', ingested: 0, flushes: 0, rss: process.memoryUsage().rss } satisfies FromChild);
      process.disconnect();
    }
  });
}

function ask<T extends FromChild['type']>(child: ChildProcess, type: T, message?: ToChild): Promise<Extract<FromChild, { type: T }>> {
  return new Promise((resolve, reject) => {
    const onMessage = (m: FromChild) => {
      if (m.type !== type) return;
      child.off('message', onMessage);
      child.off('exit', onExit);
      resolve(m as Extract<FromChild, { type: T }>);
    };
    const onExit = (code: number | null) => reject(new Error(`the agent exited (${code}) before answering ${type}`));
    child.on('message', onMessage);
    child.once('exit', onExit);
    if (message) child.send(message);
  });
}

interface Row {
  run: string;
  requestsPerSecond: number;
  eventsPerSecond: number;
  p50: number;
  p99: number;
  ok: number;
  failed: number;
  /** non-2xx answers / socket errors / timeouts (autocannon's 10 s). */
  failures: string;
  agentCpu: number;
}

async function load(
  child: ChildProcess,
  url: string,
  token: string,
  name: string,
  body: string,
  events: number,
  seconds: number,
): Promise<Row> {
  const cpuBefore = await ask(child, 'cpu', { type: 'cpu' });
  const result = await autocannon({
    url: `${url}/v1/events`,
    method: 'POST',
    connections: CONNECTIONS,
    duration: seconds,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body,
  });
  const cpuAfter = await ask(child, 'cpu', { type: 'cpu' });
  const ok = result['2xx'];
  return {
    run: name,
    requestsPerSecond: ok / result.duration,
    eventsPerSecond: (ok * events) / result.duration,
    p50: result.latency.p50,
    p99: result.latency.p99,
    ok,
    failed: result.non2xx + result.errors + result.timeouts,
    failures: `${result.non2xx} non-2xx, ${result.errors} errors, ${result.timeouts} timeouts`,
    agentCpu: (cpuAfter.cpuMs - cpuBefore.cpuMs) / (result.duration * 1000),
  };
}

function apiEvent(i: number) {
  return {
    service: 'api',
    quantity: 1,
    customerId: `customer-${i % 20}`,
    metadata: { endpoint: `/v1/items/${i % 50}`, method: i % 4 === 0 ? 'POST' : 'GET', status: 200 },
  };
}

/**
 * `tally import` of the batch run's events (the same 1 000 bodies' events repeated, as JSON Lines)
 * into a fresh database, as its own process under /usr/bin/time: events per CPU-second (user + system).
 */
async function importRun(dir: string): Promise<{ eventsPerCpuSecond: number; cpuSeconds: number; events: number }> {
  const file = path.join(dir, 'events.jsonl');
  const lines: string[] = [];
  for (let i = 0; i < IMPORT_EVENTS; i++) lines.push(JSON.stringify(apiEvent(i % 1000)));
  fs.writeFileSync(file, lines.join('\n') + '\n');
  const db = path.join(dir, 'import.db');
  const tdb = openDatabase(db);
  await ensureBuiltins(tdb.db, Date.now());
  await tdb.close();
  const r = spawnSync('/usr/bin/time', ['-f', '%U %S', process.execPath, 'bin/tally.mjs', 'import', file, '--db', db, '--json'], {
    encoding: 'utf8',
    env: { ...process.env, TALLY_NO_AGENT: '1', TALLY_CONFIG: '/nonexistent.json' },
  });
  if (r.status !== 0) throw new Error(`tally import failed: ${r.stderr.slice(-2000)}`);
  const [user, system] = r.stderr.trim().split('\n').at(-1)!.split(' ').map(Number);
  const check = openDatabase(db, { readonly: true });
  const stored = (check.sqlite.prepare('SELECT count(*) AS n FROM usage_records').get() as { n: number }).n;
  await check.close();
  if (stored !== IMPORT_EVENTS) throw new Error(`tally import stored ${stored} of ${IMPORT_EVENTS}`);
  const cpuSeconds = user! + system!;
  return { eventsPerCpuSecond: IMPORT_EVENTS / cpuSeconds, cpuSeconds, events: IMPORT_EVENTS };
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tally-bench-api-'));
  // BENCH_PROFILE=<folder> writes a V8 CPU profile of the agent side (and of the bare Fastify reference) there.
  const execArgv = process.env.BENCH_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE}`] : [];
  const child = fork(process.argv[1]!, ['--serve', dir], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv });
  try {
    const { url, token } = await ask(child, 'ready');
    const single = JSON.stringify(apiEvent(1));
    const batch = JSON.stringify(Array.from({ length: 1000 }, (_, i) => apiEvent(i)));
    const load1 = os.loadavg()[0]!;
    // BENCH_ONLY=single|batch runs one of the two (for profiling).
    const only = process.env.BENCH_ONLY;
    console.log(
      `bench:api — ${url}, ${CONNECTIONS} connections, ${SECONDS} s per run, ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? '?'}), load average ${load1.toFixed(2)} before the runs`,
    );
    console.log(`bodies: one event ${single.length} B; 1 000-event batch ${(batch.length / 1024).toFixed(0)} KiB`);

    let acknowledged = 0;
    const warm = await load(child, url, token, 'warm-up', single, 1, 2);
    acknowledged += warm.ok;
    const rows: Row[] = [];
    let singleRow: Row | undefined;
    let batchRow: Row | undefined;
    let bareSingle: Row | undefined;
    if (only !== 'batch') {
      singleRow = await load(child, url, token, 'single event / request', single, 1, SECONDS);
      rows.push(singleRow);
      acknowledged += singleRow.ok;
    }
    if (only !== 'single') {
      batchRow = await load(child, url, token, '1 000-event batches', batch, 1000, SECONDS);
      rows.push(batchRow);
      acknowledged += batchRow.ok * 1000;
    }
    if (!only) {
      // The same load on a bare Fastify route: what this machine allows at the moment.
      const bare = fork(process.argv[1]!, ['--serve-bare'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv });
      const ready = await ask(bare, 'ready');
      bareSingle = await load(bare, ready.url, '-', 'reference: bare Fastify, single', single, 1, Math.min(SECONDS, 5));
      rows.push(bareSingle);
      rows.push(await load(bare, ready.url, '-', 'reference: bare Fastify, batch', batch, 1000, Math.min(SECONDS, 5)));
      await ask(bare, 'stopped', { type: 'stop' });
    }

    const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
    const table = [
      // events per CPU-second of the server process: what one whole core would sustain, a figure
      // that depends less on what else the machine is doing than events/s does.
      ['run', 'requests/s', 'events/s', 'p50 ms', 'p99 ms', '2xx', 'failed', 'server CPU', 'events/CPU-s'],
      ...rows.map((r) => [
        r.run,
        fmt(r.requestsPerSecond),
        fmt(r.eventsPerSecond),
        String(r.p50),
        String(r.p99),
        fmt(r.ok),
        fmt(r.failed),
        `${(r.agentCpu * 100).toFixed(0)} %`,
        r.agentCpu > 0 ? fmt(r.eventsPerSecond / r.agentCpu) : '-',
      ]),
    ];
    const widths = table[0]!.map((_, i) => Math.max(...table.map((r) => r[i]!.length)));
    console.log('');
    for (const [i, r] of table.entries()) {
      console.log(r.map((c, j) => (j === 0 ? c.padEnd(widths[j]!) : c.padStart(widths[j]!))).join('  '));
      if (i === 0) console.log(widths.map((w) => '─'.repeat(w)).join('  '));
    }

    for (const r of rows) if (r.failed > 0) console.log(`${r.run}: ${r.failures}`);

    const stopped = await ask(child, 'stopped', { type: 'stop' });
    const check = openDatabase(path.join(dir, 'tally.db'), { readonly: true });
    const stored = (check.sqlite.prepare('SELECT count(*) AS n FROM usage_records').get() as { n: number }).n;
    await check.close();
    console.log('');
    // Requests still in flight when a run stops (or that autocannon gave up on) may be
    // committed without being counted as acknowledged.
    const inFlight = (CONNECTIONS + (singleRow?.failed ?? 0) + (batchRow?.failed ?? 0)) * 1000;
    const consistent = stored >= acknowledged && stored - acknowledged <= inFlight + CONNECTIONS * 2;
    console.log(
      `stored ${fmt(stored)} rows for ${fmt(acknowledged)} acknowledged events (${consistent ? 'every acknowledged event present' : 'MISMATCH'}; ` +
        `${fmt(stored - acknowledged)} more from requests in flight when a run stopped); ${fmt(stopped.flushes)} commits; agent RSS ${(stopped.rss / 2 ** 20).toFixed(0)} MB after load`,
    );
    const verdict = (row: Row | undefined, target: number, value: (r: Row) => number) =>
      row === undefined ? 'not run' : value(row) >= target ? 'met' : 'missed';
    console.log(
      `targets: ≥ 10 000 requests/s single (${verdict(singleRow, 10_000, (r) => r.requestsPerSecond)}), ≥ 100 000 events/s batched (${verdict(batchRow, 100_000, (r) => r.eventsPerSecond)}); ` +
        `autocannon and the agent share this machine's CPUs (load average now ${os.loadavg()[0]!.toFixed(2)})`,
    );
    if (!consistent) process.exitCode = 1;

    console.log('');
    console.log(`issue 14's rows (${machine()}):`);
    if (batchRow !== undefined) {
      const imported = await importRun(dir);
      const http = batchRow.eventsPerSecond / batchRow.agentCpu;
      reportRow({
        what: 'HTTP 1 000-event batches, events per server CPU-second, vs `tally import`',
        value: ratio(http, imported.eventsPerCpuSecond),
        detail: `${fmt(http)} vs ${fmt(imported.eventsPerCpuSecond)} events/CPU-s (tally import of ${fmt(imported.events)} events as JSON Lines: ${imported.cpuSeconds.toFixed(2)} CPU-s)`,
        target: '≥ 0.8×',
        met: http / imported.eventsPerCpuSecond >= 0.8,
      });
    }
    if (singleRow !== undefined && bareSingle !== undefined) {
      reportRow({
        what: 'HTTP single events vs bare Fastify answering the same body',
        value: ratio(singleRow.requestsPerSecond, bareSingle.requestsPerSecond),
        detail: `${fmt(singleRow.requestsPerSecond)} vs ${fmt(bareSingle.requestsPerSecond)} requests/s; per server CPU-second ${ratio(
          singleRow.requestsPerSecond / singleRow.agentCpu,
          bareSingle.requestsPerSecond / bareSingle.agentCpu,
        )}`,
        target: '≥ 0.6×',
        met: singleRow.requestsPerSecond / bareSingle.requestsPerSecond >= 0.6,
      });
    }
  } finally {
    // Give the agent a moment to exit on its own (a CPU profile is written on exit).
    if (child.exitCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      const timer = setTimeout(() => child.kill(), 10_000);
      await exited;
      clearTimeout(timer);
    }
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function idle(): void {
  const seconds = Number(process.env.BENCH_IDLE_SECONDS ?? 60);
  if (!(seconds > 0) || !fs.existsSync('bench/idle.ts')) return;
  console.log(`\nidle footprint (bench/idle.ts, ${seconds} s):`);
  const r = spawnSync(process.execPath, ['bench/run.mjs', 'idle', '--seconds', String(seconds)], { stdio: 'inherit' });
  if (r.status !== 0) process.exitCode = r.status ?? 1;
}

if (process.argv[2] === '--serve') void serve(process.argv[3]!);
else if (process.argv[2] === '--serve-bare') void serveBare();
else {
  await main();
  idle();
}
