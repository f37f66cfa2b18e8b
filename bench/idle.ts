// Idle footprint of `tally agent`: RSS and CPU share over about a minute with every collector
// on its one-minute schedule and the HTTP server up, nothing else going on; then a bounded burst
// of HTTP ingest (single events, then 1 000-event batches, with the agent's own token) and RSS
// while the agent is idle again afterwards: what the burst left behind must be given back.
// Usage: node bench/run.mjs idle [--seconds 60] [--node-options "--max-semi-space-size=1"]
//   --seconds (or env BENCH_IDLE_SECONDS): length of the idle run and of the watch after the burst.
//   env BENCH_IDLE_SINGLES (default 5000) and BENCH_IDLE_BATCHES (default 100): the burst's size.
// Targets (issue 14): idle RSS average ≤ 70 MB and max ≤ 80 MB, idle CPU < 1 %; after a burst,
// back under 100 MB within the watch.
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import { machine, reportRow } from './rows';

const args = process.argv.slice(2);
const secondsArg = args.indexOf('--seconds');
const seconds = secondsArg >= 0 ? Number(args[secondsArg + 1]) : Number(process.env.BENCH_IDLE_SECONDS ?? 60);
const singles = Number(process.env.BENCH_IDLE_SINGLES ?? 5000);
const batches = Number(process.env.BENCH_IDLE_BATCHES ?? 100);
const nodeOptionsArg = args.indexOf('--node-options');
const nodeOptions = nodeOptionsArg >= 0 ? (args[nodeOptionsArg + 1] ?? '').split(/\s+/).filter(Boolean) : [];
if (!(seconds >= 5 && seconds <= 3600)) {
  console.error('--seconds: a number from 5 to 3600');
  process.exit(1);
}
if (process.platform !== 'linux') {
  console.error('bench idle reads /proc/PID/status and /proc/PID/stat: Linux only');
  process.exit(1);
}

execFileSync(process.execPath, ['scripts/build-cli.mjs'], { stdio: 'inherit' });
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tally-idle-'));
const data = path.join(dir, 'data');
fs.mkdirSync(data);
fs.cpSync('src', path.join(data, 'src'), { recursive: true }); // a few hundred files to walk each minute
const config = path.join(dir, 'config.json');
fs.writeFileSync(config, JSON.stringify({ collectors: { storage: { paths: [data] } } }));

const child = spawn(
  process.execPath,
  [...nodeOptions, 'bin/tally.mjs', '--db', path.join(dir, 'tally.db'), '--config', config, 'agent', '--port', '0'],
  {
    env: { ...process.env, TALLY_HOME: dir },
    stdio: ['ignore', 'pipe', 'pipe'],
  },
);
let out = '';
child.stdout.on('data', (d: Buffer) => (out += d.toString()));
child.stderr.on('data', () => undefined);

