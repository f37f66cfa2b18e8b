// The local HTTP API on a real server (127.0.0.1, port 0) over a real SQLite file.
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHandlers } from '../../src/handlers/handlers';
import { startHttpServer } from '../../src/server/server';
import { usageReport } from '../../src/analytics/usage';
import { tempDir } from '../helpers/db';
import { apiEvent, postEvents, raw, startAgent, type TestAgent } from './agent';

describe('POST /v1/events', () => {
  let agent: TestAgent;
  beforeAll(async () => {
    agent = await startAgent();
  });
  afterAll(() => agent.stop());

  it('stores one event, a batch, {events: [...]}, snake_case and CloudEvents, answering after the commit', async () => {
    const before = agent.rows();
    const one = await postEvents(agent, apiEvent());
    expect(one.status).toBe(201);
    expect(one.json()).toMatchObject({ accepted: 1, duplicates: 0 });
    // Acknowledged means committed: the row is there the moment the answer arrives.
    expect(agent.rows()).toBe(before + 1);

    const batch = await postEvents(agent, [
      apiEvent(),
      apiEvent({ customer_id: 'acme', user_id: 'u-1', recorded_at: new Date().toISOString() }),
    ]);
    expect(batch.status).toBe(201);
    const ids = batch.json<{ ids: string[] }>().ids;
    expect(ids).toHaveLength(2);
    const snake = agent.tdb.sqlite.prepare('SELECT customer_id, user_id FROM usage_records WHERE id = ?').get(ids[1]) as {
      customer_id: string;
      user_id: string;
    };
    expect(snake).toEqual({ customer_id: 'acme', user_id: 'u-1' });

    const wrapped = await postEvents(agent, { events: [apiEvent()] });
    expect(wrapped.status).toBe(201);

    const ce = {
      specversion: '1.0',
      type: 'functions',
      source: '/billing/worker',
      id: 'evt-1234',
      subject: 'tenant-7',
      time: new Date().toISOString(),
      data: { quantity: 3, metadata: { function: 'sendEmail' } },
    };
    const structured = await postEvents(agent, ce, 'application/cloudevents+json');
    expect(structured.status).toBe(201);
    const row = agent.tdb.sqlite
      .prepare('SELECT customer_id, service, quantity, metadata, source FROM usage_records WHERE id = ?')
      .get(structured.json<{ ids: string[] }>().ids[0]) as Record<string, unknown>;
    expect(row).toMatchObject({ customer_id: 'tenant-7', service: 'functions', quantity: 3, source: 'cloudevents' });
    expect(JSON.parse(row.metadata as string)).toEqual({ function: 'sendEmail', ce_id: 'evt-1234', ce_source: '/billing/worker' });

    const batchCe = await postEvents(
      agent,
      [ce, { ...ce, data: { quantity: 1, metadata: { function: 'resize' } } }],
      'application/cloudevents-batch+json',
    );
    expect(batchCe.status).toBe(201);
    expect(batchCe.json()).toMatchObject({ accepted: 2 });
    expect(agent.rows()).toBe(before + 7);
  });

  it('uses a ULID id as the idempotency key: a retried event is stored once', async () => {
    const id = '01JD0000000000000000000001';
    const first = await postEvents(agent, apiEvent({ id }));
    const again = await postEvents(agent, apiEvent({ id }));
    expect(first.status).toBe(201);
    expect(again.status).toBe(200);
    expect(again.json()).toMatchObject({ accepted: 1, duplicates: 1, ids: [id] });
    expect((agent.tdb.sqlite.prepare('SELECT count(*) AS n FROM usage_records WHERE id = ?').get(id) as { n: number }).n).toBe(1);
  });

  const bigMetadata = { endpoint: '/x', method: 'GET', blob: 'x'.repeat(9000) };
  const invalidBodies: Array<{ name: string; body: string; type?: string; status: number; field: string; says: RegExp }> = [
    { name: 'not JSON', body: 'hello', status: 400, field: 'body', says: /not valid JSON/ },
    { name: 'truncated JSON', body: '{"service": "api", ', status: 400, field: 'body', says: /not valid JSON/ },
    { name: 'a bare number', body: '42', status: 400, field: 'body', says: /event object/ },
    { name: 'an empty array', body: '[]', status: 400, field: 'events', says: /at least one/ },
    {
      name: 'quantity as words',
      body: JSON.stringify(apiEvent({ quantity: 'twelve' })),
      status: 400,
      field: 'quantity',
      says: /must be a number or a decimal string/,
    },
    {
      name: 'an unknown field (a typo of customerId)',
      body: JSON.stringify(apiEvent({ customer: 'acme' })),
      status: 400,
      field: 'customer',
      says: /^customer: unknown field; did you mean customerId\?/,
    },
    { name: 'service as a number', body: JSON.stringify(apiEvent({ service: 42 })), status: 400, field: 'service', says: /required/ },
    { name: 'metadata as an array', body: JSON.stringify(apiEvent({ metadata: [1] })), status: 400, field: 'metadata', says: /object/ },
    {
      name: 'NaN (not JSON)',
      body: '{"service":"api","quantity":NaN,"metadata":{"endpoint":"/","method":"GET"}}',
      status: 400,
      field: 'body',
      says: /NaN or Infinity/,
    },
    { name: 'Infinity (not JSON)', body: '{"service":"api","quantity":Infinity}', status: 400, field: 'body', says: /NaN or Infinity/ },
    {
      name: '"NaN" as a string',
      body: JSON.stringify(apiEvent({ quantity: 'NaN' })),
      status: 400,
      field: 'quantity',
      says: /NaN and Infinity are not quantities/,
    },
    {
      name: '1e999 (parses to Infinity)',
      body: '{"service":"compute","quantity":1e999}',
      status: 400,
      field: 'quantity',
      says: /must be finite/,
    },
    { name: 'a negative quantity', body: JSON.stringify(apiEvent({ quantity: -1 })), status: 400, field: 'quantity', says: /≥ 0/ },
    { name: 'a fractional count', body: JSON.stringify(apiEvent({ quantity: 1.5 })), status: 400, field: 'quantity', says: /whole number/ },
    {
      name: 'an unknown service',
      body: JSON.stringify(apiEvent({ service: 'teleport' })),
      status: 400,
      field: 'service',
      says: /unknown service "teleport"/,
    },
    {
      name: 'a missing required metadata field',
      body: JSON.stringify(apiEvent({ metadata: { method: 'GET' } })),
      status: 400,
      field: 'metadata.endpoint',
      says: /required/,
    },
    {
      name: 'metadata over 8 KiB',
      body: JSON.stringify(apiEvent({ metadata: bigMetadata })),
      status: 400,
      field: 'metadata',
      says: /8192 bytes/,
    },
    {
      name: 'a bad customer_id',
      body: JSON.stringify(apiEvent({ customer_id: 'no spaces' })),
      status: 400,
      field: 'customer_id',
      says: /letters, digits/,
    },
    {
      name: 'conflicting customerId and customer_id',
      body: JSON.stringify(apiEvent({ customerId: 'a', customer_id: 'b' })),
      status: 400,
      field: 'customer_id',
      says: /conflicts/,
    },
    {
      name: 'a time far in the future',
      body: JSON.stringify(apiEvent({ timestamp: '2999-01-01T00:00:00Z' })),
      status: 400,
      field: 'timestamp',
      says: /future/,
    },
    { name: 'an id that is not a ULID', body: JSON.stringify(apiEvent({ id: 'abc' })), status: 400, field: 'id', says: /ULID/ },
    {
      name: 'a batch whose fourth event is bad',
      body: JSON.stringify([apiEvent(), apiEvent(), apiEvent(), apiEvent({ quantity: -5 }), apiEvent()]),
      status: 400,
      field: 'events[3].quantity',
      says: /^events\[3\]\.quantity: must be ≥ 0/,
    },
    {
      name: 'a CloudEvent with a bad data.quantity',
      body: JSON.stringify([{ specversion: '1.0', type: 'compute', id: 'x', source: '/s', data: { quantity: 'Infinity' } }]),
      type: 'application/cloudevents-batch+json',
      status: 400,
      field: 'events[0].data.quantity',
      says: /NaN and Infinity/,
    },
    {
      name: 'a CloudEvent of an unknown type',
      body: JSON.stringify({ specversion: '1.0', type: 'com.example.nope', id: 'x', source: '/s', data: { quantity: 1 } }),
      type: 'application/cloudevents+json',
      status: 400,
      field: 'type',
      says: /unknown service/,
    },
    {
      name: 'text/plain',
      body: JSON.stringify(apiEvent()),
      type: 'text/plain',
      status: 415,
      field: 'content-type',
      says: /application\/json/,
    },
  ];

  for (const c of invalidBodies) {
    it(`refuses ${c.name}: ${c.status} naming ${c.field}, stores nothing, stays up`, async () => {
      const before = agent.rows();
      const res = await postEvents(agent, c.body, c.type);
      expect(res.status).toBe(c.status);
      const body = res.json<{ ok: boolean; error: { code: string; message: string; field?: string } }>();
      expect(body.ok).toBe(false);
      expect(body.error.field).toBe(c.field);
      expect(body.error.message).toMatch(c.says);
      expect(agent.rows()).toBe(before);
      const after = await postEvents(agent, apiEvent());
      expect(after.status).toBe(201);
    });
  }

  it('refuses a 10 MB body with 413 and a JSON error, and keeps serving', async () => {
    const before = agent.rows();
    const huge = JSON.stringify(
      Array.from({ length: 80_000 }, () => apiEvent({ metadata: { endpoint: '/'.padEnd(80, 'x'), method: 'GET' } })),
    );
    expect(huge.length).toBeGreaterThan(10_000_000);
    const res = await postEvents(agent, huge);
    expect(res.status).toBe(413);
    expect(res.json()).toMatchObject({ ok: false, error: { field: 'body' } });
    expect(res.json<{ error: { message: string } }>().error.message).toMatch(/limit of 5242880 bytes/);
    expect(agent.rows()).toBe(before);
    expect((await postEvents(agent, apiEvent())).status).toBe(201);
  });

  it('acknowledges every one of many concurrent requests, and every one is stored', async () => {
    const before = agent.rows();
    const results = await Promise.all(
      Array.from({ length: 60 }, (_, i) => postEvents(agent, i % 3 === 0 ? [apiEvent(), apiEvent()] : apiEvent())),
    );
    expect(results.every((r) => r.status === 201)).toBe(true);
    const ids = results.flatMap((r) => r.json<{ ids: string[] }>().ids);
    expect(new Set(ids).size).toBe(80);
    expect(agent.rows()).toBe(before + 80);
    const stored = agent.tdb.sqlite
      .prepare(`SELECT count(*) AS n FROM usage_records WHERE id IN (${ids.map(() => '?').join(',')})`)
      .get(...ids) as { n: number };
    expect(stored.n).toBe(80);
  });
});

