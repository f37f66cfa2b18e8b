// The dashboard before there is anything to show, and before the browser is signed in: designed
// states, not blank pages. Also: every page is reachable from the keyboard.
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Agent, go, launchBrowser, newContext, openDashboard, pageProblems, startAgent } from './harness';

describe('first run', () => {
  let agent: Agent;
  let browser: Browser;

  beforeAll(async () => {
    agent = await startAgent({ days: 0, name: 'first-run' });
    browser = await launchBrowser();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await agent?.stop();
  });

  it('an empty database shows what to do, with zero totals', async () => {
    const page = await openDashboard(browser, agent);
    expect(await page.getByTestId('total-cost').innerText()).toBe('$0.00');
    expect(await page.getByText('No usage recorded in this period').isVisible()).toBe(true);
    // Recent alerts follow the period the Overview shows.
    expect(await page.getByText(/^No alerts in [A-Z][a-z]+ \d{4}\./).isVisible()).toBe(true);
    await go(page, '#/trends', 'text=No usage in this range');
    await go(page, '#/alerts', 'text=No quotas set');
    expect(pageProblems(page)).toEqual([]);
    await page.context().close();
  });

  it('a browser without the token link is told how to sign in', async () => {
    const context = await newContext(browser, agent);
    const page = await context.newPage();
    await page.goto(`${agent.url}/`);
    const alert = page.getByRole('alert').first();
    await alert.waitFor();
    expect(await alert.innerText()).toMatch(/Not signed in[\s\S]*tally agent/);
    await context.close();
  });

  it('every page is reachable with the keyboard alone', async () => {
    const page = await openDashboard(browser, agent);
    // Forward from the top of the page first; afterwards focus sits on the page's content, so the
    // navigation is behind it (Shift+Tab).
    for (const [name, hash, key] of [
      ['Settings', '#/settings', 'Tab'],
      ['Trends', '#/trends', 'Shift+Tab'],
      ['Overview', '#/overview', 'Shift+Tab'],
    ] as const) {
      let focused = '';
      for (let i = 0; i < 40 && focused !== name; i++) {
        await page.keyboard.press(key);
        focused = await page.evaluate(
          () =>
            (globalThis as unknown as { document: { activeElement: { textContent: string | null } | null } }).document.activeElement
              ?.textContent ?? '',
        );
      }
      expect(focused).toBe(name);
      await page.keyboard.press('Enter');
      await page.waitForURL(`**/${hash}`);
      // The URL changes before the page renders: wait for the page's own heading, not the URL.
      await page.getByRole('heading', { level: 1, name, exact: true }).waitFor();
      expect(await page.getByRole('heading', { level: 1 }).innerText()).toBe(name);
    }
    await page.context().close();
  });
});
