// npm run bench:ui — time from navigation to the Overview's charts drawn, in headless Chromium,
// with a 10-million-record database behind a real agent. "Drawn" is the page's own mark
// (performance.mark('tally:overview-ready')), set once the month's report is in and chart.js
// has painted the daily cost chart. Target: under 1 s.
//
// The database is the one bench:reports uses (bench/big-database.ts), generated once and cached.
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { launchBrowser, startAgent } from '../test/e2e/harness';
import { bigDatabase, N } from './big-database';

const RUNS = Number(process.env.BENCH_RUNS ?? 7);
const TARGET_MS = 1000;

function newestMonth(file: string): string {
  const db = new BetterSqlite3(file, { readonly: true });
  const last = db.prepare('SELECT max(recorded_at) FROM usage_records').pluck().get() as number;
  db.close();
  return new Date(last).toISOString().slice(0, 7);
}

async function main(): Promise<void> {
  const { file } = await bigDatabase();
  const month = newestMonth(file);
  const agent = await startAgent({ days: 0, name: 'bench-ui', link: file, now: null });
  const browser = await launchBrowser();
  try {
    const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
    const page = await context.newPage();
    const target = `${agent.url}/#/overview?month=${month}`;
    const measure = async (url: string, requireChart = true): Promise<number> => {
      await page.goto('about:blank');
      await page.goto(url);
      await page.waitForSelector('[data-testid="overview"][data-ready="true"]', { timeout: 60_000 });
      if (requireChart && (await page.locator('[data-testid="chart-daily-cost"][data-drawn="true"]').count()) !== 1)
        throw new Error('the Overview is ready but its chart is not drawn');
      return page.evaluate(() => performance.getEntriesByName('tally:overview-ready')[0]!.startTime);
    };
    // The first visit trades the token for the session cookie (one redirect), on a cold agent.
    const cold = await measure(agent.dashboardUrl, false);
    const first = await measure(target);
    const runs: number[] = [];
    for (let i = 0; i < RUNS; i++) runs.push(await measure(target));
    runs.sort((a, b) => a - b);
    const median = runs[Math.floor(runs.length / 2)]!;
    const total = await page.getByTestId('total-events').innerText();
    console.log(
      `\nbench:ui — ${N.toLocaleString('en')} records (${path.basename(file)}), Overview of ${month} (${total} events), headless Chromium`,
    );
    console.log(`  first load (cold agent, token redirect, this month): ${cold.toFixed(0)} ms`);
    console.log(`  first load of ${month}:                               ${first.toFixed(0)} ms`);
    console.log(
      `  navigation → charts drawn, median of ${RUNS}:           ${median.toFixed(0)} ms  (min ${runs[0]!.toFixed(0)}, max ${runs[runs.length - 1]!.toFixed(0)})`,
    );
    console.log(`  target < ${TARGET_MS} ms: ${median < TARGET_MS ? 'ok' : 'OVER'}`);
    await context.close();
  } finally {
    await browser.close();
    await agent.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