describe('gates: token, Host, Origin', () => {
  let agent: TestAgent;
  beforeAll(async () => {
    agent = await startAgent();
  });
  afterAll(() => agent.stop());

  const event = JSON.stringify(apiEvent());
  const cases: Array<{ name: string; headers: (a: TestAgent) => Record<string, string>; status: number; field: string }> = [
    { name: 'no token', headers: () => ({}), status: 401, field: 'authorization' },
    {
      name: 'a wrong token',
      headers: () => ({ authorization: 'Bearer not-the-token-at-all-xxxxxxxxxxxxxxxxx' }),
      status: 401,
      field: 'authorization',
    },
    {
      name: 'the token one character short',
      headers: (a) => ({ authorization: `Bearer ${a.server.token.slice(0, -1)}` }),
      status: 401,
      field: 'authorization',
    },
    {
      name: 'a foreign Host (DNS rebinding)',
      headers: (a) => ({ authorization: `Bearer ${a.server.token}`, host: `evil.example:${new URL(a.server.url).port}` }),
      status: 403,
      field: 'host',
    },
    {
      name: 'our name on another port',
      headers: (a) => ({ authorization: `Bearer ${a.server.token}`, host: 'localhost:1' }),
      status: 403,
      field: 'host',
    },
    {
      name: 'a cross-site Origin',
      headers: (a) => ({ authorization: `Bearer ${a.server.token}`, origin: 'https://evil.example' }),
      status: 403,
      field: 'origin',
    },
    {
      name: 'Origin null (sandboxed page)',
      headers: (a) => ({ authorization: `Bearer ${a.server.token}`, origin: 'null' }),
      status: 403,
      field: 'origin',
    },
    {
      name: 'Sec-Fetch-Site: cross-site',
      headers: (a) => ({ authorization: `Bearer ${a.server.token}`, 'sec-fetch-site': 'cross-site' }),
      status: 403,
      field: 'sec-fetch-site',
    },
    {
      name: 'Sec-Fetch-Site: same-site (another localhost port)',
      headers: (a) => ({ authorization: `Bearer ${a.server.token}`, 'sec-fetch-site': 'same-site' }),
      status: 403,
      field: 'sec-fetch-site',
    },
  ];
  for (const c of cases) {
    it(`refuses ${c.name} with ${c.status}, storing nothing`, async () => {
      const before = agent.rows();
      const res = await raw(agent.server.url, 'POST', '/v1/events', {
        headers: { 'content-type': 'application/json', ...c.headers(agent) },
        body: event,
      });
      expect(res.status).toBe(c.status);
      expect(res.json()).toMatchObject({ ok: false, error: { field: c.field } });
      expect(agent.rows()).toBe(before);
    });
  }

  it('accepts localhost and its own origin; /healthz needs no token; /metrics does', async () => {
    const port = new URL(agent.server.url).port;
    const ok = await raw(agent.server.url, 'POST', '/v1/events', {
      headers: {
        host: `localhost:${port}`,
        origin: `http://localhost:${port}`,
        authorization: `Bearer ${agent.server.token}`,
        'content-type': 'application/json',
      },
      body: event,
    });
    expect(ok.status).toBe(201);
    const health = await raw(agent.server.url, 'GET', '/healthz');
    expect(health.status).toBe(200);
    expect(health.json()).toMatchObject({ ok: true, db: 'ok', queueDepth: 0 });
    expect((await raw(agent.server.url, 'GET', '/metrics')).status).toBe(401);
    expect((await raw(agent.server.url, 'GET', '/api/call/services.list')).status).toBe(401);
  });

  it('keeps the token in a 0600 file and reuses it; agent.json exists while the agent runs', async () => {
    const tokenFile = path.join(agent.dir, 'agent.token');
    expect(fs.readFileSync(tokenFile, 'utf8').trim()).toBe(agent.server.token);
    expect(fs.statSync(tokenFile).mode & 0o777).toBe(0o600);
    const info = JSON.parse(fs.readFileSync(path.join(agent.dir, 'agent.json'), 'utf8')) as { url: string; pid: number };
    expect(info).toMatchObject({ url: agent.server.url, pid: process.pid });
    expect(fs.statSync(path.join(agent.dir, 'agent.json')).mode & 0o777).toBe(0o600);

    const second = await startHttpServer(agent.ctx, undefined, { log: () => undefined });
    try {
      expect(second.token).toBe(agent.server.token);
    } finally {
      await second.close();
    }
  });

  it('refuses to listen on a non-loopback address unless allowed, naming http.host', async () => {
    const ctx = { ...agent.ctx, config: { ...agent.ctx.config, http: { ...agent.ctx.config.http, host: '0.0.0.0' } } };
    await expect(startHttpServer(ctx, undefined, { log: () => undefined })).rejects.toMatchObject({
      code: 'invalid_input',
      field: 'http.host',
    });
  });
});

