// npm run bench:zoned — a month report in a customer's time zone on the 10-million-record
// database (bench/big-database.ts), against the UTC month report of the same run as baseline.
// Target (issue 13): under 5 ms in a non-UTC zone. New York's month is whole hours (hourly
// rollups only); Kolkata's starts and ends at :30, so two half-hours are read from raw records.
import os from 'node:os';
import { openDatabase } from '../src/storage/open';
import { usageReport } from '../src/analytics/usage';
import { zonedSums } from '../src/analytics/zoned';
import { zonedMonth } from '../src/core/zone';
import { bigDatabase } from './big-database';

async function time(fn: () => Promise<unknown>, runs = 15): Promise<number> {
  await fn(); // warm-up
  const ms: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    await fn();
    ms.push(performance.now() - t);
  }
  ms.sort((a, b) => a - b);
  return ms[Math.floor(ms.length / 2)]!;
}

async function main(): Promise<void> {
  const { file } = await bigDatabase();
  const tdb = openDatabase(file, { readonly: true });
  const total = tdb.sqlite.prepare('SELECT count(*) FROM usage_records').pluck().get() as number;
  const utc = { from: Date.UTC(2026, 9, 1), to: Date.UTC(2026, 10, 1) };
  // Baseline: the same month read the same way in UTC (whole UTC days: day rollups only).
  const baseline = await time(() => zonedSums(tdb.db, { zone: 'UTC', period: 'month', ...utc }));
  const rows: Array<[string, number]> = [
    ['month report, UTC (baseline: zonedSums)', baseline],
    ['month report, UTC (usageReport, for reference)', await time(() => usageReport(tdb.db, utc), 5)],
  ];
  for (const zone of ['America/New_York', 'Asia/Kolkata', 'Australia/Adelaide']) {
    const m = zonedMonth(zone, '2026-10');
    rows.push([`month report, ${zone}`, await time(() => zonedSums(tdb.db, { zone, period: 'month', ...m }))]);
    rows.push([`month of days, ${zone}`, await time(() => zonedSums(tdb.db, { zone, period: 'day', ...m }))]);
    rows.push([
      `month report, ${zone}, one customer`,
      await time(() => zonedSums(tdb.db, { zone, period: 'month', customerId: 'acme', ...m })),
    ]);
  }
  console.log(`zoned reports on ${total.toLocaleString('en')} records — ${os.cpus().length} cores, load ${os.loadavg()[0]!.toFixed(2)}`);
  for (const [name, ms] of rows)
    console.log(
      `${name.padEnd(52)} ${ms.toFixed(2).padStart(8)} ms  ×${(ms / baseline).toFixed(2)} of baseline${name.includes('month report') && !name.includes('UTC') ? (ms < 5 ? '  ok (< 5 ms)' : '  OVER 5 ms') : ''}`,
    );
  await tdb.close();
}

void main();
