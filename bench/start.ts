// npm run bench:start — cold start of `tally report` (and `tally report --json`) against
// `node -e 0`, run alternately on the same machine so both see the same load: median wall time of
// each and their ratio. Afterwards one traced run lists what the report loaded at start (files per
// package, through a module load hook) and one profiled run where its CPU time went (per package).
// Usage: node bench/run.mjs start [--runs 15]   (env BENCH_START_RUNS)
// Target (issue 14): `tally report` ≤ 2.5× `node -e 0`.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { machine, ratio, reportRow } from './rows';

const args = process.argv.slice(2);
const runsArg = args.indexOf('--runs');
const runs = runsArg >= 0 ? Number(args[runsArg + 1]) : Number(process.env.BENCH_START_RUNS ?? 15);
if (!(runs >= 1 && runs <= 1000)) {
  console.error('--runs: a number from 1 to 1000');
  process.exit(1);
}

execFileSync(process.execPath, ['scripts/build-cli.mjs'], { stdio: 'inherit' });
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tally-start-'));
const db = path.join(dir, 'tally.db');
// No agent, no config file of the user's: the report reads the database in this process.
const env: NodeJS.ProcessEnv = { ...process.env, TALLY_HOME: dir, TALLY_CONFIG: path.join(dir, 'none.json'), TALLY_NO_AGENT: '1' };
delete env.NODE_OPTIONS;
const tally = ['bin/tally.mjs', '--db', db];
const demo = spawnSync(process.execPath, [...tally, 'demo', '--days', '30'], { env, encoding: 'utf8' });
if (demo.status !== 0) {
  console.error(`tally demo failed:\n${demo.stderr}`);
  process.exit(1);
}

/** CPU time of this process's finished children (user + system, ms; Linux /proc, else 0). */
function childrenCpuMs(): number {
  if (process.platform !== 'linux') return 0;
  const stat = fs.readFileSync('/proc/self/stat', 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(f[13]) + Number(f[14])) / 100) * 1000; // cutime + cstime, in ticks of 10 ms
}
const cpu: Record<string, number> = {};

