// The TypeScript client against a real agent on 127.0.0.1 over a real SQLite file.
import { afterEach, describe, expect, it } from 'vitest';
import { createClient, discoverAgent } from '../../src/client/index';
import { TallyError } from '../../src/core/errors';
import { createTracker } from '../../src/core/tracking';
import { startAgent, type TestAgent } from '../server/agent';

let agent: TestAgent | null = null;
afterEach(async () => {
  await agent?.stop();
  agent = null;
});

function requestsWith(a: TestAgent, status: number): number {
  const m = new RegExp(`^tally_http_requests_total\\{route="/v1/events",status="${status}"\\} (\\d+)$`, 'm').exec(
    a.server.metrics.render(),
  );
  return m ? Number(m[1]) : 0;
}

describe('createClient', () => {
  it('is a RecordSink: the tracker records through the agent and resolves after the commit', async () => {
    agent = await startAgent();
    const client = createClient({ url: agent.server.url, token: agent.server.token });
    const track = createTracker(client);
    const api = await track.api('/users', 'get', 200, { customerId: 'acme' });
    expect(api.inserted).toBe(true);
    expect(api.costNanos).toBe(100_000);
    await track.function('sendEmail', 120, 256);
    await track.compute(3600);
    expect(agent.rows()).toBe(3);
    const row = agent.tdb.sqlite.prepare('SELECT customer_id, metadata FROM usage_records WHERE id = ?').get(api.id) as {
      customer_id: string;
      metadata: string;
    };
    expect(row.customer_id).toBe('acme');
    expect(JSON.parse(row.metadata)).toEqual({ endpoint: '/users', method: 'GET', status: 200 });

    const services = await client.services();
    expect(services.map((s) => s.name)).toContain('functions');
    const report = await client.report({ service: 'compute' });
    expect(report.services.map((l) => l.service)).toEqual(['compute']);
    expect(report.totalEvents).toBe(1);
    await client.close();
  });

  it('sends a quantity past 2^53 (byte-seconds of a large storage) exactly, as a decimal string', async () => {
    agent = await startAgent();
    const client = createClient({ url: agent.server.url, token: agent.server.token });
    const track = createTracker(client);
    // 1 PiB for an hour: 3.96e18 byte-seconds, a bigint in-process; JSON cannot carry a bigint.
    const stored = await track.storage(1_099_511_627_776_000, 1);
    expect(stored.inserted).toBe(true);
    client.add({ service: 'storage', quantity: 2n ** 53n + 1n, metadata: {} });
    await client.close();
    const rows = agent.tdb.sqlite
      .prepare("SELECT CAST(quantity AS TEXT) AS q FROM usage_records WHERE service = 'storage' ORDER BY seq")
      .all();
    expect(rows).toEqual([{ q: '3958241859993600000' }, { q: '9007199254740993' }]);
  });

  it('batches add() in memory and posts at batchSize; flush() posts the rest', async () => {
    agent = await startAgent();
    const client = createClient({ url: agent.server.url, token: agent.server.token, batchSize: 10, flushIntervalMs: 60_000 });
    const ids = Array.from({ length: 25 }, (_, i) => client.add({ service: 'database', quantity: 1, metadata: { type: 'SELECT', n: i } }));
    expect(new Set(ids).size).toBe(25);
    await client.flush();
    expect(client.pending).toBe(0);
    expect(agent.rows()).toBe(25);
    // 25 records in batches of 10: three requests, not 25.
    expect(requestsWith(agent, 201)).toBe(3);
    await client.close();
    expect(() => client.add({ service: 'database', quantity: 1, metadata: { type: 'SELECT' } })).toThrow(/closed/);
  });

  it('never retries a 400: throws the agent’s error naming the field, and stores nothing', async () => {
    agent = await startAgent();
    const client = createClient({ url: agent.server.url, token: agent.server.token, retries: 5 });
    const err = await client
      .recordMany([
        { service: 'api', quantity: 1, metadata: { endpoint: '/', method: 'GET' } },
        { service: 'api', quantity: -2 },
      ])
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TallyError);
    expect(err).toMatchObject({ code: 'invalid_input', field: 'events[1].quantity' });
    const single = await client.record({ service: 'nope', quantity: 1 }).catch((e: unknown) => e);
    expect(single).toMatchObject({ code: 'invalid_input', field: 'service' });
    expect(requestsWith(agent, 400)).toBe(2);
    expect(agent.rows()).toBe(0);
    await client.close();
  });

  it('a refused record in an add() batch is reported; the others are stored', async () => {
    agent = await startAgent();
    const refused: string[] = [];
    const client = createClient({
      url: agent.server.url,
      token: agent.server.token,
      batchSize: 100,
      onError: (e) => refused.push(e.field ?? ''),
    });
    client.add({ service: 'api', quantity: 1, metadata: { endpoint: '/a', method: 'GET' } });
    client.add({ service: 'api', quantity: 1, metadata: { method: 'GET' } });
    client.add({ service: 'api', quantity: 1, metadata: { endpoint: '/c', method: 'GET' } });
    await expect(client.flush()).rejects.toMatchObject({ code: 'invalid_input', field: 'events[1].metadata.endpoint' });
    expect(refused).toEqual(['events[1].metadata.endpoint']);
    expect(agent.rows()).toBe(2);
    await client.flush(); // the failure was reported once
    await client.close();
  });

  it('retries through 429s (full queue) and stores every record exactly once', async () => {
    agent = await startAgent({ writer: { maxQueue: 10, batchSize: 1000, batchTimeoutMs: 300 } });
    // Fill the queue: the writer commits these after its 300 ms batch timeout.
    for (let i = 0; i < 10; i++) agent.writer.add({ service: 'api', quantity: 1, metadata: { endpoint: '/fill', method: 'GET' } });
    const client = createClient({ url: agent.server.url, token: agent.server.token, retries: 8, backoff: { baseMs: 20, maxMs: 200 } });
    const stored = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        client.recordMany([{ service: 'api', quantity: 1, metadata: { endpoint: `/r${i}`, method: 'GET' } }]),
      ),
    );
    expect(requestsWith(agent, 429)).toBeGreaterThanOrEqual(1);
    expect(stored.flat().every((s) => s.inserted)).toBe(true);
    const rows = agent.tdb.sqlite.prepare("SELECT metadata FROM usage_records WHERE metadata LIKE '%/r%'").all() as Array<{
      metadata: string;
    }>;
    expect(rows.map((r) => (JSON.parse(r.metadata) as { endpoint: string }).endpoint).sort()).toEqual([
      '/r0',
      '/r1',
      '/r2',
      '/r3',
      '/r4',
      '/r5',
    ]);
    expect(agent.rows()).toBe(16);
    await client.close();
  });

  it('a retry after a lost answer is not a duplicate: the record id is fixed before the first send', async () => {
    agent = await startAgent();
    let calls = 0;
    // The network loses the first answer after the agent committed the record.
    const lossy: typeof fetch = async (input, init) => {
      const res = await fetch(input, init);
      if (++calls === 1) throw new TypeError('fetch failed', { cause: new Error('socket hang up') });
      return res;
    };
    const client = createClient({ url: agent.server.url, token: agent.server.token, fetch: lossy, backoff: { baseMs: 1, maxMs: 5 } });
    const stored = await client.record({ service: 'api', quantity: 1, metadata: { endpoint: '/once', method: 'POST' } });
    expect(calls).toBe(2);
    expect(stored.inserted).toBe(false); // the second send found the first one's commit
    expect(agent.rows()).toBe(1);
    expect(agent.writer.metrics.duplicates).toBe(1);
    await client.close();
  });

  it('gives up after its retries with an unavailable error when no agent answers', async () => {
    agent = await startAgent();
    const url = agent.server.url;
    const token = agent.server.token;
    await agent.stop();
    agent = null;
    const client = createClient({ url, token, retries: 2, backoff: { baseMs: 1, maxMs: 2 } });
    await expect(client.record({ service: 'api', quantity: 1, metadata: { endpoint: '/', method: 'GET' } })).rejects.toMatchObject({
      code: 'unavailable',
    });
    client.add({ service: 'api', quantity: 1, metadata: { endpoint: '/', method: 'GET' } });
    await expect(client.flush()).rejects.toMatchObject({ code: 'unavailable' });
    expect(client.pending).toBe(1); // kept, not dropped
  });

  it('refuses a request over the agent’s body limit before sending it, naming the limit', async () => {
    agent = await startAgent();
    const client = createClient({ url: agent.server.url, token: agent.server.token, maxBodyBytes: 4096 });
    const many = Array.from({ length: 100 }, () => ({ service: 'api', quantity: 1, metadata: { endpoint: '/x', method: 'GET' } }));
    await expect(client.recordMany(many)).rejects.toThrow(/100 records are .* over the agent's body limit/);
    expect(requestsWith(agent, 201) + requestsWith(agent, 413)).toBe(0);
    expect(agent.rows()).toBe(0);
  });

  it('refuses a wrong token with unauthorized, without retrying', async () => {
    agent = await startAgent();
    const client = createClient({ url: agent.server.url, token: 'x'.repeat(43) });
    await expect(client.record({ service: 'api', quantity: 1, metadata: { endpoint: '/', method: 'GET' } })).rejects.toMatchObject({
      code: 'unauthorized',
    });
  });
});

describe('discoverAgent', () => {
  it('finds the running agent from its data folder, and nothing once it stopped', async () => {
    agent = await startAgent();
    const found = await discoverAgent(agent.dir);
    expect(found).toMatchObject({ url: agent.server.url, token: agent.server.token, pid: process.pid, db: agent.dbFile });
    const dir = agent.dir;
    await agent.stop();
    agent = null;
    expect(await discoverAgent(dir)).toBeNull();
  });
});
