// The browser dashboard end to end: a real agent over a demo database, the built renderer in
// headless Chromium. What the user sees is held against the CLI's report and the API.
import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { UsageReport } from '../../src/analytics/usage';
import { formatMoney, formatUnitPrice, roundLines } from '../../src/core/money';
import { type Agent, apiCall, E2E_NOW, go, launchBrowser, openDashboard, pageProblems, pixelsOfColour, startAgent, tally } from './harness';

const SCREENSHOTS = path.resolve('docs/screenshots');

function reportJson(agent: Agent, extra: string[] = []): UsageReport {
  return JSON.parse(tally(['report', '--json', '--db', agent.db, ...extra], agent.env)) as UsageReport;
}

function sumNanos(decimals: readonly string[]): bigint {
  let total = 0n;
  for (const d of decimals) {
    const [whole, frac = ''] = d.split('.');
    total += BigInt(whole!) * 1_000_000_000n + BigInt(frac.padEnd(9, '0'));
  }
  return total;
}

async function cardTexts(page: Page, service: string) {
  const card = page.locator(`[data-testid="service-card-${service}"]`);
  return {
    cost: await card.locator('[data-testid="cost"]').innerText(),
    usage: Number(await card.locator('[data-testid="usage"]').getAttribute('data-value')),
    meta: await card.locator('.card-meta').innerText(),
  };
}

