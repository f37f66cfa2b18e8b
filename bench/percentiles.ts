// npm run bench:percentiles — p95/p99 of one service over a month and over a year on the
// 10 M-record database of bench:reports (generated once and cached; see bench/big-database.ts).
// Each is compared with the nearest rank read from the raw records in the same run (the live
// records' top 5 % in descending order, as the raw path does), which must give the same values.
// Also printed: a range with edges inside a day (the last 30 days) and a month in two zones.
import { openDatabase } from '../src/storage/open';
import { nearestRank, usageStats } from '../src/analytics/stats';
import { zonedMonth } from '../src/core/zone';
import { requireService, roundDisplay, serviceMap, unitsToDisplay } from '../src/analytics/common';
import { bigDatabase, DB, END, N } from './big-database';
import { machine, reportRow } from './rows';

async function median(fn: () => Promise<unknown>, runs = 5): Promise<number> {
  await fn();
  const ms: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    await fn();
    ms.push(performance.now() - t);
  }
  return ms.sort((a, b) => a - b)[Math.floor(runs / 2)]!;
}

await bigDatabase();
const tdb = openDatabase(DB, { readonly: true });
const month = { from: Date.UTC(2026, 9, 1), to: END };
const year = { from: END - 365 * 86_400_000, to: END };
console.log(`percentiles: ${DB}; ${machine()}`);

/** p95/p99 in units from the raw records: the baseline (one run; it reads every record of the range). */
function raw(service: string, range: { from: number; to: number }): { ms: number; p95: number | null; p99: number | null } {
  const t = performance.now();
  const where = 'service = ? AND recorded_at >= ? AND recorded_at < ? AND voided_at IS NULL';
  const n = tdb.sqlite.prepare(`SELECT count(*) FROM usage_records WHERE ${where}`).pluck().get(service, range.from, range.to) as number;
  if (n === 0) return { ms: performance.now() - t, p95: null, p99: null };
  const top = tdb.sqlite
    .prepare(`SELECT quantity FROM usage_records WHERE ${where} ORDER BY quantity DESC LIMIT ?`)
    .pluck()
    .all(service, range.from, range.to, n - nearestRank(95, n) + 1) as number[];
  return { ms: performance.now() - t, p95: top[n - nearestRank(95, n)]!, p99: top[n - nearestRank(99, n)]! };
}

const records = N >= 1_000_000 ? `${N / 1_000_000} M` : N.toLocaleString('en-US');
for (const service of ['api', 'storage']) {
  const def = requireService(await serviceMap(tdb.db), service);
  const display = (units: number | null) => (units === null ? null : roundDisplay(unitsToDisplay(def, BigInt(units))));
  for (const [name, range] of [
    ['month', month],
    ['year', year],
  ] as const) {
    let p = { p95: null as number | null, p99: null as number | null, totalEvents: 0 };
    const ms = await median(async () => (p = await usageStats(tdb.db, { service, ...range })));
    const target = name === 'month' ? 50 : 300;
    console.log(
      `p95/p99 of ${service} over a ${name} (${p.totalEvents.toLocaleString('en-US')} records): ${ms.toFixed(0)} ms  (p95 ${p.p95}, p99 ${p.p99})  target < ${target} ms`,
    );
    const base = raw(service, range);
    const same = p.p95 === display(base.p95) && p.p99 === display(base.p99);
    reportRow({
      what: `p95/p99 of ${service} over a ${name} at ${records} records`,
      value: `${ms.toFixed(1)} ms`,
      detail: `raw-record nearest rank over the same range ${base.ms.toFixed(0)} ms (${(base.ms / ms).toFixed(0)}× slower)${same ? ', same values' : ', VALUES DIFFER'}`,
      target: `< ${target} ms`,
      met: ms < target && same,
    });
  }
}
// Not rows of the table: ranges whose edges fall inside a UTC day (whole days from the histogram,
// the edges from raw records).
const edged: Array<[string, { from: number; to: number }]> = [
  [
    'the last 30 days, ending 13:17 UTC',
    { from: END - 30 * 86_400_000 - 10 * 3_600_000 - 17 * 60_000, to: END - 10 * 3_600_000 - 17 * 60_000 },
  ],
  ['October in America/New_York', zonedMonth('America/New_York', '2026-10')],
  ['October in Asia/Kolkata', zonedMonth('Asia/Kolkata', '2026-10')],
];
for (const [name, range] of edged) {
  let p = { p95: null as number | null, totalEvents: 0 };
  const ms = await median(async () => (p = await usageStats(tdb.db, { service: 'storage', ...range })));
  console.log(`p95/p99 of storage over ${name} (${p.totalEvents.toLocaleString('en-US')} records): ${ms.toFixed(1)} ms  (p95 ${p.p95})`);
}
await tdb.close();
