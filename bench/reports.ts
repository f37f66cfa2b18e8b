// npm run bench:reports — reports on a database of 10 million records (bench/big-database.ts,
// generated once and cached under /tmp). Measured: month report, daily trend and top-10 peak hours (from rollups; target < 20 ms each),
// p95/p99 over one month of one service (raw records), and an XLSX export of 1 million
// records in a child process whose peak RSS (VmHWM) is read from /proc/self/status.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openDatabase } from '../src/storage/open';
import { exportRecords } from '../src/exports/export';
import { usageStats } from '../src/analytics/stats';
import { peaks, trends } from '../src/analytics/trends';
import { usageReport } from '../src/analytics/usage';
import type { ExportFormat } from '../src/core/exports/shape';
import { bigDatabase, DB, END, START } from './big-database';

const EXPORT_N = Number(process.env.BENCH_EXPORT_RECORDS ?? 1_000_000);
const MONTH = { from: Date.UTC(2026, 9, 1), to: END }; // October 2026

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
  if (process.argv[2] === 'export-child')
    return exportChild(process.argv[3] as ExportFormat, Number(process.argv[4]), Number(process.argv[5]));
  const { generatedMs: generated } = await bigDatabase();
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
  rows.push([
    `p95/p99 (api, Oct 2026, ${stats.result.totalEvents.toLocaleString('en')} raw records)`,
    ms(stats.median),
    `p95 ${stats.result.p95}, p99 ${stats.result.p99}`,
  ]);
  const statsBw = await time(() => usageStats(tdb.db, { service: 'bandwidth', ...MONTH }), 3);
  rows.push([
    `p95/p99 (bandwidth, Oct 2026, ${statsBw.result.totalEvents.toLocaleString('en')} raw records)`,
    ms(statsBw.median),
    `p95 ${statsBw.result.p95} GB, p99 ${statsBw.result.p99} GB`,
  ]);

  // The newest EXPORT_N records: find where they start with the time index.
  const from = tdb.sqlite
    .prepare('SELECT recorded_at FROM usage_records ORDER BY recorded_at DESC LIMIT 1 OFFSET ?')
    .pluck()
    .get(EXPORT_N - 1) as number;
  await tdb.close();
  for (const format of ['xlsx', 'csv'] as const) {
    const child = spawnSync(process.execPath, [process.argv[1]!, 'export-child', format, String(from), String(END)], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const r = JSON.parse(child.stdout.trim().split('\n').pop()!) as { ms: number; records: number; bytes: number; vmHwmKb: number };
    rows.push([
      `${format.toUpperCase()} export of ${r.records.toLocaleString('en')} records`,
      `${(r.ms / 1000).toFixed(1)} s`,
      `peak RSS ${(r.vmHwmKb / 1024).toFixed(0)} MiB, ${(r.bytes / 1048576).toFixed(0)} MiB file, ${Math.round(r.records / (r.ms / 1000)).toLocaleString('en')} rec/s`,
    ]);
  }

  const w = [Math.max(...rows.map((r) => r[0].length)), Math.max(...rows.map((r) => r[1].length))];
  process.stdout.write(
    `\nbench:reports — ${total.toLocaleString('en')} records in ${DB} (${(fs.statSync(DB).size / 2 ** 30).toFixed(2)} GiB)`,
  );
  process.stdout.write(generated === null ? ' (cached)\n' : `, generated in ${(generated / 1000).toFixed(1)} s\n`);
  process.stdout.write(
    `${'measure'.padEnd(w[0]!)}  ${'median'.padStart(w[1]!)}  note\n${'─'.repeat(w[0]!)}  ${'─'.repeat(w[1]!)}  ${'─'.repeat(40)}\n`,
  );
  for (const [a, b, c] of rows) process.stdout.write(`${a.padEnd(w[0]!)}  ${b.padStart(w[1]!)}  ${c}\n`);
  process.stdout.write(
    `node ${process.version}, ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? '?'}), timings are medians of 7 runs after a warm-up (p95/p99: 3)\n`,
  );
}

await main();
