// A damaged database is refused at agent start (PRAGMA quick_check) and every command that hits
// it says so plainly, with what to do — never "internal error: database disk image is malformed".
import fs from 'node:fs';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/storage/open';
import { tally } from '../helpers/cli';
import { tempDir, testDb, testWriter } from '../helpers/db';

const NOW = Date.UTC(2026, 10, 22, 12);
const DAMAGED = /is damaged \(SQLite: [^]*?\)\. Stop the agent and restore it from a backup \(`tally restore FILE`/;

/** A healthy database with enough records to span many pages. */
async function healthy(): Promise<string> {
  const file = path.join(tempDir('tally-corrupt-'), 'tally.db');
  const tdb = await testDb(file);
  const w = await testWriter(tdb, { clock: () => NOW, batchSize: 5_000, maxQueue: 50_000 });
  for (let i = 0; i < 20_000; i++) {
    w.add({ service: 'api', quantity: 1, metadata: { endpoint: `/e/${i}`, method: 'GET' }, recordedAt: NOW - i * 1000 });
  }
  await w.close();
  tdb.sqlite.pragma('wal_checkpoint(TRUNCATE)');
  await tdb.close();
  return file;
}

/** Overwrites the header of most pages with garbage: a damaged table, the file header intact. */
function damagePages(file: string): void {
  const pageSize = (() => {
    const db = new BetterSqlite3(file, { readonly: true });
    try {
      return db.pragma('page_size', { simple: true }) as number;
    } finally {
      db.close();
    }
  })();
  const pages = fs.statSync(file).size / pageSize;
  const fd = fs.openSync(file, 'r+');
  for (let p = 3; p < pages - 1; p++) fs.writeSync(fd, Buffer.alloc(16, 0xee), 0, 16, p * pageSize);
  fs.closeSync(fd);
}

function copyOf(file: string, name: string): string {
  const out = path.join(tempDir('tally-corrupt-copy-'), name);
  fs.copyFileSync(file, out);
  return out;
}

describe('damaged databases', () => {
  let source: string;
  beforeAll(async () => {
    source = await healthy();
  }, 60_000);

  it('quick_check at open refuses a damaged copy with the documented message; a healthy one opens', async () => {
    await openDatabase(copyOf(source, 'ok.db'), { quickCheck: true }).close();
    const bad = copyOf(source, 'bad.db');
    damagePages(bad);
    expect(() => openDatabase(bad, { quickCheck: true })).toThrow(DAMAGED);
  });

  it('the agent refuses to start on a damaged copy: exit 1, the plain message', () => {
    const bad = copyOf(source, 'bad.db');
    damagePages(bad);
    const r = tally(['agent', '--once', '--db', bad], { TALLY_NOW: new Date(NOW).toISOString() });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(DAMAGED);
    expect(r.stderr).not.toMatch(/internal error/);
  });

  it('commands that read a damaged table say so plainly (exit 1)', () => {
    const bad = copyOf(source, 'bad.db');
    damagePages(bad);
    const out = path.join(path.dirname(bad), 'out.csv');
    const r = tally(['export', 'csv', '--out', out, '--month', '2026-11', '--db', bad], { TALLY_NOW: new Date(NOW).toISOString() });
    expect(r.stderr).not.toMatch(/internal error/);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(DAMAGED);
  });

  it('a file that is not a database at all: every command says it is damaged (exit 1)', () => {
    const bad = copyOf(source, 'header.db');
    const fd = fs.openSync(bad, 'r+');
    fs.writeSync(fd, Buffer.alloc(100, 0x41), 0, 100, 0);
    fs.closeSync(fd);
    const env = { TALLY_NOW: new Date(NOW).toISOString() };
    for (const args of [
      ['report', '--db', bad],
      ['record', 'api', '1', '{"endpoint":"/","method":"GET"}', '--db', bad],
      ['export', 'json', '--out', path.join(path.dirname(bad), 'x.json'), '--db', bad],
      ['agent', '--once', '--db', bad],
    ]) {
      const r = tally(args, env);
      expect(r.stderr, args[0]).not.toMatch(/internal error/);
      expect(r.code, args[0]).toBe(1);
      expect(r.stderr, args[0]).toMatch(DAMAGED);
    }
  });
});
