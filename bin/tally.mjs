#!/usr/bin/env node
// The `tally` command: runs the bundled CLI (npm run build:cli makes it).
import { existsSync } from 'node:fs';
import module from 'node:module';
import { fileURLToPath } from 'node:url';

const bundle = fileURLToPath(new URL('../dist/tally.mjs', import.meta.url));
if (!existsSync(bundle)) {
  process.stderr.write('tally: the CLI is not built yet: run `npm run build:cli` in the Tally folder\n');
  process.exit(2);
}
// `tally report | head` closes the pipe early: that is not an error.
process.stdout.on('error', (err) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw err;
});
// `tally agent` runs all day: the young generation V8 doubles and doubles again while the agent
// loads its modules and opens the database would stay resident (16 MB) until a later collection
// finds the allocation rate low. It keeps its initial size until the agent is up; then the agent
// lets it grow again for bursts of requests (src/agent/memory.ts).
const ownGrowth = /--semi-space-growth-factor/.test(`${process.execArgv.join(' ')} ${process.env.NODE_OPTIONS ?? ''}`);
// node:v8 is loaded only then (about 1 ms of every other command's start).
if (process.argv.includes('agent') && !ownGrowth) (await import('node:v8')).default.setFlagsFromString('--semi-space-growth-factor=1');
// Node ≥ 22.1 keeps the compiled bundle in its on-disk code cache: later starts skip compiling it.
module.enableCompileCache?.();
const { run } = await import(bundle);
run(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`tally: internal error: ${err?.message ?? err}\n`);
    process.exitCode = 2;
  },
);
