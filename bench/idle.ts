// Idle footprint of `tally agent`: RSS and CPU share over about a minute with every collector
// on its one-minute schedule and the HTTP server up, nothing else going on.
// Usage: node bench/run.mjs idle [--seconds 60] [--node-options "--max-semi-space-size=1"]
// Targets (issue 3): idle RSS ≤ 80 MB, idle CPU < 1 %.
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const args = process.argv.slice(2);
const secondsArg = args.indexOf('--seconds');
const seconds = secondsArg >= 0 ? Number(args[secondsArg + 1]) : 60;
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
const first = status(pid);
const t0 = performance.now();
let maxRss = first.rssKb;
const samples: number[] = [first.rssKb];
while (performance.now() - t0 < seconds * 1000) {
  await sleep(1_000);
  const s = status(pid);
  samples.push(s.rssKb);
  maxRss = Math.max(maxRss, s.rssKb);
}
const last = status(pid);
const elapsed = (performance.now() - t0) / 1000;
child.kill('SIGTERM');
const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
const runs = (out.match(/"msg":"collected"/g) ?? []).length;
fs.rmSync(dir, { recursive: true, force: true });

const cpuPercent = ((last.ticks - first.ticks) / 100 / elapsed) * 100;
const mb = (kb: number) => (kb / 1024).toFixed(1);
const avg = samples.reduce((a, b) => a + b, 0) / samples.length;
console.log(
  `idle agent over ${elapsed.toFixed(1)} s (collectors every minute, HTTP up, node ${nodeOptions.join(' ') || 'without flags'}, exit code ${code}):`,
);
console.log(`  RSS      avg ${mb(avg)} MB, max ${mb(maxRss)} MB   (target ≤ 80 MB)  ${maxRss / 1024 <= 80 ? 'ok' : 'OVER'}`);
console.log(`  CPU      ${cpuPercent.toFixed(3)} % of one core         (target < 1 %)    ${cpuPercent < 1 ? 'ok' : 'OVER'}`);
console.log(`  collector runs logged at debug level: ${runs === 0 ? 'not shown (info level)' : runs}`);
