// A vite plugin that loads migrations/*.sql as text, as the CLI's esbuild bundle does,
// for vitest and electron-vite builds.
import { readFileSync } from 'node:fs';
import type { Plugin } from 'vite';

export function sqlText(): Plugin {
  return {
    name: 'tally-sql-text',
    enforce: 'pre',
    load(id) {
      if (!id.endsWith('.sql')) return null;
      return `export default ${JSON.stringify(readFileSync(id, 'utf8'))};`;
    },
  };
}
