// Garbage in: mutated event bodies from a fixed seed. Every one gets a 4xx naming a field (or
// a 2xx if the mutation happens to be valid), never a 500, and the agent keeps answering.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiEvent, postEvents, raw, startAgent, type TestAgent } from './agent';

function prng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ODD: unknown[] = [
  null,
  true,
  0,
  -0.5,
  1e308,
  -1,
  '',
  'x',
  '1',
  'NaN',
  '__proto__',
  [],
  {},
  [1, 2],
  { a: { b: { c: [] } } },
  'é'.repeat(300),
  2 ** 53 + 2,
];
const KEYS = [
  'service',
  'quantity',
  'metadata',
  'customerId',
  'customer_id',
  'userId',
  'user_id',
  'recordedAt',
  'recorded_at',
  'timestamp',
  'id',
  'source',
  'specversion',
  'type',
  'data',
  'subject',
  'time',
  'events',
  '__proto__',
  'constructor',
];

describe('fuzzed bodies', () => {
  let agent: TestAgent;
  beforeAll(async () => {
    agent = await startAgent();
  });
  afterAll(() => agent.stop());

  it('never answer 500 and never take the agent down', async () => {
    const rnd = prng(20261122);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
    const statuses = new Map<number, number>();
    for (let i = 0; i < 300; i++) {
      const event: Record<string, unknown> =
        rnd() < 0.5
          ? apiEvent()
          : { specversion: '1.0', type: 'api', id: 'x', source: '/s', data: { quantity: 1, metadata: { endpoint: '/', method: 'GET' } } };
      for (let m = 0; m < 1 + Math.floor(rnd() * 3); m++) {
        const target = rnd() < 0.3 && typeof event.data === 'object' ? (event.data as Record<string, unknown>) : event;
        target[pick(KEYS)] = pick(ODD);
      }
      const body: unknown = rnd() < 0.3 ? [apiEvent(), event] : event;
      let text = JSON.stringify(body);
      if (rnd() < 0.1) text = text.slice(0, Math.floor(rnd() * text.length));
      if (rnd() < 0.05) text = '\u0000\uffff' + text;
      const type = pick([
        'application/json',
        'application/json; charset=utf-8',
        'application/cloudevents+json',
        'application/cloudevents-batch+json',
      ]);
      const res = await postEvents(agent, text, type);
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      expect(res.status, `${type} ${text.slice(0, 300)} → ${res.text}`).toBeLessThan(500);
      if (res.status >= 400) expect(res.json<{ error: { message: string } }>().error.message.length).toBeGreaterThan(0);
    }
    expect(statuses.get(400)).toBeGreaterThan(100);
    expect((await raw(agent.server.url, 'GET', '/healthz')).status).toBe(200);
    expect(agent.logs.filter((l) => (l as { level?: string }).level === 'error')).toEqual([]);
  });
});
