// tally import, streamed (issue 10 item 13): more records than the write queue holds, a JSON
// array split across read chunks, all or nothing per file (or per --chunk N), bad records named
// by their position in the file, truncated files refused whole.
import fs from 'node:fs';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { JsonArraySplitter, RecordReader } from '../../src/cli/commands/import';
import { demoRecords } from '../../src/core/demo';
import { tally, tallyJson } from '../helpers/cli';
import { tempDir, testDb, testWriter } from '../helpers/db';

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

  it('reads JSON Lines as split on newlines would: blank lines, CRLF, a last line without newline, characters across reads, lines longer than a read', async () => {
    const long = { service: 'api', metadata: { note: 'x'.repeat(600_000) } }; // longer than a read: the buffer grows
    const wide = { service: 'api', metadata: { note: 'é€😀'.repeat(40_000) } }; // multi-byte characters across read boundaries
    const texts = [
      JSON.stringify(record(1)),
      '',
      '   ',
      '\u00a0\t',
      `  ${JSON.stringify(record(2))}\r`,
      JSON.stringify(long),
      JSON.stringify(wide),
      ...Array.from({ length: 3000 }, (_, i) => JSON.stringify({ ...record(i), metadata: { note: 'ü'.repeat(i % 97) } })),
      '\r',
      `${JSON.stringify(record(3))}   `,
    ];
    // What the reader must match: every line that is not blank, parsed, in order.
    const reference = (text: string) =>
      text
        .split('\n')
        .filter((l) => l.trim().length > 0)
        .map((l) => JSON.parse(l) as unknown);
    for (const [name, text] of [
      ['with a final newline', texts.join('\n') + '\n'],
      ['without', texts.join('\n')],
      ['empty', ''],
      ['blank', '\n \n\n'],
    ]) {
      const file = path.join(dir, 'lines.jsonl');
      fs.writeFileSync(file, text!);
      for (const take of [1, 7, 1000]) {
        const reader = await RecordReader.open(file, () => undefined);
        const out: unknown[] = [];
        for (let got = await reader.take(take); got.length > 0; got = await reader.take(take)) {
          out.push(...got);
          if (got.length < take) expect(await reader.take(take)).toEqual([]);
        }
        await reader.close();
        expect(out, `${name}, ${take} at a time`).toEqual(reference(text!));
      }
    }
  });

  it('reads a JSON array whole, whatever its layout', async () => {
    const values = Array.from({ length: 5000 }, (_, i) => ({ ...record(i), metadata: { note: 'ß'.repeat(i % 50) } }));
    for (const text of [JSON.stringify(values), ` \n[\n${values.map((v) => JSON.stringify(v, null, 2)).join(',\n')}\n]\n`]) {
      const file = path.join(dir, 'array.json');
      fs.writeFileSync(file, text);
      const reader = await RecordReader.open(file, () => undefined);
      const out: unknown[] = [];
      for (let got = await reader.take(999); got.length > 0; got = await reader.take(999)) out.push(...got);
      await reader.close();
      expect(out).toEqual(values);
    }
  });

  it('names a bad line by its position among the records, blank lines not counted', () => {
    const file = path.join(dir, 'bad-line.jsonl');
    fs.writeFileSync(file, `${JSON.stringify(record(1))}\n\n  \n${JSON.stringify(record(2))}\n{"service": "api",\n`);
    const r = tally(['import', file], env('bad-line.db'));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/records\[2\]: is not JSON/);
    expect(r.stderr).not.toMatch(/records\[4\]/);
    const missing = tally(['import', path.join(dir, 'no-such-file.jsonl')], env('missing.db'));
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toMatch(/file: cannot read .*no-such-file\.jsonl: ENOENT/);
  });

  it('stores what the writer stores for the same records: rows, prices, rollups, histogram, report', async () => {
    const records = [...demoRecords({ days: 3, end: NOW - 3_600_000, scale: 0.3 })].map((r) => ({
      ...r,
      recordedAt: new Date(r.recordedAt as number).toISOString(),
    }));
    expect(records.length).toBeGreaterThan(3000);
    const file = path.join(dir, 'same.jsonl');
    fs.writeFileSync(file, records.map((r) => JSON.stringify(r)).join('\n') + '\n');
    const host = { TALLY_HOST_ID: 'same-host' };
    expect(tallyJson(['import', file], { ...env('same-import.db'), ...host })).toEqual({ recorded: records.length, duplicates: 0 });

    // The same records through the writer, in batches of its own size, into a database the CLI made.
    fs.writeFileSync(path.join(dir, 'empty.jsonl'), '');
    expect(tallyJson(['import', path.join(dir, 'empty.jsonl')], { ...env('same-writer.db'), ...host })).toEqual({
      recorded: 0,
      duplicates: 0,
    });
    const tdb = await testDb(path.join(dir, 'same-writer.db'));
    const writer = await testWriter(tdb, { hostId: 'same-host', defaultSource: 'cli', clock: () => NOW });
    for (let i = 0; i < records.length; i += 700) await writer.recordMany(records.slice(i, i + 700));
    await writer.close();
    await tdb.close();

    const dump = (db: string) => {
      const h = new BetterSqlite3(path.join(dir, db), { readonly: true });
      try {
        return {
          records: h
            .prepare(
              'SELECT recorded_at, customer_id, user_id, host_id, service, quantity, unit_price, cost_nanos, metadata, source FROM usage_records ORDER BY seq',
            )
            .all(),
          rollups: h.prepare('SELECT * FROM rollups ORDER BY period, bucket_start, customer_id, service').all(),
          histogram: h.prepare('SELECT * FROM quantity_histogram ORDER BY service, day, customer_id, quantity').all(),
        };
      } finally {
        h.close();
      }
    };
    const imported = dump('same-import.db');
    expect(imported.records).toHaveLength(records.length);
    expect(imported.rollups.length).toBeGreaterThan(10);
    expect(imported.records.filter((r) => (r as { cost_nanos: number }).cost_nanos > 0).length).toBeGreaterThan(1000);
    expect(imported).toEqual(dump('same-writer.db'));
    const report = (db: string) => tallyJson(['report', '--from', '2026-11-01', '--to', '2026-11-16'], env(db));
    expect(report('same-import.db')).toEqual(report('same-writer.db'));
  }, 60_000);
});
