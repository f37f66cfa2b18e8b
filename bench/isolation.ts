// npm run bench:isolation — does a heavy report stall ingestion? The real `tally agent` (the
// built CLI) on a database holding a year of demo data; single events are POSTed one after
// another and each answer's latency is measured: alone, then while a year-long `analytics.stats`
// (p95/p99 over every raw api record of the year) and a year's breakdown by endpoint and method
// run again and again beside it. The agent
// runs that query on its analytics worker thread; the same run with TALLY_READ_WORKER=0 (the
// query on the agent's event loop, as before) is the baseline.
//
// Env: BENCH_EVENTS (default 800 per phase, each phase also ends after BENCH_PHASE_SECONDS, default 120), BENCH_DAYS (default 365 days of demo data).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 800);
const DAYS = Number(process.env.BENCH_DAYS ?? 365);
const PHASE_SECONDS = Number(process.env.BENCH_PHASE_SECONDS ?? 120);
const BIN = path.resolve('bin/tally.mjs');
const NOW = '2026-11-15T12:00:00Z'; // fixed: the cached database stays valid

interface Agent {
  url: string;
  token: string;
  child: ChildProcess;
}

function yearDatabase(): string {
  const file = path.join(os.tmpdir(), `tally-bench-isolation-${DAYS}d.db`);
  if (!fs.existsSync(file)) {
    const r = spawnSync(process.execPath, [BIN, 'demo', '--days', String(DAYS), '--db', file], {
      stdio: 'inherit',
      env: { ...process.env, TALLY_NOW: NOW, TALLY_CONFIG: '/nonexistent.json' },
    });
    if (r.status !== 0) throw new Error('demo failed');
  }
  return file;
}

async function startAgent(db: string, env: Record<string, string>): Promise<Agent> {
  const dir = path.dirname(db);
  const discovery = path.join(dir, 'agent.json');
  fs.rmSync(discovery, { force: true });
  const config = path.join(os.tmpdir(), 'tally-bench-isolation-config.json');
  fs.writeFileSync(
    config,
    JSON.stringify({ collectors: { storage: { enabled: false }, bandwidth: { enabled: false }, compute: { enabled: false } } }),
  );
  const child = spawn(process.execPath, [BIN, 'agent', '--db', db, '--port', '0'], {
    stdio: ['ignore', 'ignore', 'ignore'],
    // Commit each event at once (10 ms batch window): the latency measured is the agent's, not the batching's.
    env: { ...process.env, ...env, TALLY_NOW: NOW, TALLY_CONFIG: config, USAGE_BATCH_TIMEOUT: '0.01' },
  });
  for (let i = 0; i < 300; i++) {
    if (fs.existsSync(discovery)) {
      const info = JSON.parse(fs.readFileSync(discovery, 'utf8')) as { url: string };
      const token = fs.readFileSync(path.join(dir, 'agent.token'), 'utf8').trim();
      return { url: info.url, token, child };
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill('SIGKILL');
  throw new Error('the agent did not start');
}

async function stopAgent(a: Agent): Promise<void> {
  const exited = new Promise((r) => a.child.once('exit', r));
  a.child.kill('SIGTERM');
  await exited;
}

async function post(a: Agent, path_: string, body: unknown): Promise<Response> {
  return fetch(`${a.url}${path_}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${a.token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
}

/** Latencies (ms) of EVENTS single-event POSTs, one after another. */
async function ingestLatencies(a: Agent, count = EVENTS): Promise<number[]> {
  const out: number[] = [];
  const deadline = performance.now() + PHASE_SECONDS * 1000; // a stalled agent must not hold the bench for hours
  for (let i = 0; i < count && performance.now() < deadline; i++) {
    const t = performance.now();
    const res = await post(a, '/v1/events', { service: 'api', quantity: 1, metadata: { endpoint: '/bench', method: 'GET' } });
    if (res.status !== 201 && res.status !== 200) throw new Error(`ingest answered ${res.status}`);
    await res.arrayBuffer();
    out.push(performance.now() - t);
    if (i % 200 === 199) process.stderr.write(`  ${i + 1} events, last ${out.at(-1)!.toFixed(1)} ms\n`);
  }
  return out;
}

/** Runs year-long stats and breakdowns again and again until `stop` resolves; returns how many and their mean time. */
async function statsLoop(a: Agent, stop: Promise<void>): Promise<{ runs: number; meanMs: number }> {
  let done = false;
  void stop.then(() => (done = true));
  let runs = 0;
  let total = 0;
  while (!done) {
    const t = performance.now();
    // Alternately: p95/p99 of a year of api records, and a year's breakdown by endpoint and method (every record's metadata read).
    const [name, args] = runs % 2 === 0 ? ['analytics.stats', {}] : ['analytics.breakdown', { keys: ['endpoint', 'method'] }];
    const res = await post(a, `/api/call/${name}`, { service: 'api', from: '2025-11-15', to: '2026-11-15', ...args });
    const reply = (await res.json()) as { ok: boolean };
    if (!reply.ok) throw new Error(`stats failed: ${JSON.stringify(reply)}`);
    total += performance.now() - t;
    runs++;
  }
  return { runs, meanMs: runs ? total / runs : 0 };
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((x, y) => x - y);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
};

async function phase(db: string, env: Record<string, string>, withStats: boolean) {
  const agent = await startAgent(db, env);
  try {
    await ingestLatencies(agent, 100); // warm-up: connections, JIT, page cache
    let release!: () => void;
    const stop = new Promise<void>((r) => (release = r));
    const loop = withStats ? statsLoop(agent, stop) : Promise.resolve({ runs: 0, meanMs: 0 });
    const lat = await ingestLatencies(agent);
    release();
    const stats = await loop;
    return { events: lat.length, p50: pct(lat, 50), p99: pct(lat, 99), max: Math.max(...lat), ...stats };
  } finally {
    await stopAgent(agent);
  }
}

async function main(): Promise<void> {
  const db = yearDatabase();
  const [load1] = os.loadavg();
  console.log(
    `bench:isolation — ${os.cpus().length} cores, load ${load1!.toFixed(2)}; ${EVENTS} single events per phase; ${DAYS} days of demo data`,
  );
  const rows: Array<[string, Awaited<ReturnType<typeof phase>>]> = [
    ['ingest alone', await phase(db, {}, false)],
    ['ingest + year stats/breakdowns on the worker thread', await phase(db, {}, true)],
    ['ingest + year stats/breakdowns on the event loop (TALLY_READ_WORKER=0, before)', await phase(db, { TALLY_READ_WORKER: '0' }, true)],
  ];
  const base = rows[0]![1].p99;
  console.log('| phase | events | ingest p50 ms | ingest p99 ms | p99 vs alone | max ms | report runs (mean ms) |');
  console.log('|---|---|---|---|---|---|---|');
  for (const [name, r] of rows) {
    console.log(
      `| ${name} | ${r.events} | ${r.p50.toFixed(2)} | ${r.p99.toFixed(2)} | ${(r.p99 / base).toFixed(2)}× | ${r.max.toFixed(1)} | ${r.runs ? `${r.runs} (${r.meanMs.toFixed(0)})` : '—'} |`,
    );
  }
}

await main();
