// Pure parts of sync: Stripe's 15-digit values, backoff, Retry-After, target validation.
import { describe, expect, it } from 'vitest';
import { backoffDelay, parseRetryAfter } from '../../src/core/sync/backoff';
import { stripeValue } from '../../src/core/sync/stripe';
import { checkEndpointUrl, resolveTarget, targetView, windowWarnings } from '../../src/core/sync/targets';
import { loadConfig } from '../../src/config/config';
import { significantDigits } from '../fakes/stripe';

describe('Stripe meter values', () => {
  it('rounds to 15 significant digits in decimal, never in binary', () => {
    expect(stripeValue(0.1 + 0.2)).toBe('0.3');
    expect(stripeValue(9007199254740991)).toBe('9007199254740990');
    expect(stripeValue(123456789012345.67)).toBe('123456789012346');
    expect(stripeValue(999999999999999.9)).toBe('1000000000000000');
    expect(stripeValue(1e21)).toBe('1000000000000000000000');
    expect(stripeValue(1.5e-7)).toBe('0.00000015');
    expect(stripeValue(0)).toBe('0');
    expect(stripeValue(42)).toBe('42');
    expect(stripeValue(2.5)).toBe('2.5');
    for (const q of [Math.PI * 1e9, 1 / 3, 7.123456789012345e12, 5e-324, 1.2345678901234567e300]) {
      const v = stripeValue(q);
      expect(v).toMatch(/^\d+(\.\d+)?$/);
      expect(significantDigits(v)).toBeLessThanOrEqual(15);
      expect(Math.abs(Number(v) - q) / q).toBeLessThan(1e-14);
    }
  });

  it('refuses negative and non-finite quantities', () => {
    expect(() => stripeValue(-1)).toThrow();
    expect(() => stripeValue(Number.NaN)).toThrow();
  });
});

describe('backoff', () => {
  it('draws a full-jitter delay under an exponentially growing cap, and never sooner than Retry-After', () => {
    const policy = { baseMs: 100, maxMs: 1000 };
    expect(backoffDelay(0, policy, () => 0.999)).toBe(99);
    expect(backoffDelay(3, policy, () => 0.999)).toBe(799);
    expect(backoffDelay(10, policy, () => 0.999)).toBe(999);
    expect(backoffDelay(10, policy, () => 0)).toBe(0);
    expect(backoffDelay(0, policy, () => 0.5, 5000)).toBe(5000);
  });

  it('reads Retry-After as seconds or as an HTTP date', () => {
    const now = Date.UTC(2026, 10, 15, 12);
    expect(parseRetryAfter('7', now)).toBe(7000);
    expect(parseRetryAfter(new Date(now + 30_000).toUTCString(), now)).toBe(30_000);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
  });
});

describe('targets', () => {
  it('requires https except for loopback, and names the field', () => {
    expect(checkEndpointUrl('url', 'http://127.0.0.1:9000/')).toBe('http://127.0.0.1:9000');
    expect(checkEndpointUrl('url', 'http://localhost:9000')).toBe('http://localhost:9000');
    expect(checkEndpointUrl('url', 'https://billing.example.com')).toBe('https://billing.example.com');
    expect(() => checkEndpointUrl('url', 'http://billing.example.com')).toThrow(/^url: must use https:\/\//);
    expect(() => checkEndpointUrl('url', 'https://user:pw@billing.example.com')).toThrow(/credentials/);
    expect(() => resolveTarget({ name: 'x', kind: 'lago', url: 'https://lago.example.com' }, 'settings')).toThrow(
      /^target\.token: is required/,
    );
    expect(() =>
      resolveTarget({ name: 'x', kind: 'stripe', url: 'https://api.stripe.com', token: 'sk', batchSize: 500 }, 'settings'),
    ).toThrow(/batchSize: stripe takes at most 100/);
  });

  it('never shows the token in a view', () => {
    const t = resolveTarget({ name: 'om', kind: 'openmeter', url: 'https://openmeter.cloud', token: 'om_secret_123' }, 'settings');
    const view = targetView(t);
    expect(JSON.stringify(view)).not.toContain('om_secret_123');
    expect(view.tokenSet).toBe(true);
  });

  it('refuses a config file target over plain http to another host, naming the field', () => {
    const env = { TALLY_CONFIG: '/nonexistent-tally-config.json', TALLY_DB: ':memory:' };
    expect(() =>
      loadConfig({ env, overrides: { sync: { targets: [{ name: 'c', kind: 'tally', url: 'http://10.0.0.5:7879' }] } } as never }),
    ).toThrow(/sync\.targets\.0\.url: must use https/);
  });

  it("warns when the oldest unsent record nears Stripe's 35-day window", () => {
    const now = Date.UTC(2026, 10, 30);
    expect(windowWarnings('stripe', now - 30 * 86_400_000, null, now)[0]).toMatch(/falls out of Stripe's 35-day window in 5\.0 days/);
    expect(windowWarnings('stripe', now - 36 * 86_400_000, null, now)[0]).toMatch(/past Stripe's 35-day window/);
    expect(windowWarnings('stripe', now - 86_400_000, null, now)).toEqual([]);
    expect(windowWarnings('tally', now - 300 * 86_400_000, null, now)).toEqual([]);
  });
});
