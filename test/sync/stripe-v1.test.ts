// Stripe's v1 meter events API (the default for a Stripe target) against a strict local fake:
// one form-encoded event per request under the record's id; a duplicate identifier answered 400
// resource_already_exists counts as delivered; records past the 35-day window are kept aside.
import { afterEach, describe, expect, it } from 'vitest';
import { resolveTarget } from '../../src/core/sync/targets';
import { SqliteOutbox } from '../../src/sync/store';
import { SyncEngine } from '../../src/sync/worker';
import { startStripeFake } from '../fakes/stripe';
import { fixedClock, testDb, testWriter } from '../helpers/db';

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanup.length) await cleanup.pop()!();
});

const api = (at: number, customerId = 'acme') => ({
  service: 'api',
  quantity: 1,
  customerId,
  recordedAt: at,
  metadata: { endpoint: '/users', method: 'GET' },
});

describe('Stripe v1 meter events', () => {
  it('sends each record once, form-encoded under its id; a duplicate is delivered, not billed twice; old records are set aside', async () => {
    const clock = fixedClock();
    const stripe = await startStripeFake({ now: clock.now });
    cleanup.push(() => stripe.close());
    const tdb = await testDb();
    cleanup.push(() => tdb.close());
    const writer = await testWriter(tdb, { clock: clock.now });
    const stored = await writer.recordMany([
      { service: 'compute', quantity: 0.1 + 0.2, customerId: 'acme', recordedAt: clock.now() - 60_000 },
      api(clock.now() - 40 * 86_400_000),
      ...Array.from({ length: 5 }, (_, i) => api(clock.now() - 5000 + i)),
    ]);
    await writer.close();
    const ids = stored.map((s) => s.id);
    const outbox = new SqliteOutbox(tdb.sqlite);
    const engine = new SyncEngine({ outbox, timeoutMs: 2000, backoff: { baseMs: 10, maxMs: 50 }, now: clock.now, random: () => 0.5 });
    const target = resolveTarget(
      { name: 'stripe', kind: 'stripe', url: stripe.url, token: 'sk_test_tally', options: { customers: { acme: 'cus_Acme123' } } },
      'settings',
    );

    expect(await engine.syncTarget(target)).toMatchObject({ status: 'idle' });
    expect(stripe.events.size).toBe(6);
    expect(stripe.billed).toBe(6);
    expect(stripe.events.get(ids[0]!)!.event).toEqual({
      event_name: 'compute',
      identifier: ids[0],
      timestamp: new Date(Math.floor((clock.now() - 60_000) / 1000) * 1000).toISOString(),
      payload: { stripe_customer_id: 'cus_Acme123', value: '0.3' },
    });
    const sent = stripe.requests.filter((r) => r.path === '/v1/billing/meter_events');
    expect(sent).toHaveLength(6);
    expect(sent[0]!.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(await outbox.rejected('stripe', 10)).toEqual([
      expect.objectContaining({ id: ids[1], kind: 'rejected', reason: expect.stringContaining('35-day') }),
    ]);

    // The cursor is lost (a restore from backup): everything is sent again, Stripe answers
    // resource_already_exists for each, and that is a delivery — nothing billed twice.
    await outbox.forget('stripe');
    expect(await engine.syncTarget(target)).toMatchObject({ status: 'idle' });
    expect(stripe.billed).toBe(6);
    expect((await engine.status(target)).pending).toBe(0);
  });

  it('a refused event is kept aside with Stripe’s reason, and the rest still go', async () => {
    const clock = fixedClock();
    const stripe = await startStripeFake({ now: clock.now, meters: ['api'] });
    cleanup.push(() => stripe.close());
    const tdb = await testDb();
    cleanup.push(() => tdb.close());
    const writer = await testWriter(tdb, { clock: clock.now });
    const stored = await writer.recordMany([
      api(clock.now() - 3000),
      { service: 'database', quantity: 1, metadata: { type: 'select' } },
      api(clock.now() - 1000),
    ]);
    await writer.close();
    const outbox = new SqliteOutbox(tdb.sqlite);
    const engine = new SyncEngine({ outbox, timeoutMs: 2000, backoff: { baseMs: 10, maxMs: 50 }, now: clock.now, random: () => 0.5 });
    const target = resolveTarget({ name: 'stripe', kind: 'stripe', url: stripe.url, token: 'sk_test_tally' }, 'settings');
    expect(await engine.syncTarget(target)).toMatchObject({ status: 'idle', delivered: 2, rejected: 1 });
    expect(await outbox.rejected('stripe', 10)).toEqual([
      expect.objectContaining({ id: stored[1]!.id, reason: expect.stringMatching(/no active meter/) }),
    ]);
  });
});
