// Bundles the agent and CLI into dist/ with esbuild: one file per entry, npm packages left
// external (better-sqlite3 is native), migrations inlined as text.
import { build } from 'esbuild';

const entries = {
  tally: 'src/agent/cli/main.ts',
};
const extra = process.argv.slice(2); // extra entries for tests: name=path
for (const e of extra) {
  const [name, file] = e.split('=');
  entries[name] = file;
}

await build({
  entryPoints: entries,
  outdir: 'dist',
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