function timed(argv: string[], name = ''): number {
  const t = performance.now();
  const c = childrenCpuMs();
  const r = spawnSync(process.execPath, argv, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const ms = performance.now() - t;
  cpu[name] = (cpu[name] ?? 0) + childrenCpuMs() - c;
  if (r.status !== 0) {
    console.error(`node ${argv.join(' ')} failed (${r.status}):\n${r.stderr}`);
    process.exit(1);
  }
  return ms;
}
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

const variants = {
  'node -e 0': ['-e', '0'],
  'tally report': [...tally, 'report'],
  'tally report --json': [...tally, 'report', '--json'],
} as const;
type Variant = keyof typeof variants;
const times: Record<Variant, number[]> = { 'node -e 0': [], 'tally report': [], 'tally report --json': [] };
// One warm-up of each (file cache), then alternate so a change in load hits every variant alike.
for (const v of Object.keys(variants) as Variant[]) timed([...variants[v]]);
for (let i = 0; i < runs; i++) for (const v of Object.keys(variants) as Variant[]) times[v].push(timed([...variants[v]], v));

const base = median(times['node -e 0']);
// CPU time per run depends less on the machine's load than wall time does: shown beside it.
const cpuOf = (v: Variant) => (cpu[v] ?? 0) / runs;
console.log(`cold start, median of ${runs} alternating runs (${machine()}):`);
for (const v of Object.keys(variants) as Variant[]) {
  const m = median(times[v]);
  console.log(
    `  ${v.padEnd(22)} ${m.toFixed(1).padStart(7)} ms  ${ratio(m, base)}  (min ${Math.min(...times[v]).toFixed(1)} ms; ` +
      `CPU ${cpuOf(v).toFixed(0)} ms a run, ${ratio(cpuOf(v), cpuOf('node -e 0'))})`,
  );
}
for (const v of ['tally report', 'tally report --json'] as const) {
  const m = median(times[v]);
  reportRow({
    what: `\`${v}\` cold start vs \`node -e 0\``,
    value: ratio(m, base),
    detail: `${m.toFixed(0)} ms vs ${base.toFixed(0)} ms, median of ${runs}; CPU ${cpuOf(v).toFixed(0)} vs ${cpuOf('node -e 0').toFixed(0)} ms a run (${ratio(cpuOf(v), cpuOf('node -e 0'))})`,
    target: '≤ 2.5×',
    met: m / base <= 2.5,
  });
}

// What is left: the files each package contributes at start, and the CPU time per package.
const trace = path.join(dir, 'loaded.txt');
const hook = path.join(dir, 'hook.mjs');
fs.writeFileSync(
  hook,
  `import fs from 'node:fs';\n` +
    `export async function load(url, context, next) { fs.appendFileSync(${JSON.stringify(trace)}, url + '\\n'); return next(url, context); }\n`,
);
const register = path.join(dir, 'register.mjs');
fs.writeFileSync(register, `import { register } from 'node:module';\nregister(${JSON.stringify(`file://${hook}`)});\n`);
const profDir = path.join(dir, 'prof');
spawnSync(process.execPath, ['--import', `file://${register}`, ...tally, 'report'], { env, stdio: 'ignore' });
spawnSync(process.execPath, ['--cpu-prof', '--cpu-prof-dir', profDir, ...tally, 'report'], { env, stdio: 'ignore' });
const pkgOf = (url: string) => {
  const m = /node_modules\/((@[^/]+\/)?[^/]+)/.exec(url);
  if (m) return m[1]!;
  if (url.startsWith('node:')) return 'node: builtins';
  if (/\/dist\/[^/]+-[A-Z0-9]{8}\.mjs$/.test(url)) return 'dist/ chunks (our code, kysely, zod, commander)';
  return url.replace(/^file:\/\/.*?\/(dist|bin)\//, '$1/');
};
const files = new Map<string, number>();
for (const url of fs.existsSync(trace) ? fs.readFileSync(trace, 'utf8').split('\n').filter(Boolean) : []) {
  const k = pkgOf(url);
  files.set(k, (files.get(k) ?? 0) + 1);
}
console.log('\nmodules `tally report` loads at start (files per package; CommonJS requires inside a package are not listed):');
for (const [k, n] of [...files].sort((a, b) => b[1] - a[1])) console.log(`  ${String(n).padStart(4)}  ${k}`);

const profFile = fs.existsSync(profDir) ? fs.readdirSync(profDir).find((f) => f.endsWith('.cpuprofile')) : undefined;
if (profFile) {
  interface Node {
    id: number;
    callFrame: { url: string; functionName: string };
    children?: number[];
  }
  const p = JSON.parse(fs.readFileSync(path.join(profDir, profFile), 'utf8')) as { nodes: Node[]; samples: number[]; timeDeltas: number[] };
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const selfMs = new Map<number, number>();
  p.samples.forEach((id, i) => selfMs.set(id, (selfMs.get(id) ?? 0) + (p.timeDeltas[i] ?? 0) / 1000));
  // Each sample goes to the phase of its nearest recognised caller.
  const phaseOf = (n: Node): string | undefined => {
    const { functionName: f, url } = n.callFrame;
    if (f === '(garbage collector)') return 'garbage collection';
    if (f === 'loadAndTranslate' || f === 'compileSourceTextModule') return 'reading and compiling modules';
    if (f === '_link' || f === 'getModuleJobForImport') return 'resolving and linking modules';
    if (f === 'evaluate' && url === '') return "running modules' top-level code";
    if (f === 'run' && /dist\/tally\.mjs$/.test(url)) return 'the command itself (options, config, database, query, output)';
    return undefined;
  };
  const phases = new Map<string, number>();
  const walk = (n: Node, phase: string) => {
    const mine = phaseOf(n) ?? phase;
    phases.set(mine, (phases.get(mine) ?? 0) + (selfMs.get(n.id) ?? 0));
    for (const c of n.children ?? []) walk(byId.get(c)!, mine);
  };
  walk(p.nodes[0]!, 'node start-up and the rest');
  const total = [...phases.values()].reduce((a, b) => a + b, 0);
  console.log(`\nCPU time of one profiled \`tally report\` by phase (${total.toFixed(0)} ms sampled):`);
  for (const [k, ms] of [...phases].sort((a, b) => b[1] - a[1])) console.log(`  ${ms.toFixed(1).padStart(7)} ms  ${k}`);
}
fs.rmSync(dir, { recursive: true, force: true });
