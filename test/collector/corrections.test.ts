// A void and an amend made on an agent reach the collector (real PostgreSQL) once, with the same
// ids: the record is kept and marked, the later records take the agent's re-priced costs, and
// the collector's rollups equal the sums of its live records.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrateCollector, openCollectorDb, type CollectorDb } from '../../src/collector/db';
import { ensureCollectorServices } from '../../src/collector/report';
import { startCollector, type RunningCollector } from '../../src/collector/server';
import { issueToken } from '../../src/collector/tokens';
import { resolveTarget } from '../../src/core/sync/targets';
import { amendRecord, voidRecord } from '../../src/storage/corrections';
import { setPriceRule } from '../../src/storage/repos/services';
import { correctionsHook } from '../../src/sync/corrections';
import { SqliteOutbox } from '../../src/sync/store';
import { SyncEngine } from '../../src/sync/worker';
import { fixedClock, testDb, testWriter } from '../helpers/db';
import { startPostgres, type TestPostgres } from '../helpers/postgres';

let pgServer: TestPostgres;
let cdb: CollectorDb;
let collector: RunningCollector;
const clock = fixedClock(Date.UTC(2026, 10, 10, 12));

beforeAll(async () => {
  pgServer = await startPostgres();
  cdb = openCollectorDb(await pgServer.createDatabase('collector_corrections'));
  await migrateCollector(cdb.pool);
  await ensureCollectorServices(cdb.db, clock.now());
  collector = await startCollector({ db: cdb.db, rate: { perSecond: 1000, burst: 1000 }, now: clock.now });
});

afterAll(async () => {
  await collector?.close();
  await cdb?.close();
  await pgServer?.stop();
});

async function q<T>(text: string, params: unknown[] = []): Promise<T[]> {
  return (await cdb.pool.query(text, params)).rows as T[];
}

describe('corrections at the collector', () => {
  it('applies a void and an amend once, with re-priced costs, rollups equal to the live records', async () => {
    const tdb = await testDb();
    await setPriceRule(
      tdb.db,
      {
        service: 'api',
        effectiveFrom: 0,
        spec: {
          model: 'tiered',
          tiers: [
            { upTo: 10, unitPrice: '1' },
            { upTo: null, unitPrice: '0.5' },
          ],
        },
      },
      0,
    );
    const writer = await testWriter(tdb, { clock: clock.now });
    const stored = await writer.recordMany(
      [4, 4, 4, 4].map((quantity, i) => ({
        service: 'api',
        quantity,
        customerId: 'acme',
        recordedAt: clock.now() - 60_000 + i,
        metadata: { endpoint: '/x', method: 'GET' },
      })),
    );
    const ids = stored.map((s) => s.id);
    const { token } = await issueToken(cdb.db, 'test-host', clock.now());
    const engine = new SyncEngine({
      outbox: new SqliteOutbox(tdb.sqlite),
      timeoutMs: 5000,
      backoff: { baseMs: 10, maxMs: 50 },
      now: clock.now,
      random: () => 0.5,
      corrections: correctionsHook(tdb.sqlite, 5000, clock.now),
    });
    const target = resolveTarget({ name: 'central', kind: 'tally', url: collector.url, token }, 'settings');
    expect(await engine.syncTarget(target)).toMatchObject({ status: 'idle', delivered: 4 });

    await voidRecord(writer, { id: ids[0]!, reason: 'test traffic', actor: 'admin' });
    await amendRecord(writer, { id: ids[2]!, reason: 'undercounted', actor: 'cli:ops', quantity: 6 });
    expect(await engine.syncTarget(target)).toMatchObject({ status: 'idle', delivered: 1 }); // the replacement
    await engine.syncTarget(target); // nothing more goes out, nothing is applied twice

    const agentCosts = tdb.sqlite
      .prepare('SELECT id, cost_nanos AS c FROM usage_records WHERE voided_at IS NULL ORDER BY seq')
      .all() as Array<{ id: string; c: number }>;
    const central = await q<{ id: string; c: string }>(
      'SELECT id, cost_nanos AS c FROM usage_records WHERE voided_at IS NULL ORDER BY seq',
    );
    expect(central.map((r) => [r.id, Number(r.c)])).toEqual(agentCosts.map((r) => [r.id, r.c]));
    const voided = await q<{ id: string; voided_by: string; void_reason: string }>(
      'SELECT id, voided_by, void_reason FROM usage_records WHERE voided_at IS NOT NULL ORDER BY seq',
    );
    expect(voided).toEqual([
      { id: ids[0], voided_by: 'admin', void_reason: 'test traffic' },
      { id: ids[2], voided_by: 'cli:ops', void_reason: 'undercounted' },
    ]);
    for (const period of ['hour', 'day', 'week', 'month']) {
      const [roll] = await q<{ n: string; qty: string; c: string }>(
        'SELECT sum(event_count)::text AS n, sum(sum_quantity)::text AS qty, sum(sum_cost_nanos)::text AS c FROM rollups WHERE period = $1',
        [period],
      );
      const [raw] = await q<{ n: string; qty: string; c: string }>(
        'SELECT count(*)::text AS n, sum(quantity)::text AS qty, sum(cost_nanos)::text AS c FROM usage_records WHERE voided_at IS NULL',
      );
      expect({ period, n: roll!.n, qty: Number(roll!.qty), c: roll!.c }).toEqual({ period, n: raw!.n, qty: Number(raw!.qty), c: raw!.c });
    }
    expect(Number((await q<{ c: string }>('SELECT sum(cost_nanos)::text AS c FROM usage_records WHERE voided_at IS NULL'))[0]!.c)).toBe(
      agentCosts.reduce((s, r) => s + r.c, 0),
    );
    const settled = tdb.sqlite
      .prepare("SELECT count(*) FROM sync_corrections WHERE target = 'central' AND state = 'delivered'")
      .pluck()
      .get();
    expect(settled).toBe(2);
    await writer.close();
    await tdb.close();
  });
});
