// Builds the package from the one source of the client (src/client in the Tally repository):
// the code bundled into dist/index.js with its one dependency (ulid) inlined, so the package
// needs nothing at install time, and the declarations into dist/types. Run from anywhere.
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '../..');
const { build } = await import(path.join(repo, 'node_modules/esbuild/lib/main.js'));

rmSync(path.join(here, 'dist'), { recursive: true, force: true });
await build({
  entryPoints: [path.join(repo, 'src/client/index.ts')],
  outfile: path.join(here, 'dist/index.js'),
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  logLevel: 'warning',
});
execFileSync(
  process.execPath,
  [
    path.join(repo, 'node_modules/typescript/bin/tsc'),
    path.join(repo, 'src/client/index.ts'),
    '--declaration',
    '--emitDeclarationOnly',
    '--skipLibCheck',
    '--strict',
    '--target',
    'es2022',
    '--module',
    'esnext',
    '--moduleResolution',
    'bundler',
    '--types',
    'node',
    '--rootDir',
    path.join(repo, 'src'),
    '--outDir',
    path.join(here, 'dist/types'),
  ],
  { stdio: 'inherit', cwd: repo },
);
