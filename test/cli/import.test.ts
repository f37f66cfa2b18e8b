// tally import, streamed (issue 10 item 13): more records than the write queue holds, a JSON
// array split across read chunks, all or nothing per file (or per --chunk N), bad records named
// by their position in the file, truncated files refused whole.
import fs from 'node:fs';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { JsonArraySplitter } from '../../src/cli/commands/import';
import { tally, tallyJson } from '../helpers/cli';
import { tempDir } from '../helpers/db';

const NOW = Date.UTC(2026, 10, 15, 12);
const dir = tempDir('tally-import-');
const env = (db: string) => ({ TALLY_DB: path.join(dir, db), TALLY_NOW: new Date(NOW).toISOString(), TALLY_NO_AGENT: '1' });

const record = (i: number) => ({
  service: 'api',
  quantity: 1 + (i % 3),
  customerId: `c${i % 7}`,
  recordedAt: new Date(NOW - 2 * 86_400_000 + i * 1000).toISOString(),
  // Braces, brackets, commas and escaped quotes inside strings must not split an array element.
  metadata: { endpoint: `/v1/{x},[y]/${i}`, method: 'GET', note: 'a "quoted", \\ back}slash' },
});

function stored(db: string): { n: number; q: number } {
  const h = new BetterSqlite3(path.join(dir, db), { readonly: true });
  try {
    return h.prepare('SELECT count(*) AS n, coalesce(sum(quantity), 0) AS q FROM usage_records').get() as { n: number; q: number };
  } finally {
    h.close();
  }
}

function writeLines(file: string, n: number, bad?: number): void {
  const fd = fs.openSync(file, 'w');
  for (let i = 0; i < n; i++) fs.writeSync(fd, JSON.stringify(i === bad ? { ...record(i), quantity: -1 } : record(i)) + '\n');
  fs.closeSync(fd);
}

describe('tally import (streamed)', () => {
  it('imports a JSON array larger than the write queue, split across read chunks', () => {
    const file = path.join(dir, 'big.json');
    const n = 120_000; // > the default queue of 100 000; ~20 MB, many 1 MiB read chunks
    fs.writeFileSync(file, '[\n' + Array.from({ length: n }, (_, i) => JSON.stringify(record(i))).join(',\n') + '\n]\n');
    expect(tallyJson(['import', file], env('array.db'))).toEqual({ recorded: n, duplicates: 0 });
    let q = 0;
    for (let i = 0; i < n; i++) q += 1 + (i % 3);
    expect(stored('array.db')).toEqual({ n, q });
  }, 120_000);

  it('stores nothing when one record is bad, naming it by its position in the file', () => {
    const file = path.join(dir, 'bad.jsonl');
    writeLines(file, 12_000, 11_000); // two batches committed as savepoints before the bad one
    const r = tally(['import', file], env('bad.db'));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/records\[11000\]\.quantity: must be ≥ 0/);
    expect(stored('bad.db').n).toBe(0);
  });

  it('with --chunk N keeps the chunks before the bad one, and says so', () => {
    const file = path.join(dir, 'chunked.jsonl');
    writeLines(file, 12_000, 11_000);
    const r = tally(['import', file, '--chunk', '5000'], env('chunked.db'));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/stored 10000 records/);
    expect(r.stderr).toMatch(/records\[11000\]\.quantity/);
    expect(stored('chunked.db').n).toBe(10_000);
  });

  it('refuses a truncated array and a line that is not JSON, storing nothing', () => {
    const truncated = path.join(dir, 'truncated.json');
    fs.writeFileSync(truncated, '[' + JSON.stringify(record(1)) + ',' + JSON.stringify(record(2)).slice(0, 30));
    const a = tally(['import', truncated], env('truncated.db'));
    expect(a.code).toBe(1);
    expect(a.stderr).toMatch(/file: .*truncated/);
    const garbled = path.join(dir, 'garbled.jsonl');
    fs.writeFileSync(garbled, JSON.stringify(record(1)) + '\n{"service": "api", oops}\n');
    const b = tally(['import', garbled], env('garbled.db'));
    expect(b.code).toBe(1);
    expect(b.stderr).toMatch(/records\[1\]: is not JSON/);
    for (const db of ['truncated.db', 'garbled.db']) expect(fs.existsSync(path.join(dir, db)) ? stored(db).n : 0).toBe(0);
  });

  it('splits array elements exactly, whatever the chunk boundaries', () => {
    const values = [record(1), { a: [1, { b: '],[' }], s: 'x\\"y' }, 'text, with [brackets]', 42, null];
    const text = JSON.stringify(values, null, 1);
    for (const size of [1, 2, 3, 7, 64, text.length]) {
      const s = new JsonArraySplitter();
      const out: unknown[] = [];
      for (let i = 0; i < text.length; i += size) for (const t of s.push(text.slice(i, i + size))) out.push(JSON.parse(t));
      s.end();
      expect(out, `chunks of ${size}`).toEqual(values);
    }
  });
});
