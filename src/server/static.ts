// The dashboard's static files (the built renderer). A few lines instead of @fastify/static:
// the agent runs all day, and that plugin's dependencies cost about 9 MB of resident memory
// for features a loopback page does not need (ranges, precompressed variants, directory lists).
import fs from 'node:fs';
import path from 'node:path';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.ttf': 'font/ttf',
  '.wasm': 'application/wasm',
};

export interface StaticFile {
  readonly file: string;
  readonly size: number;
  readonly type: string;
  /** Vite puts content-hashed names under assets/: they never change. */
  readonly immutable: boolean;
}

/**
 * The file under `root` a URL path names, or null: outside the root (`..`, encoded or not),
 * hidden (a segment starting with "."), a NUL byte, not a regular file, or an unknown type.
 */
export async function findStatic(root: string, urlPath: string): Promise<StaticFile | null> {
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath.split('?')[0]!.split('#')[0]!);
  } catch {
    return null;
  }
  if (decoded.includes('\0') || decoded.includes('\\')) return null;
  const segments = decoded.split('/').filter((s) => s !== '');
  if (segments.some((s) => s.startsWith('.'))) return null;
  const file = path.join(root, ...segments);
  if (file !== root && !file.startsWith(root + path.sep)) return null;
  const type = TYPES[path.extname(file).toLowerCase()];
  if (type === undefined) return null;
  let stat: fs.Stats;
  try {
    stat = await fs.promises.stat(file);
  } catch {
    return null;
  }
  if (!stat.isFile()) return null;
  return { file, size: stat.size, type, immutable: segments[0] === 'assets' };
}
