// npm run bench:reports — reports on a database of 10 million records.
// Generation writes raw rows with one prepared INSERT in 250 000-row transactions (journal off
// while building), folds the hourly rollups in memory on the way, and derives the day, week
// and month rollups from the hourly ones with INSERT … SELECT … GROUP BY. The file is cached
// under /tmp by version and size, so reruns skip generation (BENCH_REGENERATE=1 forces it).
// Then: month report, daily trend and top-10 peak hours (from rollups; target < 20 ms each),
// p95/p99 over one month of one service (raw records), and an XLSX export of 1 million
// records in a child process whose peak RSS (VmHWM) is read from /proc/self/status.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { openDatabase } from '../src/agent/db/open';
import { exportRecords } from '../src/agent/exports/export';
import { usageStats } from '../src/core/analytics/stats';
import { peaks, trends } from '../src/core/analytics/trends';
import { prng } from '../src/core/demo';
import { parseDecimalToNanos } from '../src/core/money';
import { ensureBuiltins } from '../src/core/repo/services';
import { usageReport } from '../src/core/reports/usage';
import { BUILTIN_SERVICES, DEFAULT_PRICES } from '../src/core/services';
import type { ExportFormat } from '../src/core/exports/shape';

const VERSION = 1;
const N = Number(process.env.BENCH_RECORDS ?? 10_000_000);
const EXPORT_N = Number(process.env.BENCH_EXPORT_RECORDS ?? 1_000_000);
const END = Date.UTC(2026, 10, 1); // fixed, so the cached file stays valid
const DAYS = 365;
const START = END - DAYS * 86_400_000;
const MONTH = { from: Date.UTC(2026, 9, 1), to: END }; // October 2026
const DB = path.join(os.tmpdir(), `tally-bench-reports-v${VERSION}-${N}.db`);

const B32 = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
function b32(n: number, len: number): string {
  let s = '';
  for (let i = 0; i < len; i++) {
    s = B32[n % 32]! + s;
    n = Math.floor(n / 32);
  }
  return s;
}

interface Fold {
  count: number;
  sum: number;
  cost: number;
  min: number;
  max: number;
}

