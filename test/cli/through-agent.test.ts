// While an agent holds the database, the CLI's changes go through it: `services add`,
// `price set`, `quota set` and `sync` reach the agent's handlers (its log shows each one) and
// never open the database for writing themselves (the agent's writer lock would refuse them).
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acquireWriterLock, type WriterLock } from '../../src/storage/lock';
import { listPriceRules, listServices } from '../../src/storage/repos/services';
import { listQuotas } from '../../src/quotas/quotas';
import { tallyAsync as tally } from '../helpers/cli';
import { startAgent, type TestAgent } from '../server/agent';

describe('changes from the CLI while an agent runs', () => {
  let agent: TestAgent;
  let lock: WriterLock;
  let env: Record<string, string>;

  beforeAll(async () => {
    agent = await startAgent();
    lock = acquireWriterLock(agent.dbFile, 'tally agent (test)');
    env = { TALLY_DB: agent.dbFile };
  });

  afterAll(async () => {
    lock?.release();
    await agent?.stop();
  });

  const changes = () =>
    agent.logs.filter((l) => (l as { msg?: string }).msg === 'change through the API').map((l) => (l as { call: string }).call);

  it('services add, price set and quota set are made by the agent', async () => {
    const add = await tally(['services', 'add', 'transcode', '--unit', 'minutes', '--fractional', '--required', 'codec'], env);
    expect(add.code, add.stderr).toBe(0);
    const price = await tally(['price', 'set', 'transcode', '0.02'], env);
    expect(price.code, price.stderr).toBe(0);
    const quota = await tally(['quota', 'set', 'transcode', '500', '--period', 'month'], env);
    expect(quota.code, quota.stderr).toBe(0);

    expect(changes()).toEqual(['services.add', 'prices.set', 'quotas.set']);
    expect((await listServices(agent.tdb.db)).find((s) => s.name === 'transcode')).toMatchObject({
      displayUnit: 'minutes',
      integerOnly: false,
    });
    expect((await listPriceRules(agent.tdb.db, 'transcode')).at(-1)?.spec).toEqual({ model: 'per_unit', unitPrice: '0.02' });
    expect(await listQuotas(agent.tdb.db, { service: 'transcode' })).toHaveLength(1);
    // The agent's writer knows the new service at once: a record for it is priced.
    const rec = await tally(['record', 'transcode', '2', '{"codec":"av1"}', '--json'], env);
    expect(rec.code, rec.stderr).toBe(0);
    expect(JSON.parse(rec.stdout)).toMatchObject({ costNanos: 40_000_000 });
  });

  it('a mistake is answered by the agent with the field named, and nothing changes', async () => {
    const bad = await tally(['quota', 'set', 'transcode', '-3'], env);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/limit/);
    const unknown = await tally(['price', 'set', 'nope', '0.5'], env);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/service: unknown service "nope"/);
  });

  it('sync target add and sync run in the agent', async () => {
    const add = await tally(
      ['sync', 'target', 'add', 'central', '--kind', 'tally', '--url', 'http://127.0.0.1:9/v1/ingest', '--token', 'secret-token'],
      env,
    );
    expect(add.code, add.stderr).toBe(0);
    const run = await tally(['sync', '--once', '--timeout', '1'], env);
    // Nothing listens on port 9: the records stay pending and the command says so.
    expect(run.code, run.stdout + run.stderr).toBe(1);
    expect(changes()).toContain('sync.targets.set');
    expect(changes()).toContain('sync.now');
    expect(fs.existsSync(path.join(path.dirname(agent.dbFile), 'tally.db.lock'))).toBe(true);
  });
});