describe('dashboard: token link, session cookie, static files', () => {
  let agent: TestAgent;
  beforeAll(async () => {
    const dir = tempDir('tally-http-ui-');
    fs.mkdirSync(path.join(dir, 'ui', 'assets'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'ui', 'index.html'), '<!doctype html><title>Tally</title><script src="/assets/app.js"></script>');
    fs.writeFileSync(path.join(dir, 'ui', 'assets', 'app.js'), 'console.log(1)');
    agent = await startAgent({ dir, server: { staticDir: path.join(dir, 'ui') } });
  });
  afterAll(() => agent.stop());

  it('trades the token for an HttpOnly SameSite=Strict cookie and redirects to / without it', async () => {
    expect(agent.server.dashboardUrl).toBe(`${agent.server.url}/?token=${agent.server.token}`);
    const wrong = await raw(agent.server.url, 'GET', '/?token=nope');
    expect(wrong.status).toBe(401);
    expect(wrong.headers['set-cookie']).toBeUndefined();

    const res = await raw(agent.server.url, 'GET', `/?token=${agent.server.token}`);
    expect(res.status).toBe(302);
    expect(res.headers.location).toBe('/');
    const cookie = res.headers['set-cookie']![0]!;
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Strict/);
    expect(cookie).toMatch(/Path=\//);
    // The cookie holds a separate session secret, never the token itself.
    expect(cookie).not.toContain(agent.server.token);
    const pair = cookie.split(';')[0]!;

    const call = await raw(agent.server.url, 'POST', '/api/call/services.list', {
      headers: { cookie: pair, 'content-type': 'application/json' },
      body: '{}',
    });
    expect(call.status).toBe(200);
    expect(call.json<{ ok: boolean; data: Array<{ name: string }> }>().data.map((s) => s.name)).toContain('api');

    const forged = await raw(agent.server.url, 'POST', '/api/call/services.list', {
      headers: { cookie: `${pair.split('=')[0]}=forged`, 'content-type': 'application/json' },
      body: '{}',
    });
    expect(forged.status).toBe(401);
    const crossSite = await raw(agent.server.url, 'POST', '/api/call/services.list', {
      headers: { cookie: pair, origin: 'http://localhost:3000', 'content-type': 'application/json' },
      body: '{}',
    });
    expect(crossSite.status).toBe(403);
  });

  it('opens the dashboard page from a link elsewhere, but refuses API calls from other sites', async () => {
    const page = await raw(agent.server.url, 'GET', '/', { headers: { 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'navigate' } });
    expect(page.status).toBe(200);
    const api = await raw(agent.server.url, 'GET', '/v1/services', {
      headers: { 'sec-fetch-site': 'same-site', authorization: `Bearer ${agent.server.token}` },
    });
    expect(api.status).toBe(403);
  });

  it('serves the built UI without a token, with a strict CSP', async () => {
    const page = await raw(agent.server.url, 'GET', '/');
    expect(page.status).toBe(200);
    expect(page.text).toContain('<title>Tally</title>');
    expect(page.headers['content-security-policy']).toContain("default-src 'self'");
    expect(page.headers['content-security-policy']).toContain("frame-ancestors 'none'");
    expect(page.headers['x-content-type-options']).toBe('nosniff');
    expect(page.headers['referrer-policy']).toBe('no-referrer');
    const js = await raw(agent.server.url, 'GET', '/assets/app.js');
    expect(js.status).toBe(200);
    expect(js.text).toBe('console.log(1)');
    const deepLink = await raw(agent.server.url, 'GET', '/reports/usage', { headers: { accept: 'text/html' } });
    expect(deepLink.status).toBe(200);
    expect(deepLink.text).toContain('<title>Tally</title>');
    expect((await raw(agent.server.url, 'GET', '/assets/missing.js')).status).toBe(404);
    const traversal = await raw(agent.server.url, 'GET', '/../../etc/passwd');
    expect(traversal.status).toBeGreaterThanOrEqual(400);
    expect(traversal.text).not.toContain('root:');
  });

  it('needs the token however the path is spelled (%-escapes are decoded by the router)', async () => {
    for (const p of [
      '/%61pi/call/services.list',
      '/%761/services',
      '/v1/../v1/services',
      '/%6detrics',
      '/v1/services#x',
      '/api/call/services.list?x=/healthz',
    ]) {
      for (const method of ['GET', 'POST']) {
        const res = await raw(agent.server.url, method, p, {
          headers: { 'content-type': 'application/json' },
          body: method === 'POST' ? '{}' : undefined,
        });
        expect(res.status, `${method} ${p}`).toBeGreaterThanOrEqual(400);
        expect(res.text, `${method} ${p}`).not.toContain('displayName');
        expect(res.text, `${method} ${p}`).not.toContain('tally_events');
      }
    }
  });

  it('answers handled errors of /api/call as HTTP 200 with ok:false', async () => {
    const auth = { authorization: `Bearer ${agent.server.token}`, 'content-type': 'application/json' };
    const unknown = await raw(agent.server.url, 'POST', '/api/call/no.such.call', { headers: auth, body: '{}' });
    expect(unknown.status).toBe(200);
    expect(unknown.json()).toMatchObject({ ok: false, error: { code: 'not_found' } });
    const bad = await raw(agent.server.url, 'POST', '/api/call/records.add', {
      headers: auth,
      body: JSON.stringify({ records: [apiEvent({ quantity: -1 })] }),
    });
    expect(bad.status).toBe(200);
    expect(bad.json()).toMatchObject({ ok: false, error: { code: 'invalid_input', field: 'records[0].quantity' } });
  });

  it('streams records.flushed over server-sent events', async () => {
    const received = new Promise<{ event: string; data: { records: number; services: string[] } }>((resolve, reject) => {
      const u = new URL(agent.server.url);
      const req = http.get(
        { host: u.hostname, port: u.port, path: '/api/events', headers: { authorization: `Bearer ${agent.server.token}` } },
        (res) => {
          expect(res.headers['content-type']).toMatch(/text\/event-stream/);
          let buffer = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            buffer += chunk;
            if (buffer.includes(': connected') && !buffer.includes('posted')) {
              buffer += 'posted';
              void postEvents(agent, [apiEvent(), { service: 'compute', quantity: 2 }]);
            }
            const m = /event: (\S+)\ndata: (.*)\n\n/.exec(buffer);
            if (m) {
              resolve({ event: m[1]!, data: JSON.parse(m[2]!) as { records: number; services: string[] } });
              req.destroy();
            }
          });
        },
      );
      req.on('error', reject);
    });
    const msg = await received;
    expect(msg.event).toBe('records.flushed');
    expect(msg.data).toMatchObject({ records: 2, services: ['api', 'compute'] });
  });
});

