// Bundles the agent and CLI into dist/ with esbuild: one file per entry, migrations inlined as
// text. The pure-JS packages every command loads (kysely, zod, commander, ulid) are bundled in, so
// a cold start reads one file instead of resolving and compiling ~360; every other npm package
// stays external: better-sqlite3 is native, and the rest (Fastify, exceljs, pdfkit, pg,
// systeminformation, …) are loaded with `await import()` only where a command needs them.
import { build } from 'esbuild';
import { mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';

const entries = {
  tally: 'src/cli/main.ts',
  // Heavy reads off the agent's event loop (src/analytics/heavy.ts finds it beside the bundle).
  'analytics-worker': 'src/analytics/worker.ts',
};
const BUNDLED = new Set(['kysely', 'zod', 'commander', 'ulid']);
/** Every bare import is external unless its package is in BUNDLED. */
const externals = {
  name: 'externals',
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, (args) => {
      if (args.path.startsWith('node:')) return { external: true };
      const pkg = args.path.startsWith('@') ? args.path.split('/').slice(0, 2).join('/') : args.path.split('/')[0];
      return BUNDLED.has(pkg) ? undefined : { external: true };
    });
  },
};
/**
 * zod re-exports its ~40 message locales (400 kB) through `z.locales`; Tally never switches the
 * locale, so the bundle keeps only the English one (which zod sets itself).
 */
const zodEnglishOnly = {
  name: 'zod-english-only',
  setup(b) {
    b.onResolve({ filter: /\/locales\/index\.js$/ }, (args) =>
      /[\\/]node_modules[\\/]zod[\\/]/.test(args.importer)
        ? { path: path.join(path.dirname(args.importer), '../locales/index.js'), namespace: 'zod-locales' }
        : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: 'zod-locales' }, (args) => ({
      contents: `export { default as en } from ${JSON.stringify(path.join(path.dirname(args.path), 'en.js'))};`,
      resolveDir: path.dirname(args.path),
    }));
  },
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
  // Each command's module (src/cli/commands/index.ts loads it with import()) and the modules only
  // some commands use become chunks of their own, loaded when a command needs them.
  splitting: true,
  // Beside the entries, so code that finds files next to its bundle (import.meta.url) finds them from any chunk.
  chunkNames: '[name]-[hash]',
  plugins: [externals, zodEnglishOnly],
  // commander is CommonJS: its require() of node built-ins needs a require in the ES module.
  banner: {
    js: "import { createRequire as __tallyCreateRequire } from 'node:module'; const require = __tallyCreateRequire(import.meta.url);",
  },
  sourcemap: 'linked',
  loader: { '.sql': 'text' },
  logLevel: 'warning',
});
const CHUNK = /^[a-z0-9-]+-[A-Z0-9]{8}\.mjs(\.map)?$/;
const built = readdirSync(staging);
// Chunks first (their names carry a content hash), then the entries that import them.
for (const file of [...built.filter((f) => CHUNK.test(f)), ...built.filter((f) => !CHUNK.test(f))]) {
  renameSync(path.join(staging, file), path.join('dist', file));
}
rmSync(staging, { recursive: true, force: true });
// Chunks of earlier builds stay a day: a process started from one may still load a command's chunk.
for (const file of readdirSync('dist')) {
  const f = path.join('dist', file);
  if (CHUNK.test(file) && !built.includes(file) && Date.now() - statSync(f).mtimeMs > 24 * 3600_000) rmSync(f, { force: true });
}
