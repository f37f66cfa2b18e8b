// npm run bench — every benchmark in turn, then issue 14's table: each row as a ratio to its
// baseline from the same run, with the machine's core count and load average. Rows come from the
// benchmarks themselves (bench/rows.ts appends them to BENCH_ROWS). The table is also written to
// dist/bench-table.md for the README.
// Usage: node bench/all.mjs [name …]   (default: every benchmark below)
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const ALL = ['ingest', 'import', 'api', 'idle', 'start', 'size', 'indexes', 'sync', 'percentiles', 'reports', 'ui'];
const names = process.argv.slice(2).length ? process.argv.slice(2) : ALL;
const rowsFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'tally-bench-rows-')), 'rows.jsonl');
fs.writeFileSync(rowsFile, '');
const load = () =>
  os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
const startLoad = load();
const started = Date.now();
const failed = [];
for (const name of names) {
  if (!fs.existsSync(`bench/${name}.ts`)) {
    console.error(`bench: no bench/${name}.ts`);
    process.exit(1);
  }
  console.log(`\n=== bench:${name} (load average ${load()}) ===`);
  const r = spawnSync(process.execPath, ['bench/run.mjs', name], {
    stdio: 'inherit',
    // bench:api runs the idle bench after itself when run alone; here idle has its own turn.
    env: {
      ...process.env,
      BENCH_ROWS: rowsFile,
      BENCH_NAME: name,
      BENCH_IDLE_SECONDS: process.env.BENCH_IDLE_SECONDS ?? (name === 'api' ? '0' : '60'),
    },
  });
  if (r.status !== 0) failed.push(name);
}

const rows = fs
  .readFileSync(rowsFile, 'utf8')
  .split('\n')
  .filter(Boolean)
  .map((l) => JSON.parse(l));
const cell = (s) => String(s).replace(/\|/g, '\\|');
const lines = [
  `${os.cpus().length} cores (${os.cpus()[0]?.model.trim() ?? 'unknown'}), Node ${process.versions.node}; ` +
    `load average at start ${startLoad}, at end ${load()}; ${Math.round((Date.now() - started) / 60_000)} min`,
  '',
  '| what | measured | target | met | same-run baseline | load |',
  '|---|---|---|---|---|---|',
  ...rows.map(
    (r) =>
      `| ${cell(r.what)} | ${cell(r.value)} | ${cell(r.target)} | ${r.met ? 'yes' : '**no**'} | ${cell(r.detail)} | ${r.load.toFixed(1)} |`,
  ),
];
fs.mkdirSync('dist', { recursive: true });
fs.writeFileSync('dist/bench-table.md', lines.join('\n') + '\n');
console.log(`\n=== issue 14's table (also in dist/bench-table.md) ===\n${lines.join('\n')}`);
if (failed.length) {
  console.error(`\nbenchmarks that failed: ${failed.join(', ')}`);
  process.exit(1);
}