function status(pid: number): { rssKb: number; ticks: number } {
  const st = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const rssKb = Number(/^VmRSS:\s+(\d+) kB$/m.exec(st)?.[1] ?? NaN);
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { rssKb, ticks: Number(f[11]) + Number(f[12]) };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const started = Date.now();
while (!out.includes('"msg":"agent started"')) {
  if (Date.now() - started > 30_000 || child.exitCode !== null) {
    console.error(`agent did not start:\n${out}`);
    process.exit(1);
  }
  await sleep(100);
}
await sleep(3_000); // let start-up work (JIT, first GC) settle
const pid = child.pid!;
const mb = (kb: number) => (kb / 1024).toFixed(1);

/** RSS each second for `secs` seconds (and the CPU ticks at both ends); `until` may end it early. */
async function watch(secs: number, until?: (rssKb: number) => boolean) {
  const first = status(pid);
  const t0 = performance.now();
  const samples: number[] = [first.rssKb];
  while (performance.now() - t0 < secs * 1000 && !until?.(samples.at(-1)!)) {
    await sleep(1_000);
    samples.push(status(pid).rssKb);
  }
  const last = status(pid);
  return {
    samples,
    elapsed: (performance.now() - t0) / 1000,
    ticks: last.ticks - first.ticks,
    avg: samples.reduce((a, b) => a + b, 0) / samples.length,
    max: Math.max(...samples),
  };
}

const idle = await watch(seconds);

// The burst: bounded counts, not a duration, so a slow machine sends the same load.
const dataDir = dir; // the agent keeps agent.token and agent.json beside its database
const token = fs.readFileSync(path.join(dataDir, 'agent.token'), 'utf8').trim();
const url = (JSON.parse(fs.readFileSync(path.join(dataDir, 'agent.json'), 'utf8')) as { url: string }).url;
const event = (i: number) => ({
  service: 'api',
  quantity: 1,
  customerId: `customer-${i % 20}`,
  metadata: { endpoint: `/v1/items/${i % 50}`, method: 'GET', status: 200 },
});
const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
const probe = await fetch(`${url}/v1/events`, { method: 'POST', headers, body: JSON.stringify(event(0)) });
if (!probe.ok) {
  console.error(`the agent refused an event: ${probe.status} ${await probe.text()}`);
  child.kill('SIGTERM');
  process.exit(1);
}
let burstMax = 0;
const sampler = setInterval(() => (burstMax = Math.max(burstMax, status(pid).rssKb)), 200);
const burstStart = performance.now();
const one = await autocannon({
  url: `${url}/v1/events`,
  method: 'POST',
  connections: 10,
  amount: singles,
  headers,
  body: JSON.stringify(event(1)),
});
const many = await autocannon({
  url: `${url}/v1/events`,
  method: 'POST',
  connections: 4,
  amount: batches,
  headers,
  body: JSON.stringify(Array.from({ length: 1000 }, (_, i) => event(i))),
});
const burstSeconds = (performance.now() - burstStart) / 1000;
clearInterval(sampler);
const afterBurst = status(pid).rssKb;
burstMax = Math.max(burstMax, afterBurst);
const failed = one.non2xx + one.errors + one.timeouts + many.non2xx + many.errors + many.timeouts;

// Idle again: how soon, and how far, RSS comes back.
const after = await watch(seconds);
const under100 = after.samples.findIndex((kb) => kb < 100 * 1024);
child.kill('SIGTERM');
const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
const runs = (out.match(/"msg":"collected"/g) ?? []).length;
fs.rmSync(dir, { recursive: true, force: true });

const cpuPercent = (idle.ticks / 100 / idle.elapsed) * 100;
console.log(
  `idle agent over ${idle.elapsed.toFixed(1)} s (collectors every minute, HTTP up, node ${nodeOptions.join(' ') || 'without flags'}, exit code ${code}; ${machine()}):`,
);
console.log(
  `  RSS      avg ${mb(idle.avg)} MB, max ${mb(idle.max)} MB   (target ≤ 70 / 80 MB)  ${idle.avg / 1024 <= 70 && idle.max / 1024 <= 80 ? 'ok' : 'OVER'}`,
);
console.log(`  CPU      ${cpuPercent.toFixed(3)} % of one core         (target < 1 %)    ${cpuPercent < 1 ? 'ok' : 'OVER'}`);
console.log(`  collector runs logged at debug level: ${runs === 0 ? 'not shown (info level)' : runs}`);
console.log(
  `burst: ${singles} single events (10 connections) and ${batches} 1 000-event batches (4 connections) in ${burstSeconds.toFixed(1)} s, ` +
    `${failed} failed; RSS max ${mb(burstMax)} MB, ${mb(afterBurst)} MB right after`,
);
console.log(
  `  idle after the burst: ${after.samples.map((kb) => mb(kb)).join(' ')} MB (one a second); ` +
    (under100 >= 0 ? `under 100 MB after ${under100} s` : `not under 100 MB within ${after.elapsed.toFixed(0)} s`),
);
reportRow({
  what: 'idle agent RSS average / max',
  value: `${mb(idle.avg)} / ${mb(idle.max)} MB`,
  detail: `${idle.samples.length} samples over ${idle.elapsed.toFixed(0)} s, collectors and HTTP up; CPU ${cpuPercent.toFixed(2)} %`,
  target: '≤ 70 / 80 MB',
  met: idle.avg / 1024 <= 70 && idle.max / 1024 <= 80,
});
const settled = after.samples.at(-1)!;
reportRow({
  what: 'idle agent RSS after a burst of load',
  value: `${mb(settled)} MB`,
  detail:
    `${seconds} s after ${singles} single events + ${batches}×1 000-event batches; ${mb(afterBurst)} MB right after, max ${mb(burstMax)} MB; ` +
    (under100 >= 0 ? `under 100 MB after ${under100} s` : 'never under 100 MB'),
  target: 'back under 100 MB',
  met: under100 >= 0 && settled < 100 * 1024,
});
if (failed > 0 || code !== 0) process.exitCode = 1;
