// Corrections reach each sync target once, after the record: Stripe (v1 and v2, strict fake)
// cancels through meter event adjustments inside its 24-hour window; past it, or on a vendor
// that cannot retract (OpenMeter), the correction waits in the manual list until marked done.
import { afterEach, describe, expect, it } from 'vitest';
import { resolveTarget } from '../../src/core/sync/targets';
import { voidRecord, amendRecord, listSyncCorrections, markSyncCorrectionDone } from '../../src/storage/corrections';
import { correctionsHook } from '../../src/sync/corrections';
import { SqliteOutbox } from '../../src/sync/store';
import { SyncEngine } from '../../src/sync/worker';
import { startOpenMeterFake } from '../fakes/openmeter';
import { startStripeFake } from '../fakes/stripe';
import { fixedClock, testDb, testWriter } from '../helpers/db';

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanup.length) await cleanup.pop()!();
});

const api = (at: number) => ({
  service: 'api',
  quantity: 1,
  customerId: 'acme',
  recordedAt: at,
  metadata: { endpoint: '/u', method: 'GET' },
});

async function setup(n: number) {
  const clock = fixedClock();
  const tdb = await testDb();
  const writer = await testWriter(tdb, { clock: clock.now });
  cleanup.push(async () => {
    await writer.close();
    await tdb.close();
  });
  const ids = (await writer.recordMany(Array.from({ length: n }, (_, i) => api(clock.now() - 10_000 + i)))).map((s) => s.id);
  const engine = new SyncEngine({
    outbox: new SqliteOutbox(tdb.sqlite),
    timeoutMs: 2000,
    backoff: { baseMs: 10, maxMs: 50 },
    now: clock.now,
    random: () => 0.5,
    corrections: correctionsHook(tdb.sqlite, 2000, clock.now),
  });
  return { clock, tdb, writer, ids, engine };
}

const adjustments = (f: { requests: Array<{ path: string }> }) =>
  f.requests.filter((r) => r.path.endsWith('/meter_event_adjustments')).length;

describe('corrections to sync targets', () => {
  for (const apiVersion of ['v1', 'v2'] as const) {
    it(`Stripe ${apiVersion}: a void inside 24 h cancels the event once, through a failed attempt, and never again`, async () => {
      const { clock, writer, ids, engine } = await setup(3);
      const stripe = await startStripeFake({ now: clock.now });
      cleanup.push(() => stripe.close());
      const options = apiVersion === 'v2' ? { api: 'v2' as const, streamUrl: stripe.url } : {};
      const target = resolveTarget({ name: 'stripe', kind: 'stripe', url: stripe.url, token: 'sk_test_tally', options }, 'settings');
      expect(await engine.syncTarget(target)).toMatchObject({ status: 'idle', delivered: 3 });

      clock.advance(3_600_000);
      await voidRecord(writer, { id: ids[1]!, reason: 'test traffic', actor: 'admin' });
      stripe.fault({ status: 503, body: { error: { type: 'api_error', message: 'try later' } } });
      await engine.syncTarget(target); // the adjustment meets a 503: not settled
      expect(stripe.cancelled.size).toBe(0);
      await engine.syncTarget(target);
      expect([...stripe.cancelled]).toEqual([ids[1]]);
      await engine.syncTarget(target);
      await engine.syncTarget(target);
      expect(adjustments(stripe)).toBe(2); // the 503, then the one that went through
      const settled = await listSyncCorrections(writer['tdb'].db, { all: true, limit: 10 });
      expect(settled).toEqual([expect.objectContaining({ target: 'stripe', state: 'delivered', recordId: ids[1] })]);
    });
  }

  it("Stripe: a void after Stripe's 24 hours is listed for a manual adjustment with the record, amount and reason, until marked done", async () => {
    const { clock, tdb, writer, ids, engine } = await setup(2);
    const stripe = await startStripeFake({ now: clock.now });
    cleanup.push(() => stripe.close());
    const target = resolveTarget({ name: 'stripe', kind: 'stripe', url: stripe.url, token: 'sk_test_tally' }, 'settings');
    await engine.syncTarget(target);
    clock.advance(25 * 3_600_000);
    await amendRecord(writer, { id: ids[0]!, reason: 'counted twice', actor: 'cli:ops', quantity: 0 });
    expect(await engine.syncTarget(target)).toMatchObject({ status: 'idle', delivered: 1 }); // the replacement record
    expect(stripe.cancelled.size).toBe(0);
    const manual = await listSyncCorrections(tdb.db, { limit: 10 });
    expect(manual).toEqual([
      expect.objectContaining({
        target: 'stripe',
        state: 'manual',
        kind: 'amend',
        recordId: ids[0],
        reason: 'counted twice',
        costNanos: 100_000,
      }),
    ]);
    expect(manual[0]!.note).toMatch(/within 24 hours/);
    await engine.syncTarget(target);
    expect(adjustments(stripe)).toBe(1);
    await markSyncCorrectionDone(tdb.db, 'stripe', manual[0]!.seq, clock.now());
    expect(await listSyncCorrections(tdb.db, { limit: 10 })).toEqual([]);
    await expect(markSyncCorrectionDone(tdb.db, 'stripe', manual[0]!.seq, clock.now())).rejects.toMatchObject({ code: 'not_found' });
  });

  it('OpenMeter cannot retract: the correction is manual at once, nothing is sent for it', async () => {
    const { tdb, writer, ids, engine } = await setup(2);
    const om = await startOpenMeterFake();
    cleanup.push(() => om.close());
    const target = resolveTarget({ name: 'om', kind: 'openmeter', url: om.url, token: 'om_test_key' }, 'settings');
    await engine.syncTarget(target);
    const requests = om.requests.length;
    await voidRecord(writer, { id: ids[0]!, reason: 'test', actor: 'admin' });
    await engine.syncTarget(target);
    expect(om.requests.length).toBe(requests);
    expect(await listSyncCorrections(tdb.db, { limit: 10 })).toEqual([
      expect.objectContaining({ target: 'om', state: 'manual', note: expect.stringMatching(/OpenMeter cannot retract/) }),
    ]);
  });

  it('a correction waits until the target holds the record', async () => {
    const { clock, tdb, writer, ids, engine } = await setup(1);
    const stripe = await startStripeFake({ now: clock.now });
    cleanup.push(() => stripe.close());
    await voidRecord(writer, { id: ids[0]!, reason: 'test', actor: 'admin' });
    const target = resolveTarget({ name: 'stripe', kind: 'stripe', url: stripe.url, token: 'sk_test_tally' }, 'settings');
    stripe.fault({ status: 503, body: {} });
    await engine.syncTarget(target); // the record fails: the correction must not go first
    expect(adjustments(stripe)).toBe(0);
    clock.advance(60_000);
    await engine.syncTarget(target, { ignoreBackoff: true });
    expect([...stripe.cancelled]).toEqual([ids[0]]);
    expect(await listSyncCorrections(tdb.db, { all: true, limit: 10 })).toHaveLength(1);
  });
});
