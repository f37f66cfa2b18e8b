// What ships: the built preload is one sandbox-loadable CommonJS file that needs only
// `electron`; the main process proper loads no database code (the agent runs in its own
// process); the renderer carries its CSP and loads nothing from elsewhere.
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';

const out = path.resolve('out');
const read = (file: string) => fs.readFileSync(path.join(out, file), 'utf8');

/** The file and every local chunk it imports, transitively. */
function withChunks(entry: string): string[] {
  const seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    const text = fs.readFileSync(file, 'utf8');
    for (const m of text.matchAll(/from\s+"(\.{1,2}\/[^"]+)"/g)) visit(path.resolve(path.dirname(file), m[1]!));
  };
  visit(path.join(out, entry));
  return [...seen];
}

describe('the electron-vite build', () => {
  beforeAll(() => {
    if (!fs.existsSync(path.join(out, 'renderer/index.html'))) throw new Error('not built: run `npm run build:ui` (npm test does it)');
  });

  it('preload: CommonJS, requires nothing but electron, exposes one object and not ipcRenderer', () => {
    const preload = read('preload/preload.cjs');
    const requires = [...preload.matchAll(/require\("([^"]+)"\)/g)].map((m) => m[1]);
    expect(requires).toEqual(['electron']);
    expect(preload).not.toMatch(/^\s*import\s/m);
    expect([...preload.matchAll(/exposeInMainWorld\(/g)]).toHaveLength(1);
    const exposed = preload.slice(preload.indexOf('exposeInMainWorld("tally"'));
    expect(exposed.length).toBeGreaterThan(0);
    // ipcRenderer is only ever called inside the exposed functions, never handed over as a value.
    expect(exposed).not.toMatch(/:\s*(electron\.)?ipcRenderer\s*[,}]|[{,]\s*ipcRenderer\s*[,}]|return\s+(electron\.)?ipcRenderer\s*;/);
    expect(exposed).toMatch(/call\(name, args\)/);
  });

  it('main: the window process loads no SQLite or HTTP server code', () => {
    const files = withChunks('main/index.js');
    for (const file of files) {
      const text = fs.readFileSync(file, 'utf8');
      expect(text, path.basename(file)).not.toMatch(/from "(better-sqlite3|fastify|kysely)"/);
    }
    // The agent's code is there, for the utility process.
    expect(read('main/agent-host.js')).toMatch(/agent/);
  });

  it('renderer: CSP in the page, no inline scripts, nothing loaded from other hosts', () => {
    const html = read('renderer/index.html');
    expect(html).toContain(`content="default-src 'self'; script-src 'self';`);
    const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)];
    expect(scripts.length).toBeGreaterThan(0);
    for (const [, attrs, body] of scripts) {
      expect(body!.trim()).toBe('');
      expect(attrs).toMatch(/src="\.\/assets\//);
    }
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//);
    const assets = fs.readdirSync(path.join(out, 'renderer/assets'));
    for (const js of assets.filter((f) => f.endsWith('.js')))
      expect(read(`renderer/assets/${js}`)).not.toMatch(/(import|fetch)\(\s*["']https?:/);
  });
});
