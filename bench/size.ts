// npm run bench:size — database bytes per record vs the raw JSON Lines they came from: N demo
// records (the mix of bench:import: all six services over 30 days) written as JSON Lines, imported
// by the built `tally import` into a fresh database, checkpointed; then the file's size per record,
// and what each table and index takes (SQLite's dbstat), so the row says where the bytes are.
//
// Env: BENCH_RECORDS (default 200 000); KEEP=1 keeps the database and prints its path (for dbstat).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { demoRecords } from '../src/core/demo';
import { machine, reportRow } from './rows';

const N = Number(process.env.BENCH_RECORDS ?? 200_000);
const NOW = Date.UTC(2026, 10, 15, 12);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tally-bench-size-'));
const file = path.join(dir, 'records.jsonl');
const db = path.join(dir, 'tally.db');

let n = 0;
const lines: string[] = [];
for (const r of demoRecords({ days: 30, end: NOW - 3_600_000, scale: 40 })) {
  lines.push(JSON.stringify({ ...r, recordedAt: new Date(r.recordedAt as number).toISOString() }));
  if (++n === N) break;
}
fs.writeFileSync(file, lines.join('\n') + '\n');

const imported = spawnSync(process.execPath, ['bin/tally.mjs', 'import', file, '--db', db, '--json'], {
  encoding: 'utf8',
  env: { ...process.env, TALLY_NO_AGENT: '1', TALLY_NOW: new Date(NOW).toISOString(), TALLY_CONFIG: '/nonexistent.json' },
});
if (imported.status !== 0) throw new Error(`tally import failed: ${imported.stderr}`);

const sqlite = new BetterSqlite3(db);
sqlite.pragma('wal_checkpoint(TRUNCATE)');
const stored = sqlite.prepare('SELECT count(*) FROM usage_records').pluck().get() as number;
if (stored !== N) throw new Error(`tally import stored ${stored} of ${N}`);
const parts = sqlite.prepare('SELECT name, sum(pgsize) AS bytes FROM dbstat GROUP BY name ORDER BY bytes DESC').all() as {
  name: string;
  bytes: number;
}[];
const pageSize = sqlite.pragma('page_size', { simple: true }) as number;
sqlite.close();

const dbBytes = fs.statSync(db).size + (fs.existsSync(`${db}-wal`) ? fs.statSync(`${db}-wal`).size : 0);
const jsonBytes = fs.statSync(file).size;
const perRecord = dbBytes / N;
const perLine = jsonBytes / N;
console.log(`size: ${N.toLocaleString('en-US')} demo records imported by tally import; page size ${pageSize}; ${machine()}`);
for (const p of parts.slice(0, 6)) {
  console.log(
    `  ${p.name.padEnd(36)} ${(p.bytes / N).toFixed(1).padStart(6)} B/record  ${((100 * p.bytes) / dbBytes).toFixed(0).padStart(3)} %`,
  );
}
reportRow({
  what: 'database bytes per record vs the raw JSON Lines',
  value: `${(perRecord / perLine).toFixed(2)}×`,
  detail: `${perRecord.toFixed(0)} B/record in the database vs ${perLine.toFixed(0)} B/line of JSON Lines`,
  target: '≤ 1.1×',
  met: perRecord / perLine <= 1.1,
});
if (process.env.KEEP) console.log(`kept: ${db}`);
else fs.rmSync(dir, { recursive: true, force: true });