async function generate(): Promise<number> {
  const started = performance.now();
  const tmp = `${DB}.building`;
  fs.rmSync(tmp, { force: true });
  const setup = openDatabase(tmp); // migrated, in WAL mode
  await ensureBuiltins(setup.db, START);
  await setup.close();

  // Building a throwaway file: journal in memory, no fsync (WAL would write every page twice;
  // journal_mode OFF is refused by SQLite's defensive mode, which better-sqlite3 turns on).
  const db = new BetterSqlite3(tmp);
  const mode = db.pragma('journal_mode = MEMORY', { simple: true });
  if (mode !== 'memory') throw new Error(`could not move the journal to memory (${String(mode)})`);
  db.pragma('synchronous = OFF');
  db.pragma('cache_size = -512000');
  db.pragma('temp_store = MEMORY');
  const insert = db.prepare(
    `INSERT INTO usage_records (id, recorded_at, customer_id, user_id, host_id, service, quantity, unit_price, cost_nanos, metadata, source)
     VALUES (?, ?, ?, NULL, 'bench-host', ?, ?, ?, ?, ?, 'bench')`,
  );
  const price = new Map(DEFAULT_PRICES.map((p) => [p.service, p.unitPrice]));
  const nanosPerBase = new Map(BUILTIN_SERVICES.map((s) => [s.name, parseDecimalToNanos(price.get(s.name)!) / s.displayFactor]));
  // The service mix and per-record quantities of a busy API host.
  const mix: Array<[string, number, () => number, string[]]> = [
    ['api', 0.4, () => 1, ['{"endpoint":"/users","method":"GET","status":200}', '{"endpoint":"/orders","method":"POST","status":201}', '{"endpoint":"/search","method":"GET","status":200}']],
    ['database', 0.3, () => 1, ['{"type":"SELECT","duration_ms":12}', '{"type":"INSERT","duration_ms":4}']],
    ['functions', 0.15, () => 1, ['{"function":"sendEmail","duration_ms":120,"memory_mb":128}', '{"function":"resizeImage","duration_ms":340,"memory_mb":512}']],
    ['bandwidth', 0.08, () => 0, ['{"interface":"eth0","direction":"egress"}', '{"interface":"eth0","direction":"ingress"}']],
    ['compute', 0.04, () => 0, ['{"instance":"web-1"}', '{"instance":"worker-1"}']],
    ['storage', 0.03, () => 0, ['{"path":"/var/lib/app","volume":"data"}']],
  ];
  const rand = prng(2026);
  const quantity = (service: string): number => {
    switch (service) {
      case 'bandwidth':
        return Math.round(rand() * 50 * 1024 * 1024);
      case 'compute':
        return Math.round(rand() * 3600 * 1e3) / 1e3;
      case 'storage':
        return Math.round((40 + rand() * 10) * 2 ** 30) * 60;
      default:
        return 1;
    }
  };
  const customers = ['acme', 'globex', 'initech', 'umbrella', 'hooli'];
  const hourly = new Map<string, Fold>();
  const step = (END - START) / N;
  const BATCH = 250_000;
  for (let done = 0; done < N; done += BATCH) {
    db.transaction(() => {
      for (let i = done; i < Math.min(N, done + BATCH); i++) {
        const at = Math.floor(START + i * step);
        let r = rand();
        let pick = mix[0]!;
        for (const m of mix) {
          if (r < m[1]) {
            pick = m;
            break;
          }
          r -= m[1];
        }
        const service = pick[0];
        const q = quantity(service);
        const cost = Math.round(q * nanosPerBase.get(service)!);
        const customer = customers[i % 5]!;
        insert.run(b32(at, 10) + b32(i, 16), at, customer, service, q, price.get(service)!, cost, pick[3][i % pick[3].length]!);
        const hour = at - (at % 3_600_000);
        const key = `${hour}|${customer}|${service}`;
        const f = hourly.get(key);
        if (f) {
          f.count++;
          f.sum += q;
          f.cost += cost;
          if (q < f.min) f.min = q;
          if (q > f.max) f.max = q;
        } else hourly.set(key, { count: 1, sum: q, cost, min: q, max: q });
      }
    })();
    process.stderr.write(`\rgenerating ${Math.min(N, done + BATCH).toLocaleString('en')} / ${N.toLocaleString('en')} records`);
  }
  process.stderr.write('\n');
  const up = db.prepare(`INSERT INTO rollups VALUES ('hour', ?, ?, ?, ?, ?, ?, ?, ?)`);
  db.transaction(() => {
    for (const [key, f] of hourly) {
      const [hour, customer, service] = key.split('|');
      up.run(Number(hour), customer, service, f.count, f.sum, f.cost, f.min, f.max);
    }
  })();
  const derive = (period: string, bucket: string) =>
    db.exec(`INSERT INTO rollups SELECT '${period}', ${bucket} AS b, customer_id, service, sum(event_count), sum(sum_quantity), sum(sum_cost_nanos), min(min_quantity), max(max_quantity)
             FROM rollups WHERE period = 'hour' GROUP BY b, customer_id, service`);
  derive('day', '(bucket_start / 86400000) * 86400000');
  derive('week', '((bucket_start / 86400000) - ((bucket_start / 86400000) + 3) % 7) * 86400000');
  derive('month', "CAST(strftime('%s', bucket_start / 1000, 'unixepoch', 'start of month') AS INTEGER) * 1000");
  db.pragma('journal_mode = WAL');
  db.exec('ANALYZE');
  db.close();
  fs.renameSync(tmp, DB);
  return performance.now() - started;
}

async function time<T>(fn: () => Promise<T>, runs = 7): Promise<{ median: number; result: T }> {
  let result = await fn(); // warm-up
  const ms: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    result = await fn();
    ms.push(performance.now() - t);
  }
  ms.sort((a, b) => a - b);
  return { median: ms[Math.floor(ms.length / 2)]!, result };
}

function vmHwmKb(): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) : NaN;
}

async function exportChild(format: ExportFormat, from: number, to: number): Promise<void> {
  const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'tally-bench-export-')), `bench.${format}`);
  const t = performance.now();
  const r = await exportRecords({ dbPath: DB, format, out, from, to, now: Date.now() });
  const ms = performance.now() - t;
  process.stdout.write(JSON.stringify({ ms, records: r.records, bytes: r.bytes, vmHwmKb: vmHwmKb() }) + '\n');
  fs.rmSync(path.dirname(out), { recursive: true, force: true });
}

