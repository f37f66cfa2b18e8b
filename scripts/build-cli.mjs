// Bundles the agent and CLI into dist/ with esbuild: one file per entry, npm packages left
// external (better-sqlite3 is native), migrations inlined as text.
import { build } from 'esbuild';
import { mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';

const entries = {
  tally: 'src/cli/main.ts',
  // Heavy reads off the agent's event loop (src/analytics/heavy.ts finds it beside the bundle).
  'analytics-worker': 'src/analytics/worker.ts',
};
const extra = process.argv.slice(2); // extra entries for tests: name=path
for (const e of extra) {
  const [name, file] = e.split('=');
  entries[name] = file;
}

mkdirSync('dist', { recursive: true });
const staging = mkdtempSync('dist/.build-');
await build({
  entryPoints: entries,
  // Built aside and renamed into place: a `tally` running during a rebuild never reads half a file.
  outdir: staging,
  outExtension: { '.js': '.mjs' },
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  packages: 'external',
  sourcemap: 'linked',
  loader: { '.sql': 'text' },
  logLevel: 'warning',
});
for (const file of readdirSync(staging)) renameSync(path.join(staging, file), path.join('dist', file));
rmSync(staging, { recursive: true, force: true });