describe('browser dashboard on a real agent', () => {
  let agent: Agent;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    agent = await startAgent({ days: 40, name: 'dashboard' });
    browser = await launchBrowser();
    page = await openDashboard(browser, agent);
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await agent?.stop();
  });

  it("shows this month's figures exactly as `tally report --json` does", async () => {
    const report = reportJson(agent);
    expect(report.totalEvents).toBeGreaterThan(0);
    // People see cents (the total is the sum of the rounded cards); the exact value is on hover.
    expect(await page.getByTestId('total-cost').innerText()).toBe(formatMoney(roundLines(report.services.map((l) => l.cost)).total));
    expect(await page.getByTestId('total-cost').getAttribute('title')).toBe(`exact ${formatUnitPrice(report.totalCost)}`);
    for (const line of report.services) {
      const card = await cardTexts(page, line.service);
      expect(card.cost, line.service).toBe(formatMoney(line.cost));
      expect(await page.locator(`[data-testid="service-card-${line.service}"] [data-testid="cost"]`).getAttribute('title')).toBe(
        formatUnitPrice(line.cost),
      );
      expect(card.usage, line.service).toBe(line.usage);
      expect(card.meta.replace(/,/g, ''), line.service).toBe(`${line.events} events`);
    }
  });

  it('shows last month as `tally report --month` does', async () => {
    const d = new Date(E2E_NOW);
    const month = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() - 1, 1)).toISOString().slice(0, 7);
    const report = reportJson(agent, ['--month', month]);
    await page.getByLabel('Last month').check();
    await page
      .getByText(
        `Total cost · ${new Date(`${month}-01T00:00:00Z`).toLocaleDateString('en-US', { month: 'long', year: 'numeric', timeZone: 'UTC' })}`,
      )
      .waitFor();
    await page.waitForSelector('[data-testid="overview"][data-ready="true"]');
    expect(await page.getByTestId('total-cost').innerText()).toBe(formatMoney(roundLines(report.services.map((l) => l.cost)).total));
    expect((await cardTexts(page, 'storage')).cost).toBe(formatMoney(report.services.find((l) => l.service === 'storage')!.cost));
    await page.getByLabel('This month').check();
    await page.waitForSelector('[data-testid="overview"][data-ready="true"]');
  });

  it('draws every chart (the canvases hold the datasets’ colours, not just axes)', async () => {
    await page.waitForSelector('[data-testid="chart-daily-cost"][data-drawn="true"]');
    // Compute (orange) and storage (violet) dominate the stacked daily cost bars.
    expect(await pixelsOfColour(page, '[data-testid="chart-daily-cost"]', '#f97316')).toBeGreaterThan(200);
    expect(await pixelsOfColour(page, '[data-testid="chart-daily-cost"]', '#8b5cf6')).toBeGreaterThan(200);

    await go(page, '#/trends', '[data-testid="chart-trend-storage"][data-drawn="true"]');
    const colours: Record<string, string> = {
      api: '#3b82f6',
      storage: '#8b5cf6',
      bandwidth: '#14b8a6',
      compute: '#f97316',
      database: '#22c55e',
      functions: '#ec4899',
    };
    for (const [service, colour] of Object.entries(colours)) {
      await page.waitForSelector(`[data-testid="chart-trend-${service}"][data-drawn="true"]`);
      expect(await pixelsOfColour(page, `[data-testid="chart-trend-${service}"]`, colour), service).toBeGreaterThan(100);
    }
    expect(await page.getByTestId('day-over-day').count()).toBe(6);

    await go(page, '#/peaks', '[data-testid="chart-peaks"][data-drawn="true"]');
    expect(await pixelsOfColour(page, '[data-testid="chart-peaks"]', '#3b82f6')).toBeGreaterThan(200);
    await page.waitForSelector('[data-testid="heatmap"]');
    expect(await page.locator('[data-testid="heatmap"] [role="cell"]').count()).toBe(168);
  });

  it('shows a service’s breakdown by endpoint, sortable', async () => {
    await go(page, '#/service/api', '[data-testid="breakdown-table"]');
    const table = page.getByTestId('breakdown-table');
    const costs = async () => (await table.locator('tbody tr td:last-child').allInnerTexts()).map((t) => Number(t.replace('$', '')));
    const desc = await costs();
    expect(desc.length).toBeGreaterThan(2);
    expect([...desc].sort((a, b) => b - a)).toEqual(desc);
    await table.getByRole('button', { name: /^Cost/ }).click();
    const asc = await costs();
    expect([...asc].sort((a, b) => a - b)).toEqual(asc);
    expect(await table.locator('tbody').innerText()).toContain('/users');
  });

  it('refuses invalid input in Settings with the field named, and changes nothing', async () => {
    const quotasBefore = await apiCall(agent, 'quotas.list', {});
    const pricesBefore = await apiCall(agent, 'prices.list', {});
    await go(page, '#/settings', '[data-testid="prices"]');

    const quotaForm = page.getByRole('form', { name: 'Set a quota' });
    await quotaForm.getByLabel('Service').selectOption('api');
    await quotaForm.getByLabel(/^Limit/).fill('-5');
    await quotaForm.getByRole('button', { name: 'Set quota' }).click();
    await expect
      .poll(() =>
        quotaForm
          .locator('.field-error')
          .innerText()
          .catch(() => ''),
      )
      .toMatch(/^limit: /);
    expect(await quotaForm.getByLabel(/^Limit/).getAttribute('aria-invalid')).toBe('true');

    const priceForm = page.getByTestId('price-api');
    const priceText = await priceForm.getByTestId('current-price').innerText();
    await priceForm.getByLabel(/New price/).fill('0.00o1');
    await priceForm.getByRole('button', { name: 'Set price' }).click();
    await expect
      .poll(() =>
        priceForm
          .locator('.field-error')
          .innerText()
          .catch(() => ''),
      )
      .toMatch(/^price: /);

    // A sync endpoint in clear text over the network would leak its token.
    const targetsBefore = await apiCall(agent, 'sync.targets.list', {});
    const syncForm = page.getByRole('form', { name: 'Add or change a sync target' });
    await syncForm.getByLabel('Name').fill('billing');
    await syncForm.getByLabel('Endpoint URL').fill('http://billing.example.com');
    await syncForm.getByLabel('Token').fill('secret-token-123');
    await syncForm.getByRole('button', { name: 'Save target' }).click();
    await expect
      .poll(() =>
        syncForm
          .locator('.field-error')
          .innerText()
          .catch(() => ''),
      )
      .toMatch(/^target\.url: .*https/);
    expect(await syncForm.getByLabel('Endpoint URL').getAttribute('aria-invalid')).toBe('true');

    expect(await apiCall(agent, 'sync.targets.list', {})).toEqual(targetsBefore);
    expect(await apiCall(agent, 'quotas.list', {})).toEqual(quotasBefore);
    expect(await apiCall(agent, 'prices.list', {})).toEqual(pricesBefore);
    expect(await priceForm.getByTestId('current-price').innerText()).toBe(priceText);
  });

  it('Settings › Collectors: an invalid schedule names itself and changes nothing; a valid change is saved for the next start', async () => {
    type State = {
      config: { storage: { schedule: string; paths: string[]; enabled: boolean } };
      configFile: string;
      restartNeeded: boolean;
    };
    const configFile = agent.env.TALLY_CONFIG!;
    const fileBefore = fs.readFileSync(configFile);
    const before = await apiCall<State>(agent, 'collectors.get', {});
    expect(before.configFile).toBe(configFile);
    expect(before.restartNeeded).toBe(false);
    await go(page, '#/settings', 'form[aria-label="Collector settings"]');
    const form = page.getByRole('form', { name: 'Collector settings' });
    expect(await page.getByTestId('config-file').innerText()).toBe(configFile);
    expect(await form.getByLabel('Storage schedule').inputValue()).toBe(before.config.storage.schedule);

    await form.getByLabel('Storage schedule').fill('every five minutes');
    await form.getByRole('button', { name: 'Save collectors' }).click();
    await expect
      .poll(() =>
        form
          .locator('.field-error')
          .innerText()
          .catch(() => ''),
      )
      .toMatch(/^collectors\.storage\.schedule: must be a cron expression/);
    expect(await form.getByLabel('Storage schedule').getAttribute('aria-invalid')).toBe('true');
    expect(await apiCall<State>(agent, 'collectors.get', {})).toEqual(before);
    expect(fs.readFileSync(configFile).equals(fileBefore)).toBe(true);

    await form.getByLabel('Storage schedule').fill('*/5 * * * *');
    await form.getByLabel(/^Folders to measure/).fill('/srv/tally-e2e\n/var/lib/tally-e2e');
    await form.getByRole('button', { name: 'Save collectors' }).click();
    await form.getByText('Saved — restart the agent to apply').waitFor();
    expect(await form.locator('.field-error').count()).toBe(0);

    const saved = JSON.parse(fs.readFileSync(configFile, 'utf8')) as { writer: unknown; collectors: State['config'] };
    expect(saved.writer).toEqual({ batchTimeoutSeconds: 0.5 });
    expect(saved.collectors.storage).toMatchObject({
      enabled: false,
      schedule: '*/5 * * * *',
      paths: ['/srv/tally-e2e', '/var/lib/tally-e2e'],
    });
    const after = await apiCall<State>(agent, 'collectors.get', {});
    expect(after.restartNeeded).toBe(true);
    expect(after.config.storage.schedule).toBe('*/5 * * * *');

    // Coming back later, the page still says the saved settings wait for a restart.
    await page.reload();
    await go(page, '#/settings', 'form[aria-label="Collector settings"]');
    await page.getByTestId('restart-needed').waitFor();
    expect(await page.getByRole('form', { name: 'Collector settings' }).getByLabel('Storage schedule').inputValue()).toBe('*/5 * * * *');
  });

  it('a quota set in Settings raises its alert on the Overview and in Alerts', async () => {
    await go(page, '#/settings', '[data-testid="quotas"]');
    const quotaForm = page.getByRole('form', { name: 'Set a quota' });
    await quotaForm.getByLabel('Service').selectOption('api');
    await quotaForm.getByLabel('Period').selectOption('month');
    await quotaForm.getByLabel(/^Limit/).fill('1000');
    await quotaForm.getByRole('button', { name: 'Set quota' }).click();
    await page.getByText('Quota for api set').waitFor();
    // The new alert is announced at once, wherever the user is.
    const toast = page.getByTestId('toast');
    await toast.waitFor();
    expect(await toast.innerText()).toMatch(/exceeded[\s\S]*api/i);
    await toast.getByRole('button', { name: 'Dismiss' }).click();
    await toast.waitFor({ state: 'detached' });
    expect(await page.getByTestId('quotas-table').innerText()).toMatch(/api\s+month\s+1,000 requests/);

    await go(page, '#/overview', '[data-testid="overview"][data-ready="true"]');
    await page.waitForSelector('[data-testid="quota-api-month"][data-level="exceeded"]');
    await expect.poll(() => page.getByTestId('recent-alerts').innerText()).toMatch(/exceeded[\s\S]*api/i);

    await go(page, '#/alerts', '[data-testid="current-levels"]');
    expect(await page.getByTestId('current-levels').locator('[data-level="exceeded"]').count()).toBeGreaterThan(0);
    await page.waitForSelector('[data-testid="alerts-history"]');
    expect(await page.getByTestId('alerts-history').innerText()).toMatch(/exceeded\s+api/);
  });

  it('exports a CSV from the UI whose record count and total match the report', async () => {
    const target = path.join(agent.dir, 'ui-export.csv');
    await go(page, '#/export', 'form[aria-label="Export usage records"]');
    await page.getByLabel('CSV').check();
    await page.getByLabel('This month').check();
    await page.getByLabel(/^Save to/).fill(target);
    await page.getByRole('button', { name: 'Export' }).click();
    await page.getByTestId('export-done').waitFor({ timeout: 30_000 });

    const report = reportJson(agent);
    const rows = parse(fs.readFileSync(target, 'utf8'), { columns: true, skip_empty_lines: true }) as Array<Record<string, string>>;
    const records = rows.filter((r) => r.id && r.id !== 'TOTAL');
    expect(records.length).toBe(report.totalEvents);
    const total = sumNanos(records.map((r) => r.total_cost!));
    expect(total).toBe(sumNanos([report.totalCost]));
    expect(await page.getByTestId('export-done').innerText()).toContain(formatMoney(report.totalCost));
  });

  it('shows a record sent to the API within 5 seconds, without a reload', async () => {
    await go(page, '#/overview', '[data-testid="overview"][data-ready="true"]');
    const before = Number((await cardTexts(page, 'functions')).meta.replace(/\D/g, ''));
    const res = await fetch(`${agent.url}/v1/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${agent.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ service: 'functions', quantity: 1, metadata: { function: 'liveCheck', duration_ms: 12, memory_mb: 128 } }),
    });
    expect(res.status).toBe(201);
    const events = page.locator('[data-testid="service-card-functions"] .card-meta');
    await events.filter({ hasText: new RegExp(`^${(before + 1).toLocaleString('en-US')} events$`) }).waitFor({ timeout: 5_000 });
    expect(await page.getByTestId('live').innerText()).toMatch(/updated/);
  });

  it('saves a screenshot of every page (light theme, and the Overview dark)', async () => {
    fs.mkdirSync(SCREENSHOTS, { recursive: true });
    const shots: Array<[string, string, string]> = [
      ['overview', '#/overview', '[data-testid="overview"][data-ready="true"]'],
      ['trends', '#/trends', '[data-testid="chart-trend-storage"][data-drawn="true"]'],
      ['peaks', '#/peaks', '[data-testid="heatmap"]'],
      ['service-detail', '#/service/api', '[data-testid="breakdown-table"]'],
      ['alerts', '#/alerts', '[data-testid="alerts-history"]'],
      ['export', '#/export', 'form[aria-label="Export usage records"]'],
      ['settings', '#/settings', '[data-testid="quotas-table"]'],
    ];
    for (const [name, hash, ready] of shots) {
      await go(page, hash, ready);
      await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true });
    }
    const dark = await openDashboard(browser, agent, 'dark');
    await dark.waitForSelector('[data-testid="chart-daily-cost"][data-drawn="true"]');
    expect(
      await dark
        .locator('body')
        .evaluate(
          (body) =>
            (globalThis as unknown as { getComputedStyle(e: unknown): { backgroundColor: string } }).getComputedStyle(body).backgroundColor,
        ),
    ).not.toBe('rgb(246, 247, 249)');
    await dark.screenshot({ path: path.join(SCREENSHOTS, 'overview-dark.png'), fullPage: true });
    await dark.context().close();
    for (const name of [...shots.map((s) => s[0]), 'overview-dark'])
      expect(fs.statSync(path.join(SCREENSHOTS, `${name}.png`)).size).toBeGreaterThan(10_000);
  });

  it('ran without page errors or CSP violations', () => {
    expect(pageProblems(page)).toEqual([]);
  });
});
