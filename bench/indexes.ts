// npm run bench:indexes — what each index on usage_records costs and what it buys, in one run: N
// demo records inserted by a bare prepared-INSERT loop (10 000-row transactions) into the shipped
// schema, into the same schema without the time index, and without the id's unique index; then
// the queries each index serves, timed with and without it.
//
// Env: BENCH_RECORDS (default 300 000).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { monotonicFactory } from 'ulid';
import type BetterSqlite3 from 'better-sqlite3';
import { openDatabase } from '../src/storage/open';
import { demoRecords } from '../src/core/demo';
import { ensureBuiltins } from '../src/storage/repos/services';
import { machine } from './rows';

const N = Number(process.env.BENCH_RECORDS ?? 300_000);
const END = Date.UTC(2026, 10, 15);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tally-bench-indexes-'));
const rows = [...demoRecords({ days: 30, end: END, scale: 4 })]
  .slice(0, N)
  .sort((a, b) => (a.recordedAt as number) - (b.recordedAt as number));

type Variant = 'shipped' | 'no time index' | 'no id index';

async function build(variant: Variant): Promise<{ sqlite: BetterSqlite3.Database; perSecond: number; bytes: number; ids: string[] }> {
  const file = path.join(dir, `${variant.replace(/ /g, '-')}.db`);
  const tdb = openDatabase(file);
  await ensureBuiltins(tdb.db, END);
  await tdb.close();
  const { sqlite } = openDatabase(file);
  if (variant === 'no time index') sqlite.exec('DROP INDEX usage_records_time');
  if (variant === 'no id index') {
    // The same table with a plain id column: the unique index is part of the table's definition.
    const ddl = (sqlite.prepare(`SELECT sql FROM sqlite_schema WHERE name = 'usage_records'`).pluck().get() as string)
      .replace('CREATE TABLE usage_records', 'CREATE TABLE usage_records_plain')
      .replace('NOT NULL UNIQUE', 'NOT NULL');
    sqlite.exec(`${ddl}; DROP TABLE usage_records; ALTER TABLE usage_records_plain RENAME TO usage_records;
      CREATE INDEX usage_records_time ON usage_records (recorded_at);`);
  }
  const newId = monotonicFactory();
  const ids: string[] = [];
  const insert = sqlite.prepare(
    `INSERT INTO usage_records (id, recorded_at, customer_id, user_id, host_id, service, quantity, unit_price, cost_nanos, metadata, source)
     VALUES (?, ?, 'default', NULL, 'bench', ?, ?, '0.0001', 100000, ?, 'bench')`,
  );
  const tx = sqlite.transaction((from: number, to: number) => {
    for (let i = from; i < to; i++) {
      const r = rows[i]!;
      const id = newId();
      if (i % 1000 === 0) ids.push(id);
      const q = r.service === 'compute' ? Math.round(Number(r.quantity) * 1e6) : r.quantity;
      insert.run(id, r.recordedAt as number, r.service, q, JSON.stringify(r.metadata ?? {}));
    }
  });
  const t0 = performance.now();
  for (let i = 0; i < rows.length; i += 10_000) tx.immediate(i, Math.min(rows.length, i + 10_000));
  const perSecond = rows.length / ((performance.now() - t0) / 1000);
  sqlite.pragma('wal_checkpoint(TRUNCATE)');
  return { sqlite, perSecond, bytes: fs.statSync(file).size, ids };
}

function medianMs(fn: () => unknown, runs = 7): number {
  fn();
  const ms: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    fn();
    ms.push(performance.now() - t);
  }
  return ms.sort((a, b) => a - b)[Math.floor(runs / 2)]!;
}

const shipped = await build('shipped');
const noTime = await build('no time index');
const noId = await build('no id index');
// A day in the middle of the records' span.
const mid = rows[Math.floor(rows.length / 2)]!.recordedAt as number;
const day = { from: mid, to: mid + 86_400_000 };
const dayScan = (db: BetterSqlite3.Database) => () =>
  db.prepare('SELECT count(*), sum(quantity) FROM usage_records WHERE recorded_at >= ? AND recorded_at < ?').get(day.from, day.to);
const lookups = (db: BetterSqlite3.Database, ids: string[]) => () => {
  const byId = db.prepare('SELECT seq FROM usage_records WHERE id = ?');
  for (const id of ids.slice(0, 20)) byId.get(id);
};
/** How much slower inserts are with the index: 1 − with/without. */
const slower = (withIt: number, without: number) => `${((1 - withIt / without) * 100).toFixed(0)} %`;
console.log(`indexes on usage_records: ${N.toLocaleString('en-US')} demo records, bare insert loop; ${machine()}`);
console.log(
  `usage_records_time (recorded_at): slows inserts by ${slower(shipped.perSecond, noTime.perSecond)} (${Math.round(shipped.perSecond)} vs ${Math.round(noTime.perSecond)} records/s without it), ` +
    `${((shipped.bytes - noTime.bytes) / N).toFixed(1)} B/record; one day's records (${(shipped.sqlite.prepare('SELECT count(*) FROM usage_records WHERE recorded_at >= ? AND recorded_at < ?').pluck().get(day.from, day.to) as number).toLocaleString('en-US')}): ${medianMs(dayScan(shipped.sqlite)).toFixed(2)} ms with it, ${medianMs(dayScan(noTime.sqlite)).toFixed(2)} ms without`,
);
console.log(
  `id unique index: slows inserts by ${slower(shipped.perSecond, noId.perSecond)} (${Math.round(noId.perSecond)} records/s without it), ` +
    `${((shipped.bytes - noId.bytes) / N).toFixed(1)} B/record; 20 look-ups by id: ${medianMs(lookups(shipped.sqlite, shipped.ids)).toFixed(2)} ms with it, ${medianMs(lookups(noId.sqlite, noId.ids), 3).toFixed(0)} ms without ` +
    `(and without it a retried record with the same id would be stored twice)`,
);
for (const v of [shipped, noTime, noId]) v.sqlite.close();
fs.rmSync(dir, { recursive: true, force: true });