describe('event stream heartbeats', () => {
  it('sends a comment line on an idle stream so proxies keep it open', async () => {
    const agent = await startAgent({ server: { heartbeatMs: 20 } });
    try {
      const text = await new Promise<string>((resolve, reject) => {
        const u = new URL(agent.server.url);
        const req = http.get(
          { host: u.hostname, port: u.port, path: '/api/events', headers: { authorization: `Bearer ${agent.server.token}` } },
          (res) => {
            let buffer = '';
            res.setEncoding('utf8');
            res.on('data', (chunk: string) => {
              buffer += chunk;
              if (buffer.includes(': heartbeat\n\n')) {
                req.destroy();
                resolve(buffer);
              }
            });
          },
        );
        req.on('error', reject);
      });
      expect(text.startsWith('retry: 3000\n')).toBe(true);
    } finally {
      await agent.stop();
    }
  });
});

describe('reports, services, metrics, failures', () => {
  let agent: TestAgent;
  beforeAll(async () => {
    agent = await startAgent({ writer: { maxQueue: 20, batchSize: 1000, batchTimeoutMs: 60_000 } });
  });
  afterAll(() => agent.stop());
  const auth = (a: TestAgent) => ({ authorization: `Bearer ${a.server.token}` });

  it('GET /v1/report is the usage report; a bad parameter is named', async () => {
    await postEvents(agent, [apiEvent(), apiEvent(), { service: 'compute', quantity: 7200 }]);
    const res = await raw(agent.server.url, 'GET', '/v1/report?detailed=true', { headers: auth(agent) });
    expect(res.status).toBe(200);
    const now = Date.now();
    const d = new Date(now);
    const expected = await usageReport(agent.tdb.db, {
      from: Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1),
      to: Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1),
      detailed: true,
    });
    // The handler may add to the report (closed months' late marks); the report itself is the same.
    expect(res.json()).toMatchObject(JSON.parse(JSON.stringify(expected)) as object);

    const badService = await raw(agent.server.url, 'GET', '/v1/report?service=nope', { headers: auth(agent) });
    expect(badService.status).toBe(400);
    expect(badService.json()).toMatchObject({ error: { field: 'service' } });
    const badMonth = await raw(agent.server.url, 'GET', '/v1/report?month=2026-13x', { headers: auth(agent) });
    expect(badMonth.status).toBe(400);
    expect(badMonth.json()).toMatchObject({ error: { field: 'month' } });
    const typo = await raw(agent.server.url, 'GET', '/v1/report?custmer=acme', { headers: auth(agent) });
    expect(typo.status).toBe(400);
    expect(typo.json()).toMatchObject({ error: { field: 'custmer' } });
  });

  it('GET/POST /v1/services registers a custom service (validated) and a template', async () => {
    const post = (body: unknown) =>
      raw(agent.server.url, 'POST', '/v1/services', {
        headers: { ...auth(agent), 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const bad = await post({ service: { name: 'Bad Name', baseUnit: 'emails' } });
    expect(bad.status).toBe(400);
    expect(bad.json()).toMatchObject({ error: { field: 'service.name' } });
    expect((await post({ service: { name: 'emails', baseUnit: 7 } })).json()).toMatchObject({ error: { field: 'service.baseUnit' } });
    expect((await post({ service: { name: 'emails', baseUnit: 'emails' }, unitPrice: 'cheap' })).json()).toMatchObject({
      error: { field: 'unitPrice' },
    });
    expect((await post({ template: 'nope' })).json()).toMatchObject({ error: { field: 'template' } });
    expect((await post({ service: { name: 'api', baseUnit: 'requests' } })).json()).toMatchObject({ error: { field: 'service.name' } });

    const ok = await post({
      service: { name: 'emails', baseUnit: 'emails', integerOnly: true, requiredFields: ['to'] },
      unitPrice: '0.001',
    });
    expect(ok.status).toBe(201);
    expect((await post({ template: 'llm' })).status).toBe(201);
    const list = await raw(agent.server.url, 'GET', '/v1/services', { headers: auth(agent) });
    expect(list.json<Array<{ name: string }>>().map((s) => s.name)).toEqual(
      expect.arrayContaining(['api', 'emails', 'llm_input', 'llm_output']),
    );

    const missing = await postEvents(agent, { service: 'emails', quantity: 1 });
    expect(missing.json()).toMatchObject({ error: { field: 'metadata.to' } });
    const stored = await postEvents(agent, { service: 'emails', quantity: 2, metadata: { to: 'a@b.c' } });
    expect(stored.status).toBe(201);
    expect(stored.json<{ records: Array<{ costNanos: number }> }>().records[0]!.costNanos).toBe(2_000_000);
  });

  it('answers 429 with Retry-After when the writer queue is full, and takes events again once it drains', async () => {
    for (let i = 0; i < 20; i++) agent.writer.add(apiEvent());
    const before = agent.rows();
    const res = await postEvents(agent, apiEvent());
    expect(res.status).toBe(429);
    expect(Number(res.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(res.json()).toMatchObject({ ok: false, error: { code: 'queue_full' } });
    const tooBig = await postEvents(
      agent,
      Array.from({ length: 21 }, () => apiEvent()),
    );
    expect(tooBig.status).toBe(413);
    expect(tooBig.json()).toMatchObject({ error: { field: 'events' } });
    await agent.writer.flush();
    expect(agent.rows()).toBe(before + 20);
    expect((await postEvents(agent, apiEvent())).status).toBe(201);
  });

  it('exposes Prometheus metrics, including ones registered by other parts', async () => {
    agent.server.metrics
      .counter('tally_collector_errors_total', 'Collector runs that failed.', ['collector'])
      .inc({ collector: 'bandwidth' });
    const res = await raw(agent.server.url, 'GET', '/metrics', { headers: auth(agent) });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain; version=0.0.4/);
    const ingested = Number(/^tally_events_ingested_total (\d+)$/m.exec(res.text)?.[1]);
    expect(ingested).toBe(agent.rows());
    for (const name of [
      'tally_events_duplicate_total',
      'tally_writer_queue_depth',
      'tally_flushes_total',
      'tally_flush_errors_total',
      'tally_flush_duration_seconds_count',
    ]) {
      expect(res.text).toMatch(new RegExp(`^${name} \\d`, 'm'));
    }
    expect(res.text).toMatch(/^tally_http_requests_total\{route="\/v1\/events",status="201"\} \d+$/m);
    expect(res.text).toMatch(/^tally_http_requests_total\{route="\/v1\/events",status="429"\} 1$/m);
    expect(res.text).toContain('tally_collector_errors_total{collector="bandwidth"} 1');
  });

  it('turns an unexpected failure into 500 {code: internal}, logs it, and stays up', async () => {
    const handlers = createHandlers(agent.ctx);
    const broken = await startHttpServer(
      agent.ctx,
      {
        ...handlers,
        'services.list': () => {
          throw new Error('disk on fire');
        },
      },
      { log: (l) => agent.logs.push(l) },
    );
    try {
      const res = await raw(broken.url, 'GET', '/v1/services', { headers: { authorization: `Bearer ${broken.token}` } });
      expect(res.status).toBe(500);
      expect(res.json()).toMatchObject({ ok: false, error: { code: 'internal' } });
      expect(res.text).not.toContain('disk on fire');
      expect(agent.logs).toContainEqual(expect.objectContaining({ level: 'error', error: 'disk on fire' }));
      expect((await raw(broken.url, 'GET', '/healthz')).status).toBe(200);
    } finally {
      await broken.close();
    }
  });

  it('answers 503 with Retry-After once the writer is closed', async () => {
    await agent.writer.close();
    const res = await postEvents(agent, apiEvent());
    expect(res.status).toBe(503);
    expect(res.headers['retry-after']).toBe('1');
    expect(res.json()).toMatchObject({ ok: false, error: { code: 'unavailable' } });
  });
});
