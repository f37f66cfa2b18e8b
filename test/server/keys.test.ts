// The key matrix on a real agent: scoped keys reach only their scope's routes and their own
// customer; revoked keys answer 401; a key over its rate gets 429 with Retry-After; the admin
// token still does everything.
import http from 'node:http';
import BetterSqlite3 from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiEvent, raw, startAgent, type RawResponse, type TestAgent } from './agent';

let agent: TestAgent;

async function call(name: string, args: Record<string, unknown>): Promise<Record<string, unknown>> {
  const res = await raw(agent.server.url, 'POST', `/api/call/${name}`, {
    headers: { authorization: `Bearer ${agent.server.token}`, 'content-type': 'application/json' },
    body: JSON.stringify(args),
  });
  const body = res.json<{ ok: boolean; data: Record<string, unknown>; error?: unknown }>();
  expect(body.ok, JSON.stringify(body.error)).toBe(true);
  return body.data;
}

async function createKey(customer: string, scope: 'ingest' | 'read', rate?: number): Promise<{ id: string; key: string }> {
  return (await call('keys.create', { customer, scope, ...(rate ? { rate } : {}) })) as { id: string; key: string };
}

function post(key: string, body: unknown, header: 'bearer' | 'x-api-key' = 'bearer'): Promise<RawResponse> {
  const auth: Record<string, string> = header === 'bearer' ? { authorization: `Bearer ${key}` } : { 'x-api-key': key };
  return raw(agent.server.url, 'POST', '/v1/events', {
    headers: { ...auth, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
}

function get(key: string, path: string): Promise<RawResponse> {
  return raw(agent.server.url, 'GET', path, { headers: { 'x-api-key': key } });
}

const countFor = (customer: string) =>
  (agent.tdb.sqlite.prepare('SELECT count(*) AS n FROM usage_records WHERE customer_id = ?').get(customer) as { n: number }).n;

let ingestA: { id: string; key: string };
let readA: { id: string; key: string };

beforeAll(async () => {
  agent = await startAgent();
  ingestA = await createKey('acme', 'ingest');
  readA = await createKey('acme', 'read');
  expect((await post(agent.server.token, [apiEvent({ customerId: 'globex' }), apiEvent({ customerId: 'acme' })])).status).toBe(201);
});
afterAll(() => agent.stop());

describe('ingest key', () => {
  it('records under its own customer when the event names none, by Bearer and by X-API-Key', async () => {
    const before = countFor('acme');
    expect((await post(ingestA.key, apiEvent())).status).toBe(201);
    expect((await post(ingestA.key, apiEvent(), 'x-api-key')).status).toBe(201);
    expect(countFor('acme')).toBe(before + 2);
  });

  it('posting for another customer is 403 and stores nothing of the request', async () => {
    const rows = agent.rows();
    const res = await post(ingestA.key, [apiEvent(), apiEvent({ customer_id: 'globex' })]);
    expect(res.status).toBe(403);
    expect(res.json<{ error: { field: string } }>().error.field).toBe('events[1].customer_id');
    const single = await post(ingestA.key, { ...apiEvent(), tenant_id: undefined, customerId: 'globex' });
    expect(single.status).toBe(403);
    expect(agent.rows()).toBe(rows);
  });

  it('may not read: report and events are 403', async () => {
    expect((await get(ingestA.key, '/v1/report')).status).toBe(403);
    expect((await get(ingestA.key, '/v1/events')).status).toBe(403);
    expect((await get(ingestA.key, '/api/events')).status).toBe(403);
  });
});

describe('read key', () => {
  it('reads its own customer: the report and the event log show acme only', async () => {
    const report = await get(readA.key, '/v1/report');
    expect(report.status).toBe(200);
    expect(report.json<{ customerId: string }>().customerId).toBe('acme');
    const events = await get(readA.key, '/v1/events?limit=1000');
    expect(events.status).toBe(200);
    const page = events.json<{ events: Array<{ customer: string }>; total_count: number }>();
    expect(page.total_count).toBe(countFor('acme'));
    expect(new Set(page.events.map((e) => e.customer))).toEqual(new Set(['acme']));
  });

  it("asking for another customer's report or events is 403", async () => {
    expect((await get(readA.key, '/v1/report?customer=globex')).status).toBe(403);
    expect((await get(readA.key, '/v1/events?customer=globex')).status).toBe(403);
    expect((await get(readA.key, '/v1/events?tenant_id=globex')).status).toBe(403);
  });

  it("another customer's event by id is not found", async () => {
    const admin = await raw(agent.server.url, 'GET', '/v1/events?customer=globex', {
      headers: { authorization: `Bearer ${agent.server.token}` },
    });
    const id = admin.json<{ events: Array<{ id: string }> }>().events[0]!.id;
    expect((await get(readA.key, `/v1/events/${id}`)).status).toBe(404);
    expect(
      (await raw(agent.server.url, 'GET', `/v1/events/${id}`, { headers: { authorization: `Bearer ${agent.server.token}` } })).status,
    ).toBe(200);
  });

  it('writing is 403; through the typed contract only its own reads; metrics are 403', async () => {
    const rows = agent.rows();
    expect((await post(readA.key, apiEvent())).status).toBe(403);
    const callAs = (name: string, args: unknown) =>
      raw(agent.server.url, 'POST', `/api/call/${name}`, {
        headers: { 'x-api-key': readA.key, 'content-type': 'application/json' },
        body: JSON.stringify(args),
      });
    expect((await callAs('services.add', { template: 'llm' })).status).toBe(403);
    expect((await callAs('customers.list', {})).status).toBe(403);
    expect((await callAs('report.usage', { customerId: 'globex' })).status).toBe(403);
    const own = await callAs('report.usage', {});
    expect(own.json<{ data: { customerId: string } }>().data.customerId).toBe('acme');
    expect((await get(readA.key, '/metrics')).status).toBe(403);
    expect(agent.rows()).toBe(rows);
  });

  it('its link opens a dashboard session for its customer only; a wrong or ingest key gets none', async () => {
    const opened = await raw(agent.server.url, 'GET', `/?key=${encodeURIComponent(readA.key)}`);
    expect(opened.status).toBe(302);
    const cookie = String(opened.headers['set-cookie']).split(';')[0]!;
    const session = await raw(agent.server.url, 'GET', '/api/session', { headers: { cookie } });
    expect(session.json()).toEqual({ scope: 'read', customer: 'acme' });
    const report = await raw(agent.server.url, 'POST', '/api/call/report.usage', {
      headers: { cookie, 'content-type': 'application/json' },
      body: JSON.stringify({ customerId: 'globex' }),
    });
    expect(report.status).toBe(403);
    expect((await raw(agent.server.url, 'GET', `/?key=${encodeURIComponent(ingestA.key)}`)).status).toBe(401);
    expect((await raw(agent.server.url, 'GET', '/?key=tk_wrong')).status).toBe(401);
  });
});

describe('read key event stream', () => {
  it("says that something was stored, without other customers' counts or services", async () => {
    const u = new URL(agent.server.url);
    const received = await new Promise<string>((resolve, reject) => {
      const req = http.get(
        { host: u.hostname, port: u.port, path: '/api/events', headers: { host: u.host, 'x-api-key': readA.key } },
        (res) => {
          let text = '';
          res.on('data', (c: Buffer) => {
            text += c.toString();
            const m = /event: records\.flushed\ndata: (.*)\n/.exec(text);
            if (m) {
              req.destroy();
              resolve(m[1]!);
            }
          });
          // Once the stream is open, another customer's event is stored.
          void post(agent.server.token, apiEvent({ customerId: 'globex' }));
        },
      );
      req.on('error', reject);
      setTimeout(() => reject(new Error('no records.flushed event within 10 s')), 10_000).unref();
    });
    expect(Object.keys(JSON.parse(received) as object)).toEqual(['at']);
  });
});

describe('revoked and unknown keys', () => {
  it('a revoked key answers 401; keys.list never shows a key', async () => {
    const k = await createKey('acme', 'ingest');
    expect((await post(k.key, apiEvent())).status).toBe(201);
    await call('keys.revoke', { id: k.id });
    const res = await post(k.key, apiEvent());
    expect(res.status).toBe(401);
    expect(res.text).toContain('revoked');
    const list = (await call('keys.list', {})) as unknown as Array<Record<string, unknown>>;
    expect(list.find((x) => x.id === k.id)?.revokedAt).toBeTruthy();
    expect(JSON.stringify(list)).not.toContain(k.key);
    expect(JSON.stringify(list)).not.toContain(k.key.slice(3, 20));
  });

  it("a key revoked behind the agent's back (another connection to the file) is refused once the agent's one-second lookup cache lapses", async () => {
    const k = await createKey('acme', 'ingest');
    expect((await post(k.key, apiEvent())).status).toBe(201); // now in the agent's lookup cache
    const other = new BetterSqlite3(agent.dbFile);
    try {
      other.prepare('UPDATE api_keys SET revoked_at = ? WHERE id = ?').run(Date.now(), k.id);
    } finally {
      other.close();
    }
    const started = performance.now();
    let status = 0;
    while (status !== 401 && performance.now() - started < 10_000) {
      status = (await post(k.key, apiEvent())).status;
      if (status !== 401) await new Promise((r) => setTimeout(r, 100));
    }
    expect(status).toBe(401);
  });

  it('an unknown key answers 401', async () => {
    expect((await post('tk_not-a-key-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx', apiEvent(), 'x-api-key')).status).toBe(401);
    expect((await post('tk_not-a-key-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx', apiEvent())).status).toBe(401);
  });

  it('the key is stored hashed: the database does not contain it', () => {
    const dump = JSON.stringify(agent.tdb.sqlite.prepare('SELECT * FROM api_keys').all());
    expect(dump).not.toContain(ingestA.key);
    expect(dump).not.toContain(ingestA.key.slice(3));
  });
});

describe('rate limit', () => {
  it('over its rate a key gets 429 with Retry-After, and nothing of that request is stored', async () => {
    const k = await createKey('initech', 'ingest', 3);
    for (let i = 0; i < 3; i++) expect((await post(k.key, apiEvent())).status).toBe(201);
    const res = await post(k.key, apiEvent());
    expect(res.status).toBe(429);
    expect(Number(res.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(countFor('initech')).toBe(3);
  });
});

describe('admin token', () => {
  it('still does everything: writes for any customer, reads any customer, calls the contract', async () => {
    const admin = { authorization: `Bearer ${agent.server.token}` };
    expect((await post(agent.server.token, apiEvent({ customerId: 'umbrella' }))).status).toBe(201);
    expect((await raw(agent.server.url, 'GET', '/v1/report?customer=globex', { headers: admin })).status).toBe(200);
    expect((await raw(agent.server.url, 'GET', '/v1/events?customer=acme', { headers: admin })).status).toBe(200);
    const customers = (await call('customers.list', {})) as unknown as Array<{ id: string }>;
    expect(customers.map((c) => c.id)).toEqual(expect.arrayContaining(['acme', 'globex', 'initech', 'umbrella']));
  });
});
