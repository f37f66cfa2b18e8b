// The event log's cursor on a real agent: 10 000 events read page by page (limit=137) while
// another process keeps ingesting, some of its events older than the page being read. Every
// event that existed at the first page appears exactly once; none appears twice.
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { raw, startAgent, type TestAgent } from './agent';

let agent: TestAgent;
const base = Date.now() - 86_400_000;

beforeAll(async () => {
  agent = await startAgent();
  // 10 000 events over 400 instants: ties on recorded_at are the cursor's hard case.
  const events = Array.from({ length: 10_000 }, (_, i) => ({
    service: 'api',
    quantity: 1,
    customerId: `c${i % 7}`,
    recordedAt: new Date(base + (i % 400) * 60_000).toISOString(),
    metadata: { endpoint: `/e${i}`, method: 'GET' },
  }));
  for (let i = 0; i < events.length; i += 2000) await agent.writer.recordMany(events.slice(i, i + 2000));
}, 60_000);
afterAll(() => agent.stop());

/** Another process posting batches of 25 events, half of them in the past of the range being read. */
function startIngester(url: string, token: string, base: number) {
  const script = `
    let n = 0;
    const post = async () => {
      const events = Array.from({ length: 25 }, (_, i) => ({
        service: 'api', quantity: 1, customerId: 'live',
        recordedAt: new Date(${base} + Math.floor(Math.random() * 800) * 30_000).toISOString(),
        metadata: { endpoint: '/live', method: 'POST' },
      }));
      const res = await fetch('${url}/v1/events', { method: 'POST', headers: { authorization: 'Bearer ${token}', 'content-type': 'application/json' }, body: JSON.stringify(events) });
      if (res.status !== 201) throw new Error('status ' + res.status);
      process.stdout.write('posted ' + (++n) + '\\n');
    };
    (async () => { for (let i = 0; i < 4000; i++) await post(); })();
  `;
  return spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
}

it('pages through 10 000 events with limit=137 while another process ingests: each existing event exactly once', async () => {
  const child = startIngester(agent.server.url, agent.server.token, base);
  let posted = 0;
  child.stdout.on('data', (d: Buffer) => (posted = Number(/(\d+)\n$/.exec(d.toString())?.[1] ?? posted)));
  try {
    // Wait until the ingester is running, then take what exists.
    for (let i = 0; i < 200 && posted < 2; i++) await new Promise((r) => setTimeout(r, 25));
    expect(posted).toBeGreaterThanOrEqual(2);
    const existing = new Set((agent.tdb.sqlite.prepare('SELECT id FROM usage_records').all() as Array<{ id: string }>).map((r) => r.id));
    const seen = new Map<string, number>();
    let cursor: string | null = null;
    let pages = 0;
    const postedAtStart = posted;
    do {
      const path: string = `/v1/events?limit=137${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
      const res = await raw(agent.server.url, 'GET', path, { headers: { authorization: `Bearer ${agent.server.token}` } });
      expect(res.status).toBe(200);
      const page = res.json<{ events: Array<{ id: string }>; next_cursor: string | null }>();
      expect(page.events.length).toBeLessThanOrEqual(137);
      for (const e of page.events) seen.set(e.id, (seen.get(e.id) ?? 0) + 1);
      cursor = page.next_cursor;
      pages++;
    } while (cursor !== null && pages < 1000);
    expect(posted).toBeGreaterThan(postedAtStart); // ingestion really ran while we paged
    expect([...seen.values()].filter((n) => n > 1)).toEqual([]);
    const missing = [...existing].filter((id) => !seen.has(id));
    expect(missing).toEqual([]);
    expect(existing.size).toBeGreaterThanOrEqual(10_000);
  } finally {
    child.kill();
  }
}, 120_000);
