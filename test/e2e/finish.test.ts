// The dashboard as people use it day to day, in headless Chromium on a real agent: money in cents
// on a printable statement whose lines add up, a browser download with the report's total, the
// maintenance schedule edited in Settings, and a phone-sized window (390 px) that never scrolls
// sideways on any page.
import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { UsageReport } from '../../src/analytics/usage';
import { formatMoney, toNanos } from '../../src/core/money';
import { type Agent, E2E_NOW, go, launchBrowser, newContext, openDashboard, pageProblems, startAgent, tally } from './harness';

const SCREENSHOTS = path.resolve('docs/screenshots');

const PAGES: ReadonlyArray<readonly [string, string]> = [
  ['#/overview', '[data-testid="overview"][data-ready="true"]'],
  ['#/trends', '[data-testid="trends"]'],
  ['#/peaks', '[data-testid="heatmap"]'],
  ['#/services', '[data-testid="services"]'],
  ['#/service/api', '[data-testid="breakdown-table"]'],
  ['#/alerts', '[data-testid="alerts"]'],
  ['#/export', 'form[aria-label="Export usage records"]'],
  ['#/statement', '[data-testid="statement-total"]'],
  ['#/settings', '[data-testid="schedule-table"]'],
];

describe('dashboard finish', () => {
  let agent: Agent;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    agent = await startAgent({ days: 40, name: 'finish' });
    browser = await launchBrowser();
    page = await openDashboard(browser, agent);
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await agent?.stop();
  });

  it('prints a statement whose rounded lines add up to its printed total, the exact total beneath', async () => {
    await go(page, '#/statement', '[data-testid="statement-total"]');
    const month = E2E_NOW.slice(0, 7);
    const s = JSON.parse(tally(['statement', '--month', month, '--json', '--db', agent.db], agent.env)) as {
      total: string;
      lines: unknown[];
    };
    const amounts = await page.getByTestId('line-amount').allInnerTexts();
    expect(amounts).toHaveLength(s.lines.length);
    expect(amounts.every((a) => /^\$[\d,]+\.\d\d$/.test(a))).toBe(true);
    const total = await page.getByTestId('statement-total').innerText();
    const sum = amounts.reduce((n, a) => n + toNanos(a.replace(/[$,]/g, '')), 0n);
    expect(toNanos(total.replace(/[$,]/g, ''))).toBe(sum);
    const note = await page.getByTestId('statement-note').innerText();
    if (toNanos(s.total) !== sum) expect(note).toContain(`Exact total $${s.total}`);
  });

  it('downloads an export in the browser with the report’s records and total', async () => {
    const context = await newContext(browser, agent, { acceptDownloads: true, viewport: { width: 1280, height: 860 } });
    const p = await context.newPage();
    await p.goto(agent.dashboardUrl);
    await p.waitForSelector('[data-testid="overview"][data-ready="true"]');
    await go(p, '#/export', 'form[aria-label="Export usage records"]');
    await p.getByLabel('CSV').check();
    const [download] = await Promise.all([p.waitForEvent('download'), p.getByTestId('download').click()]);
    const file = path.join(agent.dir, 'downloaded.csv');
    await download.saveAs(file);
    expect(download.suggestedFilename()).toMatch(/^tally-usage-\d{4}-\d\d-\d\d_\d{4}-\d\d-\d\d\.csv$/);
    const report = JSON.parse(tally(['report', '--json', '--db', agent.db], agent.env)) as UsageReport;
    const rows = parse(fs.readFileSync(file, 'utf8'), { columns: true }) as Array<Record<string, string>>;
    expect(rows).toHaveLength(report.totalEvents);
    expect(rows.reduce((n, r) => n + toNanos(r.total_cost!), 0n)).toBe(toNanos(report.totalCost));
    await context.close();
  });

  it('edits the maintenance schedule: a bad cron is named beside its field, a good one is saved', async () => {
    await go(page, '#/settings', '[data-testid="schedule-table"]');
    const row = page.getByTestId('job-export');
    await row.getByLabel('Report export on').check();
    await row.getByLabel('Report export cron').fill('every night');
    await page.getByRole('button', { name: 'Save schedule' }).click();
    await expect.poll(() => row.locator('.field-error').innerText()).toMatch(/must be a cron expression/);
    await row.getByLabel('Report export cron').fill('0 1 * * *');
    await page.getByRole('button', { name: 'Save schedule' }).click();
    await page.getByText('Saved — restart the agent to apply').waitFor();
    const saved = JSON.parse(fs.readFileSync(agent.env.TALLY_CONFIG!, 'utf8'));
    expect(saved.schedule.export).toMatchObject({ enabled: true, cron: '0 1 * * *' });
    await page.getByTestId('job-optimize').getByRole('button', { name: 'Run now' }).click();
    await expect.poll(() => page.getByTestId('job-optimize').getByTestId('last-result').innerText()).toMatch(/^✓ .* checkpointed/);
  });

  it('at 390 px no page scrolls sideways, and money is in cents', async () => {
    const context = await newContext(browser, agent, { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2 });
    const phone = await context.newPage();
    await phone.goto(agent.dashboardUrl);
    await phone.waitForSelector('[data-testid="overview"][data-ready="true"]');
    const report = JSON.parse(tally(['report', '--json', '--db', agent.db], agent.env)) as UsageReport;
    expect(await phone.getByTestId('cost').first().innerText()).toBe(formatMoney(report.services[0]!.cost));
    const wide: string[] = [];
    for (const [hash, ready] of PAGES) {
      await go(phone, hash, ready);
      const { scroll, view } = await phone.evaluate(() => {
        const d = (globalThis as unknown as { document: { documentElement: { scrollWidth: number; clientWidth: number } } }).document;
        return { scroll: d.documentElement.scrollWidth, view: d.documentElement.clientWidth };
      });
      if (scroll > view) wide.push(`${hash}: ${scroll} > ${view}`);
      if (hash === '#/overview') {
        fs.mkdirSync(SCREENSHOTS, { recursive: true });
        await phone.screenshot({ path: path.join(SCREENSHOTS, 'overview-390px.png'), fullPage: true });
      }
    }
    expect(wide).toEqual([]);
    await go(phone, '#/statement', '[data-testid="statement-total"]');
    await phone.screenshot({ path: path.join(SCREENSHOTS, 'statement-390px.png'), fullPage: true });
    await context.close();
  });

  it('saves screenshots of the new pages', async () => {
    await go(page, '#/statement', '[data-testid="statement-total"]');
    await page.screenshot({ path: path.join(SCREENSHOTS, 'statement.png'), fullPage: true });
    await go(page, '#/settings', '[data-testid="schedule-table"]');
    await page.getByTestId('schedule').screenshot({ path: path.join(SCREENSHOTS, 'settings-schedule.png') });
    expect(fs.statSync(path.join(SCREENSHOTS, 'statement.png')).size).toBeGreaterThan(10_000);
  });

  it('ran without page errors', () => {
    expect(pageProblems(page)).toEqual([]);
  });
});
