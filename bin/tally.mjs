#!/usr/bin/env node
// The `tally` command: runs the bundled CLI (npm run build:cli makes it).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const bundle = fileURLToPath(new URL('../dist/tally.mjs', import.meta.url));
if (!existsSync(bundle)) {
  process.stderr.write('tally: the CLI is not built yet: run `npm run build:cli` in the Tally folder\n');
  process.exit(2);
}
await import(bundle);
