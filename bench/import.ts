// npm run bench:import — `tally import` of a JSON Lines file (default 1 M demo records) against a
// bare script doing the same job in the same run: stream the file, parse each line, insert it
// with a prepared statement into the same schema in 10 000-row transactions (no validation, no
// pricing, no rollups). Both run as separate processes under /usr/bin/time for the peak RSS.
//
// Env: BENCH_RECORDS (default 1 000 000), BENCH_ROUNDS (default 1).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { demoRecords } from '../src/core/demo';
import { openDatabase } from '../src/storage/open';
import { ensureBuiltins } from '../src/storage/repos/services';
import { machine, ratio, reportRow } from './rows';

const require = createRequire(import.meta.url);

const N = Number(process.env.BENCH_RECORDS ?? 1_000_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 1);
const NOW = Date.UTC(2026, 10, 15, 12);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tally-bench-import-'));
const file = path.join(dir, 'records.jsonl');

function writeFile(): void {
  const fd = fs.openSync(file, 'w');
  let n = 0;
  let buf = '';
  for (const r of demoRecords({ days: 30, end: NOW - 3_600_000, scale: 40 })) {
    buf += JSON.stringify({ ...r, recordedAt: new Date(r.recordedAt as number).toISOString() }) + '\n';
    if (++n % 10_000 === 0) {
      fs.writeSync(fd, buf);
      buf = '';
    }
    if (n === N) break;
  }
  fs.writeSync(fd, buf);
  fs.closeSync(fd);
  if (n < N) throw new Error(`the demo generator gave ${n} records, not ${N}`);
}

/** The baseline: the same file into the same schema with nothing but parse + insert. */
const BARE = `
const fs = require('node:fs');
const readline = require('node:readline');
const Database = require(${JSON.stringify(require.resolve('better-sqlite3'))});
const { monotonicFactory } = require(${JSON.stringify(require.resolve('ulid'))});
(async () => {
  const db = new Database(process.argv[2]);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  const newId = monotonicFactory();
  const insert = db.prepare('INSERT INTO usage_records (id, recorded_at, customer_id, user_id, host_id, service, quantity, unit_price, cost_nanos, metadata, source) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)');
  const tx = db.transaction((rows) => {
    for (const r of rows) insert.run(newId(), Date.parse(r.recordedAt), r.customerId ?? 'default', null, 'bench', r.service,
      r.service === 'compute' ? Math.round(r.quantity * 1e6) : r.quantity, '0.0001', 100000, JSON.stringify(r.metadata ?? {}), 'bench');
  });
  let rows = [];
  for await (const line of readline.createInterface({ input: fs.createReadStream(process.argv[3]), crlfDelay: Infinity })) {
    if (!line) continue;
    rows.push(JSON.parse(line));
    if (rows.length === 10000) { tx.immediate(rows); rows = []; }
  }
  tx.immediate(rows);
  db.close();
})();
`;

interface Run {
  seconds: number;
  /** User + system CPU seconds: less disturbed than wall time when the machine is busy. */
  cpu: number;
  rssMb: number;
}

/** Runs a command under /usr/bin/time; wall seconds, CPU seconds and peak RSS. */
function timed(args: string[], env: Record<string, string> = {}): Run {
  const t0 = performance.now();
  const r = spawnSync('/usr/bin/time', ['-f', '%M %U %S', ...args], { encoding: 'utf8', env: { ...process.env, ...env } });
  const seconds = (performance.now() - t0) / 1000;
  if (r.status !== 0) throw new Error(`${args.join(' ')} failed: ${r.stderr.slice(-2000)}`);
  const [kb, user, sys] = r.stderr.trim().split('\n').at(-1)!.split(' ').map(Number);
  return { seconds, cpu: user! + sys!, rssMb: kb! / 1024 };
}

/** The same migrated schema, with the built-in services, for both. */
async function freshDb(name: string): Promise<string> {
  const db = path.join(dir, name);
  const tdb = openDatabase(db);
  await ensureBuiltins(tdb.db, NOW);
  await tdb.close();
  return db;
}

function count(db: string): number {
  const r = spawnSync(
    process.execPath,
    [
      '-e',
      `const D=require(${JSON.stringify(require.resolve('better-sqlite3'))});const d=new D(process.argv[1],{readonly:true});console.log(d.prepare('SELECT count(*) FROM usage_records').pluck().get())`,
      db,
    ],
    { encoding: 'utf8' },
  );
  return Number(r.stdout.trim());
}

writeFile();
const bareScript = path.join(dir, 'bare.cjs');
fs.writeFileSync(bareScript, BARE);
const bare: Run[] = [];
const tally: Run[] = [];
for (let round = 0; round < ROUNDS; round++) {
  const a = await freshDb(`bare-${round}.db`);
  bare.push(timed([process.execPath, bareScript, a, file]));
  if (count(a) !== N) throw new Error(`bare script stored ${count(a)} of ${N}`);
  const b = await freshDb(`tally-${round}.db`);
  tally.push(
    timed([process.execPath, 'bin/tally.mjs', 'import', file, '--db', b, '--json'], {
      TALLY_NO_AGENT: '1',
      TALLY_NOW: new Date(NOW).toISOString(),
      TALLY_CONFIG: '/nonexistent.json',
    }),
  );
  if (count(b) !== N) throw new Error(`tally import stored ${count(b)} of ${N}`);
}
const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
const bs = median(bare.map((r) => r.seconds));
const ts = median(tally.map((r) => r.seconds));
const bc = median(bare.map((r) => r.cpu));
const tc = median(tally.map((r) => r.cpu));
const rss = median(tally.map((r) => r.rssMb));
const mb = (fs.statSync(file).size / 2 ** 20).toFixed(0);
console.log(`import: ${N.toLocaleString('en-US')} demo records (${mb} MiB of JSON Lines), median of ${ROUNDS}; ${machine()}`);
reportRow({
  what: `tally import of ${N.toLocaleString('en-US')} records vs a bare parse+insert script`,
  value: ratio(bs, ts),
  detail: `${Math.round(N / ts).toLocaleString('en-US')} vs ${Math.round(N / bs).toLocaleString('en-US')} records/s; CPU ${tc.toFixed(2)} vs ${bc.toFixed(2)} s (${ratio(bc, tc)})`,
  target: '≥ 0.9×',
  met: bs / ts >= 0.9,
});
reportRow({
  what: `tally import of ${N.toLocaleString('en-US')} records, peak RSS`,
  value: `${rss.toFixed(0)} MB`,
  detail: `bare script ${median(bare.map((r) => r.rssMb)).toFixed(0)} MB`,
  target: '≤ 150 MB',
  met: rss <= 150,
});
fs.rmSync(dir, { recursive: true, force: true });
