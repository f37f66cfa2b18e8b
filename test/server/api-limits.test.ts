// Limits at the API's edge, black-box on a real agent (measured on main before these checks):
// a read key's `analytics.trends {"to":"9999-12"}` ran the agent out of memory and `report.zoned`
// froze it for 46 s; dates in years 0000-0099 were read as 1900-1999; a display factor of 1e-320
// was stored and then every priced event for it was a 500; `customer=` exported every customer
// and a 300-character one was a 500; quotas of 1e300 and 5e-324 were stored (Infinity, ∞ %); an
// id over 100 characters got Fastify's own 414 before the gates; `bearer TOKEN` was a 401.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixedClock, tempDir } from '../helpers/db';
import { apiEvent, postEvents, raw, startAgent, type RawResponse, type TestAgent } from './agent';

const NOW = Date.UTC(2026, 10, 15, 12);
const clock = fixedClock(NOW);
let agent: TestAgent;
let readKey: string;

type Reply = { ok: boolean; data?: unknown; error?: { code: string; message: string; field?: string } };

const admin = () => ({ authorization: `Bearer ${agent.server.token}`, 'content-type': 'application/json' });

/** POST /api/call/NAME with a raw JSON body (so 1e400 reaches the agent as written). */
async function call(name: string, body: string | object, headers: Record<string, string> = admin()): Promise<Reply> {
  const res = await raw(agent.server.url, 'POST', `/api/call/${name}`, {
    headers,
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  expect(res.status, res.text).toBeLessThan(500);
  return res.json<Reply>();
}

function get(pathname: string, headers: Record<string, string> = admin()): Promise<RawResponse> {
  return raw(agent.server.url, 'GET', pathname, { headers });
}

/** The complaint of a refused call: invalid_input naming `field`. */
function refused(reply: Reply, field: string): string {
  expect(reply.ok, JSON.stringify(reply)).toBe(false);
  expect(reply.error).toMatchObject({ code: 'invalid_input', field });
  return reply.error!.message;
}

beforeAll(async () => {
  // A built dashboard, so the agent also serves its catch-all route (as a real install does).
  const ui = tempDir('tally-limits-ui-');
  fs.writeFileSync(path.join(ui, 'index.html'), '<!doctype html><title>Tally</title>');
  agent = await startAgent({ writer: { clock: clock.now }, server: { staticDir: ui } });
  Object.assign(agent.ctx, { now: clock.now });
  expect((await postEvents(agent, [apiEvent({ customerId: 'acme', recordedAt: '2026-11-14T10:00:00Z' })])).status).toBe(201);
  const key = await call('keys.create', { customer: 'acme', scope: 'read' });
  readKey = (key.data as { key: string }).key;
});
afterAll(() => agent.stop());

describe('periods are bounded by the documented limits', () => {
  const asReadKey = () => ({ authorization: `Bearer ${readKey}`, 'content-type': 'application/json' });

  it('a read key asking analytics.trends or a daily report.zoned up to 9999-12 is refused naming to, at once', async () => {
    const trends = refused(await call('analytics.trends', { to: '9999-12' }, asReadKey()), 'to');
    expect(trends).toMatch(
      /^to: must be at most 3660 days after from for analytics\.trends \(2026-11-01 to \+010000-01-01 is 2912139 days\)$/,
    );
    const zoned = refused(await call('report.zoned', { granularity: 'daily', to: '9999-12' }, asReadKey()), 'to');
    expect(zoned).toMatch(/at most 3660 days after from for report\.zoned/);
    // The agent still answers: nothing was left running.
    expect((await get('/healthz')).status).toBe(200);
  });

  it('every call that answers a row per bucket refuses a period past its cap, and takes one at the cap', async () => {
    const tenYears = { from: '2020-01-01', to: '2030-01-07' }; // 3659 days, `to` inclusive
    const tooLong = { from: '2020-01-01', to: '2030-01-08' }; // 3661 days
    for (const [name, args] of [
      ['analytics.trends', { service: 'api' }],
      ['analytics.peaks', { service: 'api' }],
      ['report.zoned', { granularity: 'weekly' }],
      ['analytics.aggregate', { granularity: 'monthly' }],
    ] as const) {
      expect((await call(name, { ...args, ...tenYears })).ok, name).toBe(true);
      refused(await call(name, { ...args, ...tooLong }), 'to');
    }
    const trends = (await call('analytics.trends', { service: 'api', ...tenYears })).data as { rows: unknown[] };
    expect(trends.rows).toHaveLength(3660);
    // Hourly rows: a leap year of hours.
    expect((await call('analytics.aggregate', { granularity: 'hourly', from: '2026-01-01', to: '2027-01-01' })).ok).toBe(true);
    const hourly = refused(await call('analytics.aggregate', { granularity: 'hourly', from: '2026-01-01', to: '2027-01-02' }), 'to');
    expect(hourly).toMatch(/at most 366 days after from for hourly analytics\.aggregate/);
    // A `from` alone, with `to` at the end of this month.
    refused(await call('analytics.trends', { from: '1990-01-01' }), 'to');
  });

  it('days past 3660, or not finite, name days and say what is accepted', async () => {
    expect(refused(await call('analytics.trends', '{"days":1e400}'), 'days')).toBe('days: must be a finite number, not Infinity');
    expect(refused(await call('analytics.stats', { service: 'api', days: 3661 }), 'days')).toBe('days: must be ≤ 3660');
    expect(refused(await call('analytics.peaks', { service: 'api', days: 0 }), 'days')).toBe('days: must be > 0');
  });

  it('a year before 1970 is refused naming the field, never read as 19xx', async () => {
    const report = await get('/v1/report?from=0000-01-01');
    expect(report.status).toBe(400);
    expect(report.json()).toMatchObject({ ok: false, error: { field: 'from' } });
    expect(report.json<Reply>().error?.message).toMatch(/^from: "0000-01-01" is not a date; accepted: .*, from 1970 on$/);
    expect((await get('/v1/report?month=0050-01')).status).toBe(400);
    expect(refused(await call('statement.month', { month: '0000-01' }), 'month')).toMatch(/YYYY-MM, from 1970-01 on/);
    refused(await call('report.zoned', { granularity: 'monthly', month: '0000-01' }), 'month');
    refused(await call('report.zoned', { granularity: 'daily', from: '0099-12-31' }), 'from');
    refused(await call('analytics.trends', { from: '1969-12-31', to: '1970-01-05' }), 'from');
    expect((await call('analytics.trends', { from: '1970-01-01', to: '1970-01-05' })).ok).toBe(true);
  });
});

describe('customer query parameters are checked as /v1/events checks them', () => {
  it('export: 300 characters, empty or NUL is a 400 naming customer (no 500, no export of everyone)', async () => {
    for (const value of ['a'.repeat(300), '', '%00', 'two%20words']) {
      const r = await get(`/v1/export?format=csv&customer=${value}`);
      expect(r.status, value).toBe(400);
      expect(r.json(), value).toMatchObject({ ok: false, error: { code: 'invalid_input', field: 'customer' } });
    }
    const acme = await get('/v1/export?format=csv&customer=acme&month=2026-11');
    expect(acme.status).toBe(200);
    expect(acme.headers['x-tally-records']).toBe('1');
  });

  it('report: the same, under customer and customerId', async () => {
    for (const q of ['customer=%00', 'customer=', 'customerId=' + 'x'.repeat(129)]) {
      const r = await get(`/v1/report?${q}`);
      expect(r.status, q).toBe(400);
      expect(r.json<Reply>().error?.field, q).toBe(q.split('=')[0]);
    }
    expect((await get('/v1/report?customer=acme')).status).toBe(200);
    expect(refused(await call('report.usage', { customerId: 'a\u0000b' }), 'customerId')).toMatch(/letters, digits/);
  });
});

describe('custom services: the display factor has a documented range', () => {
  const register = (factor: string) =>
    raw(agent.server.url, 'POST', '/v1/services', {
      headers: admin(),
      body: `{"service":{"name":"svc_${factor.replace(/\W/g, '_')}","baseUnit":"x","displayFactor":${factor}},"unitPrice":"0.01"}`,
    });

  it.each(['1e-320', '1e308', '0', '-1', '1e-16', '1.1e24'])('%s: 400 naming displayFactor, nothing registered', async (factor) => {
    const r = await register(factor);
    expect(r.status).toBe(400);
    expect(r.json<Reply>().error).toMatchObject({
      field: 'service.displayFactor',
      message: expect.stringMatching(/must be a number from 1e-15 to 1e24/) as unknown,
    });
    const services = (await call('services.list', {})).data as Array<{ name: string }>;
    expect(services.some((s) => s.name.startsWith('svc_'))).toBe(false);
  });

  it('the ends of the range are registered and their events priced (a cost too large is a 400, never a 500)', async () => {
    for (const factor of ['1e-15', '1e24']) {
      expect((await register(factor)).status, factor).toBe(201);
      const name = `svc_${factor.replace(/\W/g, '_')}`;
      const r = await postEvents(agent, { service: name, quantity: 1 });
      expect([201, 400], r.text).toContain(r.status);
    }
  });

  it('a package smaller than one stored unit (1e-300 requests) is refused naming the price', async () => {
    const r = await call('prices.set', { service: 'api', spec: { model: 'package', packageSize: 1e-300, packagePrice: '1' } });
    expect(refused(r, 'price')).toBe('price: packageSize must be from 1 (one stored unit) to 1e15 requests');
    expect(
      refused(await call('prices.set', { service: 'api', spec: { model: 'package', packageSize: 0, packagePrice: '1' } }), 'price'),
    ).toMatch(/from 1 \(one stored unit\)/);
    expect((await postEvents(agent, apiEvent({ customerId: 'acme' }))).status).toBe(201);
  });
});

describe('quota limits', () => {
  const set = (limit: string, service = 'compute') => call('quotas.set', `{"service":"${service}","limit":${limit},"period":"month"}`);

  it.each(['1e300', '1.1e15', '0', '-1'])('%s: refused naming limit with the rule, nothing stored', async (limit) => {
    expect(refused(await set(limit), 'limit')).toBe('limit: must be a number > 0 and at most 1e15 (in CPU-hours)');
    expect((await call('quotas.list', {})).data).toEqual([]);
  });

  it('less than one stored unit (5e-324 CPU-hours) is refused with the least limit there is', async () => {
    expect(refused(await set('5e-324'), 'limit')).toMatch(
      /^limit: must be at least 2\.7+8e-10 CPU-hours \(one stored unit: 0\.000001 CPU-seconds\)$/,
    );
    expect(refused(await set('0.5', 'api'), 'limit')).toBe('limit: must be at least 1 requests (one stored unit: 1 requests)');
    expect(refused(await set('1.5', 'api'), 'limit')).toBe('limit: must be a whole number of requests');
  });

  it('the largest limit is kept and checked; a limit stored by an older agent (Infinity) no longer breaks the check', async () => {
    expect((await set('1e15')).ok).toBe(true);
    agent.tdb.sqlite
      .prepare("INSERT INTO quotas (customer_id, service, period, limit_quantity, created_at) VALUES ('acme', 'api', 'day', ?, 0)")
      .run(Infinity);
    const current = await call('alerts.current', {});
    expect(current.ok, JSON.stringify(current)).toBe(true);
    expect(current.data).toEqual([expect.objectContaining({ service: 'compute', limit: 1e15, level: null })]);
    expect((await call('alerts.check', {})).ok).toBe(true);
  });
});

describe('path params: the gates first, then our own answer', () => {
  const long = 'A'.repeat(120);

  it('a 120-character id from a foreign origin without a token is 403 with the security headers', async () => {
    const r = await raw(agent.server.url, 'POST', `/v1/events/${long}/void`, {
      headers: { origin: 'http://evil.example', 'content-type': 'application/json' },
      body: '{"reason":"x"}',
    });
    expect(r.status).toBe(403);
    expect(r.json()).toMatchObject({ ok: false, error: { code: 'forbidden', field: 'origin' } });
    expect(r.headers['content-security-policy']).toMatch(/default-src 'self'/);
    expect(r.headers['x-content-type-options']).toBe('nosniff');
    expect(r.text).not.toContain(long);
    expect((await raw(agent.server.url, 'POST', `/v1/events/${long}/void`, { body: '' })).status).toBe(401);
  });

  it('with the token, a long id is answered by the route naming id, at any length', async () => {
    const voided = await raw(agent.server.url, 'POST', `/v1/events/${long}/void`, { headers: admin(), body: '{"reason":"x"}' });
    expect(voided.status).toBe(404);
    expect(voided.json()).toMatchObject({ ok: false, error: { code: 'not_found', field: 'id' } });
    const huge = await raw(agent.server.url, 'POST', `/v1/events/${'A'.repeat(2000)}/void`, { headers: admin(), body: '{"reason":"x"}' });
    expect(huge.json()).toMatchObject({ ok: false, error: { field: 'id', message: 'id: must have at most 128 characters' } });
    for (const n of [65, 100, 101, 120, 5000]) {
      const r = await get(`/v1/events/${'A'.repeat(n)}`);
      expect(r.status, String(n)).toBe(400);
      expect(r.json(), String(n)).toMatchObject({ ok: false, error: { field: 'id', message: 'id: must have at most 64 characters' } });
    }
  });

  it('a broken %-escape passes the gates first, then is a 400 in our shape', async () => {
    const foreign = await raw(agent.server.url, 'GET', '/v1/events/%E0%A4%A', { headers: { origin: 'http://evil.example' } });
    expect(foreign.status).toBe(403);
    expect(foreign.headers['content-security-policy']).toMatch(/default-src/);
    expect((await raw(agent.server.url, 'GET', '/v1/events/%zz')).status).toBe(401);
    const r = await get('/v1/events/%zz');
    expect(r.status).toBe(400);
    expect(r.json()).toMatchObject({ ok: false, error: { code: 'invalid_input', field: 'path' } });
    expect(r.headers['x-content-type-options']).toBe('nosniff');
  });
});

describe('the Bearer scheme', () => {
  it.each(['bearer', 'BEARER', 'Bearer', 'bEaReR'])('%s TOKEN is the admin (schemes are case-insensitive, RFC 7235)', async (scheme) => {
    const r = await get('/v1/services', { authorization: `${scheme} ${agent.server.token}` });
    expect(r.status).toBe(200);
  });

  it('a read key with a lower-case scheme reads; another scheme or none is still a 401', async () => {
    expect((await get('/v1/report', { authorization: `bearer ${readKey}` })).status).toBe(200);
    expect((await get('/v1/services', { authorization: `Bearerx ${agent.server.token}` })).status).toBe(401);
    expect((await get('/v1/services', { authorization: `Basic ${agent.server.token}` })).status).toBe(401);
    expect((await get('/v1/services', { authorization: agent.server.token })).status).toBe(401);
  });
});