async function main(): Promise<void> {
  if (process.argv[2] === 'export-child') return exportChild(process.argv[3] as ExportFormat, Number(process.argv[4]), Number(process.argv[5]));
  if (process.env.BENCH_REGENERATE) fs.rmSync(DB, { force: true });
  let generated: number | null = null;
  if (!fs.existsSync(DB)) generated = await generate();
  const tdb = openDatabase(DB, { readonly: true });
  const total = tdb.sqlite.prepare('SELECT count(*) FROM usage_records').pluck().get() as number;
  const rows: Array<[string, string, string]> = [];
  const ms = (n: number) => `${n.toFixed(2)} ms`;

  const report = await time(() => usageReport(tdb.db, MONTH));
  rows.push(['month report (Oct 2026, all services)', ms(report.median), report.median < 20 ? 'ok (< 20 ms)' : 'OVER 20 ms']);
  const trend = await time(() => trends(tdb.db, { service: 'api', ...MONTH }));
  rows.push(['daily trend (api, 31 days)', ms(trend.median), trend.median < 20 ? 'ok (< 20 ms)' : 'OVER 20 ms']);
  const trendAll = await time(() => trends(tdb.db, MONTH));
  rows.push(['daily trend (all services, 31 days)', ms(trendAll.median), trendAll.median < 20 ? 'ok (< 20 ms)' : 'OVER 20 ms']);
  const peak = await time(() => peaks(tdb.db, { service: 'api', by: 'hour', top: 10, ...MONTH }));
  rows.push(['top-10 peak hours (api, 31 days)', ms(peak.median), peak.median < 20 ? 'ok (< 20 ms)' : 'OVER 20 ms']);
  const peakYear = await time(() => peaks(tdb.db, { service: 'api', by: 'hour', top: 10, from: START, to: END }));
  rows.push(['top-10 peak hours (api, whole year)', ms(peakYear.median), peakYear.median < 20 ? 'ok (< 20 ms)' : 'OVER 20 ms']);
  const stats = await time(() => usageStats(tdb.db, { service: 'api', ...MONTH }), 3);
  rows.push([`p95/p99 (api, Oct 2026, ${stats.result.totalEvents.toLocaleString('en')} raw records)`, ms(stats.median), `p95 ${stats.result.p95}, p99 ${stats.result.p99}`]);
  const statsBw = await time(() => usageStats(tdb.db, { service: 'bandwidth', ...MONTH }), 3);
  rows.push([`p95/p99 (bandwidth, Oct 2026, ${statsBw.result.totalEvents.toLocaleString('en')} raw records)`, ms(statsBw.median), `p95 ${statsBw.result.p95} GB, p99 ${statsBw.result.p99} GB`]);

  // The newest EXPORT_N records: find where they start with the time index.
  const from = tdb.sqlite.prepare('SELECT recorded_at FROM usage_records ORDER BY recorded_at DESC LIMIT 1 OFFSET ?').pluck().get(EXPORT_N - 1) as number;
  await tdb.close();
  for (const format of ['xlsx', 'csv'] as const) {
    const child = spawnSync(process.execPath, [process.argv[1]!, 'export-child', format, String(from), String(END)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
    const r = JSON.parse(child.stdout.trim().split('\n').pop()!) as { ms: number; records: number; bytes: number; vmHwmKb: number };
    rows.push([
      `${format.toUpperCase()} export of ${r.records.toLocaleString('en')} records`,
      `${(r.ms / 1000).toFixed(1)} s`,
      `peak RSS ${(r.vmHwmKb / 1024).toFixed(0)} MiB, ${(r.bytes / 1048576).toFixed(0)} MiB file, ${Math.round(r.records / (r.ms / 1000)).toLocaleString('en')} rec/s`,
    ]);
  }

  const w = [Math.max(...rows.map((r) => r[0].length)), Math.max(...rows.map((r) => r[1].length))];
  process.stdout.write(`\nbench:reports — ${total.toLocaleString('en')} records in ${DB} (${(fs.statSync(DB).size / 2 ** 30).toFixed(2)} GiB)`);
  process.stdout.write(generated === null ? ' (cached)\n' : `, generated in ${(generated / 1000).toFixed(1)} s\n`);
  process.stdout.write(`${'measure'.padEnd(w[0]!)}  ${'median'.padStart(w[1]!)}  note\n${'─'.repeat(w[0]!)}  ${'─'.repeat(w[1]!)}  ${'─'.repeat(40)}\n`);
  for (const [a, b, c] of rows) process.stdout.write(`${a.padEnd(w[0]!)}  ${b.padStart(w[1]!)}  ${c}\n`);
  process.stdout.write(`node ${process.version}, ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? '?'}), timings are medians of 7 runs after a warm-up (p95/p99: 3)\n`);
}

await main();
