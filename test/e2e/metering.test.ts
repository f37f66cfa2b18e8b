// The metering model in the browser: prepaid credit on the Overview, new price models and a
// unique_count service registered in Settings — a real agent, the built renderer, Chromium.
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CreditBalance } from '../../src/analytics/credits';
import type { PriceRule } from '../../src/core/pricing';
import type { ServiceDefinition } from '../../src/core/services';
import { formatMoney } from '../../src/core/money';
import { apiCall, go, launchBrowser, openDashboard, startAgent, type Agent } from './harness';

describe('metering model in the dashboard', () => {
  let agent: Agent;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    agent = await startAgent({ days: 3, name: 'metering' });
    await apiCall(agent, 'credits.grant', { customerId: 'default', amount: '1000', note: 'e2e' });
    browser = await launchBrowser();
    page = await openDashboard(browser, agent);
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await agent?.stop();
  });

  it('the Overview shows the credit left, as credits.balance says', async () => {
    const b = await apiCall<CreditBalance>(agent, 'credits.balance', { customerId: 'default' });
    const line = page.getByTestId('credit-default');
    await line.waitFor();
    expect(await line.innerText()).toContain(`${formatMoney(b.remaining)} left of ${formatMoney(b.granted)}`);
  });

  it('Settings › Prices sets volume tiers; a bad percentage names its field and stores nothing', async () => {
    await go(page, '#/settings', '[data-testid="prices"]');
    const form = page.getByTestId('price-api');
    await form.getByLabel('Model').selectOption('volume');
    await form.getByLabel(/^Tiers/).fill('10000:0.0010:10,50000:0.0008:10,inf:0.0004:10');
    await form.getByRole('button', { name: 'Set price' }).click();
    await expect.poll(() => form.getByTestId('current-price').innerText()).toBe('volume (3 tiers)');
    const rules = await apiCall<PriceRule[]>(agent, 'prices.list', { service: 'api' });
    expect(rules.at(-1)!.spec).toMatchObject({ model: 'volume', tiers: [{ upTo: 10000, unitPrice: '0.0010', flatFee: '10' }, {}, {}] });

    await form.getByLabel('Model').selectOption('percentage');
    await form.screenshot({ path: 'docs/screenshots/settings-price-models.png' });
    await form.getByLabel(/^Percent/).fill('150');
    await form.getByRole('button', { name: 'Set price' }).click();
    await expect
      .poll(() =>
        form
          .locator('.field-error')
          .first()
          .innerText()
          .catch(() => ''),
      )
      .toMatch(/^price: rate/);
    expect(await apiCall<PriceRule[]>(agent, 'prices.list', { service: 'api' })).toEqual(rules);
  });

  it('Settings › Services registers a unique_count service', async () => {
    const form = page.getByRole('form', { name: 'Register a service' });
    await form.getByLabel('Name').fill('mau');
    await form.getByLabel('Unit').fill('users');
    await form.getByLabel('Usage of a period is').selectOption('unique');
    await form.getByLabel('Metadata key counted').fill('user_id');
    await form.getByRole('button', { name: 'Register' }).click();
    await page.getByText('mau · users · unique:user_id').waitFor();
    const services = await apiCall<ServiceDefinition[]>(agent, 'services.list', {});
    expect(services.find((s) => s.name === 'mau')).toMatchObject({ aggregation: 'unique_count', aggregationField: 'user_id' });
  });
});
