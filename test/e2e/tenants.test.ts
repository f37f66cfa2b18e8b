// Tenants in the browser, on a real agent: the customer picker narrows every page's numbers to
// that customer's (equal to `tally report --customer`), the Customers page, the Events page
// showing a POSTed event within 5 s with its metadata as JSON, and a read key's dashboard showing
// one customer and no settings. Screenshots of the new pages into docs/screenshots.
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { UsageReport } from '../../src/analytics/usage';
import { formatMoney, roundLines } from '../../src/core/money';
import { type Agent, go, launchBrowser, newContext, openDashboard, pageProblems, startAgent, tally } from './harness';

const SCREENSHOTS = path.resolve('docs/screenshots');

async function post(agent: Agent, body: unknown, auth = `Bearer ${agent.token}`): Promise<number> {
  const res = await fetch(`${agent.url}/v1/events`, {
    method: 'POST',
    headers: { authorization: auth, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return res.status;
}

const apiEvent = (customerId: string, endpoint: string, userId = 'user-1') => ({
  service: 'api',
  quantity: 1,
  customerId,
  userId,
  metadata: { endpoint, method: 'GET', status: 200, duration_ms: 20 },
});

function report(agent: Agent, customer: string): UsageReport {
  return JSON.parse(tally(['report', '--json', '--db', agent.db, '--customer', customer], agent.env)) as UsageReport;
}

describe('tenants in the dashboard', () => {
  let agent: Agent;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    agent = await startAgent({ days: 10, name: 'tenants' });
    const events = [
      ...Array.from({ length: 30 }, (_, i) => apiEvent('acme', `/a${i % 3}`, `user-${i % 4}`)),
      ...Array.from({ length: 12 }, (_, i) => apiEvent('globex', `/g${i % 2}`)),
      { service: 'functions', quantity: 5, customerId: 'globex', metadata: { function: 'resize', duration_ms: 40, memory_mb: 256 } },
    ];
    expect(await post(agent, events)).toBe(201);
    browser = await launchBrowser();
    page = await openDashboard(browser, agent);
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await agent?.stop();
  });

  it('the picker changes the Overview total to that customer’s, as `tally report --customer` prints it', async () => {
    for (const customer of ['acme', 'globex']) {
      await page.getByTestId('customer-picker').selectOption(customer);
      const expected = formatMoney(roundLines(report(agent, customer).services.map((l) => l.cost)).total);
      await page.getByTestId('total-cost').filter({ hasText: expected }).waitFor({ timeout: 10_000 });
    }
    // Another page under the same choice: the Services table holds globex's services and events.
    await go(page, '#/services', '[data-testid="services-table"]');
    const expectedRows = report(agent, 'globex').services.map((l) => `${l.displayName}|${l.events}`);
    const shownRows = async () =>
      (await page.locator('[data-testid="services-table"] tbody tr').allInnerTexts()).map((r) => r.split('\t').slice(0, 2).join('|'));
    for (let i = 0; i < 50 && JSON.stringify((await shownRows()).sort()) !== JSON.stringify(expectedRows.sort()); i++)
      await page.waitForTimeout(100);
    expect((await shownRows()).sort()).toEqual(expectedRows.sort());
    await go(page, '#/overview', '[data-testid="overview"][data-ready="true"]');
    await page.getByTestId('customer-picker').selectOption('');
  });

  it('the Customers page lists each customer with this month’s events and cost; a row opens that customer', async () => {
    await go(page, '#/customers', '[data-testid="customers"][data-ready="true"]');
    const rows = await page.locator('[data-testid="customers-table"] tbody tr').allInnerTexts();
    expect(rows.some((r) => r.startsWith('acme') && r.includes('30'))).toBe(true);
    expect(rows.some((r) => r.startsWith('globex') && r.includes('13'))).toBe(true);
    // The run-rate projection per customer, from analytics.projection.
    const projectedHeader = page.locator('[data-testid="customers-table"] th', { hasText: 'Projected month' });
    expect(await projectedHeader.count()).toBe(1);
    await page.screenshot({ path: path.join(SCREENSHOTS, 'customers.png'), fullPage: true });
    await page.locator('[data-testid="customers-table"] button', { hasText: 'acme' }).click();
    expect(await page.getByTestId('customer-picker').inputValue()).toBe('acme');
    await page.getByTestId('customer-picker').selectOption('');
  });

  it('the Events page shows a POSTed event within 5 s and its metadata as formatted JSON', async () => {
    await go(page, '#/events', '[data-testid="events"][data-ready="true"]');
    expect(await post(agent, apiEvent('initech', '/just-now', 'user-live'))).toBe(201);
    const row = page.locator('[data-testid="event-row"]', { hasText: 'initech' });
    await row.waitFor({ timeout: 5_000 });
    await row.locator('button').click();
    const json = await page.getByTestId('event-metadata').innerText();
    expect(JSON.parse(json)).toMatchObject({ endpoint: '/just-now', method: 'GET' });
    expect(json).toContain('\n  "endpoint"');
    await page.screenshot({ path: path.join(SCREENSHOTS, 'events.png'), fullPage: true });
  });

  it('the Insights page shows top users, errors and latency for the chosen customer', async () => {
    await page.getByTestId('customer-picker').selectOption('acme');
    await go(page, '#/insights', '[data-testid="insights"][data-ready="true"]');
    await page.getByTestId('top-users').waitFor({ timeout: 10_000 });
    const users = await page.locator('[data-testid="top-users"] tbody tr td:first-child').allInnerTexts();
    expect(users.sort()).toEqual(['user-0', 'user-1', 'user-2', 'user-3']);
    const latency = await page.locator('[data-testid="latency-endpoint"] tbody tr td:first-child').allInnerTexts();
    expect(latency.sort()).toEqual(['/a0', '/a1', '/a2']);
    await page.screenshot({ path: path.join(SCREENSHOTS, 'insights.png'), fullPage: true });
    await page.getByTestId('customer-picker').selectOption('');
  });

  it('a read key’s dashboard shows one customer and no settings', async () => {
    const created = JSON.parse(
      tally(['keys', 'create', '--customer', 'globex', '--scope', 'read', '--json', '--db', agent.db], agent.env),
    ) as { key: string };
    const context = await newContext(browser, agent, { viewport: { width: 1280, height: 860 } });
    const tenant = await context.newPage();
    await tenant.goto(`${agent.url}/?key=${encodeURIComponent(created.key)}`);
    await tenant.waitForSelector('[data-testid="overview"][data-ready="true"]', { timeout: 20_000 });
    expect(await tenant.getByTestId('customer-fixed').innerText()).toContain('globex');
    expect(await tenant.getByTestId('customer-picker').count()).toBe(0);
    expect(await tenant.locator('nav a', { hasText: 'Settings' }).count()).toBe(0);
    const expected = formatMoney(roundLines(report(agent, 'globex').services.map((l) => l.cost)).total);
    await tenant.getByTestId('total-cost').filter({ hasText: expected }).waitFor({ timeout: 10_000 });
    await go(tenant, '#/events', '[data-testid="events"][data-ready="true"]');
    const customers = new Set(await tenant.locator('[data-testid="event-row"] td:nth-child(2)').allInnerTexts());
    expect([...customers]).toEqual(['globex']);
    await tenant.screenshot({ path: path.join(SCREENSHOTS, 'read-key-dashboard.png'), fullPage: true });
    await context.close();
  });

  it('ran without page errors or CSP violations', () => {
    expect(pageProblems(page)).toEqual([]);
  });
});
