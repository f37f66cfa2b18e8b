// Corrections in the browser, on a real agent: the Events page voids an event with a reason (an
// empty reason is refused naming the field), after which the report, the statement and the live
// raw events agree; a sync target that cannot retract (OpenMeter fake) lists the void under
// Settings › Sync until "Mark done"; the Statement page says the month is open and when it closes.
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOpenMeterFake, type OpenMeterFake } from '../fakes/openmeter';
import { type Agent, apiCall, E2E_NOW, go, launchBrowser, openDashboard, pageProblems, startAgent, tally } from './harness';

const SCREENSHOTS = path.resolve('docs/screenshots');

describe('corrections in the dashboard', () => {
  let agent: Agent;
  let browser: Browser;
  let page: Page;
  let om: OpenMeterFake;

  beforeAll(async () => {
    agent = await startAgent({ days: 0, name: 'corrections' });
    om = await startOpenMeterFake();
    await apiCall(agent, 'sync.targets.set', { target: { name: 'meter', kind: 'openmeter', url: om.url, token: 'om_test_key' } });
    const events = Array.from({ length: 5 }, (_, i) => ({
      service: 'api',
      quantity: 1,
      customerId: 'acme',
      metadata: { endpoint: `/e${i}`, method: 'GET', status: 200 },
    }));
    const res = await fetch(`${agent.url}/v1/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${agent.token}`, 'content-type': 'application/json' },
      body: JSON.stringify(events),
    });
    expect(res.status).toBe(201);
    await apiCall(agent, 'sync.now', {});
    browser = await launchBrowser();
    page = await openDashboard(browser, agent);
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await agent?.stop();
    await om?.close();
  });

  const live = () => {
    const db = new BetterSqlite3(agent.db, { readonly: true });
    try {
      return db.prepare('SELECT count(*) AS n, sum(cost_nanos) AS c FROM usage_records WHERE voided_at IS NULL').get() as {
        n: number;
        c: number;
      };
    } finally {
      db.close();
    }
  };

  it('voids an event from the Events page; report, statement and raw events agree after it', async () => {
    await go(page, '#/events', '[data-testid="events"][data-ready="true"]');
    const row = page.locator('[data-testid="event-row"]', { hasText: 'acme' }).first();
    const id = await row.getAttribute('data-id');
    await row.locator('button').click();
    const form = page.getByTestId('void-event');
    await form.getByRole('button', { name: 'Void event' }).click();
    await form
      .getByRole('alert')
      .filter({ hasText: /reason/ })
      .waitFor({ timeout: 5_000 });
    await form.getByLabel('Reason').fill('test traffic');
    await form.getByRole('button', { name: 'Void event' }).click();
    await page.locator(`[data-testid="event-row"][data-id="${id}"].voided`).waitFor({ timeout: 5_000 });
    await page.screenshot({ path: path.join(SCREENSHOTS, 'events-void.png'), fullPage: true });

    const month = E2E_NOW.slice(0, 7);
    const report = JSON.parse(tally(['report', '--json', '--db', agent.db, '--month', month], agent.env)) as {
      totalEvents: number;
      totalCostNanos: number;
    };
    const statement = JSON.parse(tally(['statement', '--json', '--db', agent.db, '--month', month], agent.env)) as { totalNanos: string };
    const raw = live();
    expect(raw.n).toBe(4);
    expect(report.totalEvents).toBe(raw.n);
    expect(report.totalCostNanos).toBe(raw.c);
    expect(Number(statement.totalNanos)).toBe(raw.c);
    const trail = JSON.parse(tally(['events', 'corrections', '--json', '--db', agent.db], agent.env)) as Array<{ id: string; by: string }>;
    expect(trail).toEqual([expect.objectContaining({ id, by: 'admin', reason: 'test traffic' })]);
  });

  it('Settings › Sync lists the void OpenMeter cannot take back, until Mark done', async () => {
    await apiCall(agent, 'sync.now', {});
    await go(page, '#/settings', '[data-testid="settings"]');
    const list = page.getByTestId('manual-corrections');
    await list.waitFor({ timeout: 10_000 });
    expect(await list.innerText()).toMatch(/test traffic/);
    await list.screenshot({ path: path.join(SCREENSHOTS, 'sync-manual-corrections.png') });
    await list.getByRole('button', { name: 'Mark done' }).click();
    await list.waitFor({ state: 'detached', timeout: 5_000 });
  });

  it('the Statement page says the month is open and when its grace period closes it', async () => {
    await go(page, '#/statement', '[data-testid="statement"]');
    const state = page.getByTestId('statement-state');
    await state.waitFor({ timeout: 10_000 });
    expect(await state.getAttribute('data-state')).toBe('open');
    expect(await state.innerText()).toMatch(/^Open: closes .* UTC/);
    expect(pageProblems(page)).toEqual([]);
  });
});
