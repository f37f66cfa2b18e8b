// The second seed's analytics through the handlers, on a real database with a fixed clock:
// top users, error rates with failing endpoints, latency percentiles; and `breakdown --by user`.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaults } from '../../src/config/config';
import { EventBus, type AgentContext } from '../../src/handlers/context';
import { createHandlers, invoke, type AllHandlers } from '../../src/handlers/handlers';
import type { TallyDb } from '../../src/storage/open';
import type { BatchedWriter } from '../../src/storage/writer';
import { fixedClock, testDb, testWriter } from '../helpers/db';

const clock = fixedClock(Date.UTC(2026, 10, 20, 12));
const day = (d: number, h = 10) => new Date(Date.UTC(2026, 10, d, h)).toISOString();
let tdb: TallyDb;
let writer: BatchedWriter;
let h: AllHandlers;

const api = (customerId: string, userId: string, endpoint: string, status: number, ms: number, at: string) => ({
  service: 'api',
  quantity: 1,
  customerId,
  userId,
  recordedAt: at,
  metadata: { endpoint, method: 'GET', status, duration_ms: ms },
});

beforeAll(async () => {
  tdb = await testDb();
  writer = await testWriter(tdb, { clock: clock.now });
  const ctx: AgentContext = { config: defaults({}), tdb, writer, events: new EventBus(), now: clock.now };
  h = createHandlers(ctx);
  const records = [
    // acme: alice 6 calls, bob 2; globex: carol 3. Durations 1..100 ms for percentiles.
    ...Array.from({ length: 6 }, (_, i) => api('acme', 'alice', '/a', i < 2 ? 500 : 200, 10 * (i + 1), day(3))),
    api('acme', 'bob', '/b', 404, 5, day(4)),
    api('acme', 'bob', '/b', 200, 7, day(4)),
    ...Array.from({ length: 3 }, (_, i) => api('globex', 'carol', '/c', 200, 100, day(5, i))),
    {
      service: 'functions',
      quantity: 1,
      customerId: 'acme',
      userId: 'alice',
      recordedAt: day(3),
      metadata: { function: 'f', duration_ms: 30, error: true },
    },
    {
      service: 'functions',
      quantity: 1,
      customerId: 'acme',
      userId: 'alice',
      recordedAt: day(3),
      metadata: { function: 'f', duration_ms: 20 },
    },
  ];
  await writer.recordMany(records);
});
afterAll(async () => {
  await writer.close();
  await tdb.close();
});

describe('analytics.topUsers', () => {
  it('ranks users by cost across customers, and by usage within one service', async () => {
    const byCost = await invoke(h, 'analytics.topUsers', { month: '2026-11' });
    expect(byCost.users.map((u) => [u.customer, u.user, u.events])).toEqual([
      ['acme', 'alice', 8], // 6 api + 2 functions (0.0002 each)
      ['globex', 'carol', 3],
      ['acme', 'bob', 2],
    ]);
    expect(byCost.users[0]!.cost).toBe('0.0010'); // 6 × 0.0001 + 2 × 0.0002
    const acme = await invoke(h, 'analytics.topUsers', { month: '2026-11', customerId: 'acme', service: 'api', by: 'usage', limit: 1 });
    expect(acme.users).toEqual([{ customer: 'acme', user: 'alice', events: 6, usage: 6, cost: '0.0006' }]);
    await expect(invoke(h, 'analytics.topUsers', { by: 'usage' })).rejects.toMatchObject({ field: 'by' });
  });
});

describe('analytics.errors', () => {
  it('counts api status classes and function failures per day, and names the failing endpoints', async () => {
    const r = await invoke(h, 'analytics.errors', { month: '2026-11', customerId: 'acme' });
    expect(r.buckets.map((b) => [b.start.slice(0, 10), b.service, b.classes, b.errorRate])).toEqual([
      ['2026-11-03', 'api', { '2xx': 4, '5xx': 2 }, 2 / 6],
      ['2026-11-03', 'functions', { failed: 1, ok: 1 }, 0.5],
      ['2026-11-04', 'api', { '2xx': 1, '4xx': 1 }, 0],
    ]);
    expect(r.failingEndpoints).toEqual([
      { endpoint: '/a', method: 'GET', events: 6, errors: 2, errorRate: 2 / 6 },
      { endpoint: '/b', method: 'GET', events: 2, errors: 1, errorRate: 0.5 },
    ]);
  });
});

describe('analytics.latency', () => {
  it('gives count and nearest-rank p50/p95/p99 of duration_ms per endpoint', async () => {
    const r = await invoke(h, 'analytics.latency', { month: '2026-11', service: 'api', by: 'endpoint' });
    expect(r.rows).toEqual([
      { service: 'api', group: '/c', count: 3, p50: 100, p95: 100, p99: 100, max: 100 },
      { service: 'api', group: '/a', count: 6, p50: 30, p95: 60, p99: 60, max: 60 },
      { service: 'api', group: '/b', count: 2, p50: 5, p95: 7, p99: 7, max: 7 },
    ]);
  });
});

describe('analytics.breakdown by user', () => {
  it('groups by the record’s user, not a metadata key (no single "—" row)', async () => {
    const r = await invoke(h, 'analytics.breakdown', { month: '2026-11', service: 'api', keys: ['user'] });
    expect(r.rows.map((row) => [row.values.user, row.events])).toEqual([
      ['alice', 6],
      ['carol', 3],
      ['bob', 2],
    ]);
  });
});
