// The running agent answers percentiles and breakdowns from its analytics worker thread (its
// own read-only connection), with the same figures the inline computation gives on the file.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { breakdown } from '../../src/analytics/aggregate';
import { usageStats } from '../../src/analytics/stats';
import { openDatabase, type TallyDb } from '../../src/storage/open';
import { startAgent, type Agent } from '../e2e/harness';

async function call<T>(agent: Agent, name: string, args: unknown): Promise<T> {
  const res = await fetch(`${agent.url}/api/call/${name}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${agent.token}`, 'content-type': 'application/json' },
    body: JSON.stringify(args),
  });
  const reply = (await res.json()) as { ok: boolean; data: T; error?: unknown };
  if (!reply.ok) throw new Error(JSON.stringify(reply.error));
  return reply.data;
}

describe('heavy reads in the agent', () => {
  let agent: Agent;
  let file: TallyDb;

  beforeAll(async () => {
    agent = await startAgent({ days: 20, name: 'heavy-reads' });
    file = openDatabase(agent.db, { readonly: true });
  }, 120_000);

  afterAll(async () => {
    await file?.close();
    await agent?.stop();
  });

  it('stats (p95/p99) over the whole range equal the inline computation', async () => {
    const range = { from: Date.UTC(2000, 0, 1), to: Date.UTC(2100, 0, 2) }; // a date 'to' is inclusive
    const fromAgent = await call(agent, 'analytics.stats', { service: 'api', from: '2000-01-01', to: '2100-01-01' });
    const inline = await usageStats(file.db, { service: 'api', ...range });
    expect(JSON.parse(JSON.stringify(fromAgent))).toEqual(JSON.parse(JSON.stringify(inline)));
    expect(inline.totalEvents).toBeGreaterThan(1000);
  });

  it('a breakdown equals the inline computation, and a bad argument is named through the worker', async () => {
    const fromAgent = await call(agent, 'analytics.breakdown', { service: 'api', from: '2000-01-01', to: '2100-01-01' });
    const inline = await breakdown(file.db, { service: 'api', from: Date.UTC(2000, 0, 1), to: Date.UTC(2100, 0, 2) });
    expect(JSON.parse(JSON.stringify(fromAgent))).toEqual(JSON.parse(JSON.stringify(inline)));
    await expect(call(agent, 'analytics.breakdown', { service: 'api', keys: ['no such key!'] })).rejects.toThrow(/keys/);
  });
});
