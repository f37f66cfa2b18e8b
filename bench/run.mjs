// Runs one benchmark: bundles bench/<name>.ts with esbuild (migrations as text) and runs it.
// Usage: node bench/run.mjs ingest|api|reports|sync|ui [args…]
import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const [name, ...args] = process.argv.slice(2);
const entry = `bench/${name}.ts`;
if (!name || !existsSync(entry)) {
  console.error(`usage: node bench/run.mjs <name>  (no ${entry})`);
  process.exit(1);
}
const outfile = `dist/bench-${name}.mjs`;
await build({
  entryPoints: [entry],
  outfile,
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  packages: 'external',
  loader: { '.sql': 'text' },
  logLevel: 'warning',
});
const result = spawnSync(process.execPath, ['--expose-gc', outfile, ...args], { stdio: 'inherit' });
process.exit(result.status ?? 1);
