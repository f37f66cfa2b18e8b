// npm run bench:percentiles — p95/p99 of one service over a month and over a year on the
// 10 M-record database of bench:reports (generated once and cached; see bench/big-database.ts).
import os from 'node:os';
import { openDatabase } from '../src/storage/open';
import { usageStats } from '../src/analytics/stats';
import { bigDatabase, DB, END } from './big-database';

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
console.log(
  `percentiles: ${DB}; ${os.cpus().length} cores, load average ${os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
);
for (const service of ['api', 'storage']) {
  for (const [name, range] of [
    ['month', month],
    ['year', year],
  ] as const) {
    let p = { p95: null as number | null, p99: null as number | null, totalEvents: 0 };
    const ms = await median(async () => (p = await usageStats(tdb.db, { service, ...range })));
    console.log(
      `p95/p99 of ${service} over a ${name} (${p.totalEvents.toLocaleString('en-US')} records): ${ms.toFixed(0)} ms  (p95 ${p.p95}, p99 ${p.p99})  target < ${name === 'month' ? 50 : 300} ms`,
    );
  }
}
await tdb.close();
