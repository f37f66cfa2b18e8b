// Which files the dashboard route serves: only regular, visible files under the root.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { findStatic } from '../../src/server/static';
import { tempDir } from '../helpers/db';

describe('findStatic', () => {
  const root = tempDir('tally-static-');
  fs.mkdirSync(path.join(root, 'assets'));
  fs.writeFileSync(path.join(root, 'index.html'), '<!doctype html>');
  fs.writeFileSync(path.join(root, 'assets', 'app-1a2b.js'), '1');
  fs.writeFileSync(path.join(root, '.env'), 'SECRET=1');
  fs.writeFileSync(path.join(path.dirname(root), 'outside.html'), 'no');

  it('finds files with their content type; hashed assets are immutable', async () => {
    expect(await findStatic(root, '/index.html')).toMatchObject({ type: 'text/html; charset=utf-8', immutable: false, size: 15 });
    expect(await findStatic(root, '/assets/app-1a2b.js?v=1')).toMatchObject({ type: 'text/javascript; charset=utf-8', immutable: true });
    expect(await findStatic(root, '/%61ssets/app-1a2b.js')).toMatchObject({ immutable: true });
  });

  it('refuses paths outside the root, hidden files, folders, NUL bytes and unknown types', async () => {
    for (const p of [
      '/../outside.html',
      '/%2e%2e/outside.html',
      '/assets/../../outside.html',
      '/..%2foutside.html',
      '/.env',
      '/assets',
      '/index.html%00.js',
      '/%E0%A4%A',
      '/a\\..\\outside.html',
      '/missing.html',
    ]) {
      expect(await findStatic(root, p), p).toBeNull();
    }
  });
});
