// Each adapter against a strict fake of its vendor, through the real worker and a real SQLite
// outbox: every record arrives once under its global id, bad records are found and kept aside,
// the vendors' peculiar answers (Lago's duplicate 422, Stripe's windows and sessions) are read
// the way the vendors mean them, and refused credentials stop the target.
import { afterEach, describe, expect, it } from 'vitest';
import type { TallyDb } from '../../src/storage/open';
import { SqliteOutbox } from '../../src/sync/store';
import { SyncEngine } from '../../src/sync/worker';
import { resolveTarget, type ResolvedTarget } from '../../src/core/sync/targets';
import { startLagoFake } from '../fakes/lago';
import { startOpenMeterFake } from '../fakes/openmeter';
import { startStripeFake } from '../fakes/stripe';
import type { FakeServer } from '../fakes/server';
import { fixedClock, testDb, testWriter } from '../helpers/db';

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanup.length) await cleanup.pop()!();
});

async function agent(
  clock: ReturnType<typeof fixedClock>,
  records: Array<Record<string, unknown>>,
): Promise<{ tdb: TallyDb; engine: SyncEngine; ids: string[] }> {
  const tdb = await testDb();
  const writer = await testWriter(tdb, { clock: clock.now });
  const stored = await writer.recordMany(records);
  await writer.close();
  const engine = new SyncEngine({
    outbox: new SqliteOutbox(tdb.sqlite),
    timeoutMs: 2000,
    backoff: { baseMs: 10, maxMs: 50 },
    now: clock.now,
    random: () => 0.5,
  });
  cleanup.push(() => tdb.close());
  return { tdb, engine, ids: stored.map((s) => s.id) };
}

async function fake<T extends FakeServer>(p: Promise<T>): Promise<T> {
  const f = await p;
  cleanup.push(() => f.close());
  return f;
}

const apiRecords = (n: number, at: number) =>
  Array.from({ length: n }, (_, i) => ({
    service: 'api',
    quantity: 1,
    customerId: 'acme',
    recordedAt: at - (n - i) * 1000,
    metadata: { endpoint: '/users', method: 'GET', status: 200 },
  }));

async function until(engine: SyncEngine, target: ResolvedTarget, clock: ReturnType<typeof fixedClock>) {
  for (let i = 0; i < 50; i++) {
    const r = await engine.syncTarget(target);
    if (r.status !== 'waiting') return r;
    clock.set(r.until!);
  }
  throw new Error('never settled');
}

describe('OpenMeter (CloudEvents batch)', () => {
  it('delivers every record once as a valid CloudEvent, and finds a refused one by splitting', async () => {
    const clock = fixedClock();
    const om = await fake(startOpenMeterFake('om_key'));
    const { tdb, engine, ids } = await agent(clock, apiRecords(40, clock.now()));
    om.refuseIds.add(ids[17]!);
    const target = resolveTarget({ name: 'om', kind: 'openmeter', url: om.url, token: 'om_key', batchSize: 16 }, 'settings');
    // A 500 and a hang before the first success: retried, not lost.
    om.fault({ status: 500, body: 'oops' });
    let r = await engine.syncTarget(target);
    expect(r.status).toBe('waiting');
    r = await until(engine, target, clock);
    expect(r.status).toBe('idle');
    expect(om.events.size).toBe(39);
    const ev = om.events.get(`test-host\u0000${ids[0]}`)!;
    expect(ev).toMatchObject({
      specversion: '1.0',
      id: ids[0],
      source: 'test-host',
      type: 'api',
      subject: 'acme',
      datacontenttype: 'application/json',
    });
    expect(ev.data).toMatchObject({ quantity: 1, endpoint: '/users' });
    const rejected = await new SqliteOutbox(tdb.sqlite).rejected('om', 10);
    expect(rejected).toEqual([expect.objectContaining({ id: ids[17], kind: 'rejected', reason: expect.stringContaining('refused') })]);
    // Sending everything again changes nothing at OpenMeter: the ids deduplicate.
    for (const req of om.requests) expect(req.headers['content-type']).toBe('application/cloudevents-batch+json');

    // After the fix, retry-rejected delivers it.
    om.refuseIds.clear();
    const retried = await engine.retryRejected(target);
    expect(retried).toEqual({ delivered: 1, stillRejected: 0 });
    expect(om.events.size).toBe(40);
    expect(await new SqliteOutbox(tdb.sqlite).rejectedCount('om')).toBe(0);
  });

  it('waits as long as a 429 Retry-After asks, then delivers', async () => {
    const clock = fixedClock();
    const om = await fake(startOpenMeterFake('om_key'));
    const { engine } = await agent(clock, apiRecords(3, clock.now()));
    const target = resolveTarget({ name: 'om', kind: 'openmeter', url: om.url, token: 'om_key' }, 'settings');
    om.fault({ status: 429, body: { title: 'Too Many Requests' }, headers: { 'retry-after': '30' } });
    const r = await engine.syncTarget(target);
    expect(r).toMatchObject({ status: 'waiting', error: expect.stringContaining('retry after 30 s') });
    expect(r.until! - clock.now()).toBeGreaterThanOrEqual(30_000);
    clock.advance(29_000);
    expect((await engine.syncTarget(target)).status).toBe('waiting');
    expect(om.requests).toHaveLength(1);
    clock.advance(1_000);
    expect((await engine.syncTarget(target)).status).toBe('idle');
    expect(om.events.size).toBe(3);
  });

  it('stops, rather than rejecting every record, when the URL is wrong', async () => {
    const clock = fixedClock();
    const om = await fake(startOpenMeterFake('om_key'));
    const { tdb, engine } = await agent(clock, apiRecords(30, clock.now()));
    const target = resolveTarget({ name: 'om', kind: 'openmeter', url: `${om.url}/wrong`, token: 'om_key' }, 'settings');
    const r = await engine.syncTarget(target);
    expect(r).toMatchObject({ status: 'stopped', error: expect.stringContaining('HTTP 404') });
    expect(await new SqliteOutbox(tdb.sqlite).rejectedCount('om')).toBe(0);
    expect((await engine.status(target)).pending).toBe(30);
  });

  it('stops the target on a refused key and says so', async () => {
    const clock = fixedClock();
    const om = await fake(startOpenMeterFake('om_key'));
    const { engine } = await agent(clock, apiRecords(3, clock.now()));
    const target = resolveTarget({ name: 'om', kind: 'openmeter', url: om.url, token: 'wrong' }, 'settings');
    const r = await engine.syncTarget(target);
    expect(r.status).toBe('stopped');
    expect(r.error).toMatch(/HTTP 401/);
    const status = await engine.status(target);
    expect(status.stopped).toMatch(/refused the credentials/);
    expect(status.pending).toBe(3);
    expect((await engine.syncTarget(target)).status).toBe('stopped');
    expect(om.requests).toHaveLength(1);
  });
});

describe('Lago (batch events)', () => {
  it('sends at most 100 events a request, splits a refused batch to find the bad event, and reads a duplicate 422 as delivered', async () => {
    const clock = fixedClock();
    const start = clock.now();
    const lago = await fake(startLagoFake('lago_key'));
    const records: Array<Record<string, unknown>> = apiRecords(230, start);
    records[150] = { ...records[150]!, service: 'storage', quantity: 5, metadata: { bytes: 1, hours: 1 } };
    lago.metrics.delete('storage'); // no billable metric for storage: Lago refuses that event
    const { tdb, engine, ids } = await agent(clock, records);
    const target = resolveTarget(
      { name: 'lago', kind: 'lago', url: lago.url, token: 'lago_key', options: { customers: { acme: 'sub_acme_1' } } },
      'settings',
    );
    // The first request hangs past the timeout: retried later, nothing lost.
    lago.fault('hang');
    const worker = new SyncEngine({
      outbox: new SqliteOutbox(tdb.sqlite),
      timeoutMs: 300,
      backoff: { baseMs: 10, maxMs: 50 },
      now: clock.now,
      random: () => 0.5,
    });
    let r = await worker.syncTarget(target);
    expect(r.status).toBe('waiting');
    expect(r.error).toMatch(/no answer/);
    r = await until(engine, target, clock);
    expect(r.status).toBe('idle');
    for (const req of lago.requests) expect((JSON.parse(req.body) as { events: unknown[] }).events.length).toBeLessThanOrEqual(100);
    expect(lago.events.size).toBe(229);
    const e = lago.events.get(ids[0]!)!;
    expect(e).toMatchObject({
      transaction_id: ids[0],
      external_subscription_id: 'sub_acme_1',
      code: 'api',
      properties: { value: 1, endpoint: '/users' },
    });
    expect(Number(e.timestamp) * 1000).toBe(start - 230_000);
    const rejected = await new SqliteOutbox(tdb.sqlite).rejected('lago', 10);
    expect(rejected).toEqual([expect.objectContaining({ id: ids[150], reason: expect.stringContaining('billable_metric_not_found') })]);

    // Resending a delivered record: Lago says 422 value_already_exist, which means delivered.
    tdb.sqlite.prepare("UPDATE sync_state SET acked_seq = 228 WHERE target = 'lago'").run();
    r = await engine.syncTarget(target);
    expect(r.status).toBe('idle');
    expect(await new SqliteOutbox(tdb.sqlite).rejectedCount('lago')).toBe(1);
    expect(lago.events.size).toBe(229);
  });
});

describe('Stripe (v2 meter event stream)', () => {
  it('sends exact 15-digit values under the identifier, renews an expired session, and rejects records past 35 days visibly', async () => {
    const clock = fixedClock();
    const stripe = await fake(startStripeFake({ now: clock.now }));
    const records = [
      { service: 'compute', quantity: 0.1 + 0.2, customerId: 'acme', recordedAt: clock.now() - 60_000 },
      // 16 significant digits (CPU-seconds are kept to the microsecond, at most 9.2e12 a record).
      { service: 'compute', quantity: 1234567890.123456, customerId: 'acme', recordedAt: clock.now() - 50_000 },
      {
        service: 'api',
        quantity: 3,
        customerId: 'acme',
        recordedAt: clock.now() - 40 * 86_400_000,
        metadata: { endpoint: '/x', method: 'GET', status: 200 },
      },
      ...apiRecords(150, clock.now()),
    ];
    const { tdb, engine, ids } = await agent(clock, records);
    const target = resolveTarget(
      {
        name: 'stripe',
        kind: 'stripe',
        url: stripe.url,
        token: 'sk_test_tally',
        options: { api: 'v2', streamUrl: stripe.url, customers: { acme: 'cus_Acme123' } },
      },
      'settings',
    );
    const status = await engine.status(target);
    expect(status.warnings.join(' ')).toMatch(/past Stripe's 35-day window/);
    let r = await engine.syncTarget(target);
    expect(r.status).toBe('idle');
    expect(stripe.events.get(ids[0]!)!.event).toEqual({
      event_name: 'compute',
      identifier: ids[0],
      timestamp: new Date(clock.now() - 60_000).toISOString(),
      payload: { stripe_customer_id: 'cus_Acme123', value: '0.3' },
    });
    expect((stripe.events.get(ids[1]!)!.event.payload as { value: string }).value).toBe('1234567890.12346');
    expect(stripe.events.has(ids[2]!)).toBe(false);
    const rejected = await new SqliteOutbox(tdb.sqlite).rejected('stripe', 10);
    expect(rejected).toEqual([expect.objectContaining({ id: ids[2], kind: 'rejected', reason: expect.stringContaining('35-day') })]);
    expect(stripe.events.size).toBe(152);

    // More records later; the session expired meanwhile: a new one is opened and the send goes through.
    const writer = await testWriter(tdb, { clock: clock.now });
    await writer.recordMany(apiRecords(5, clock.now()));
    await writer.close();
    stripe.expireSessions();
    r = await engine.syncTarget(target);
    expect(r.status).toBe('idle');
    expect(stripe.events.size).toBe(157);
  });

  it("does not re-send blind a batch whose outcome was unknown once Stripe's ~24 h dedup window has passed", async () => {
    const clock = fixedClock();
    const stripe = await fake(startStripeFake({ now: clock.now }));
    const { tdb, engine, ids } = await agent(clock, apiRecords(10, clock.now()));
    const target = resolveTarget(
      { name: 'stripe', kind: 'stripe', url: stripe.url, token: 'sk_test_tally', options: { api: 'v2', streamUrl: stripe.url } },
      'settings',
    );
    // The stream answers 502 after (maybe) taking the batch; then the agent is off for a day.
    stripe.fault(
      {
        status: 200,
        body: {
          id: 'mes_1',
          object: 'v2.billing.meter_event_session',
          authentication_token: 'tok_gone',
          created: new Date(clock.now()).toISOString(),
          expires_at: new Date(clock.now() + 900_000).toISOString(),
          livemode: false,
        },
      },
      { status: 502, body: 'bad gateway' },
    );
    let r = await engine.syncTarget(target);
    expect(r.status).toBe('waiting');
    clock.advance(25 * 3_600_000);
    r = await engine.syncTarget(target);
    expect(r.status).toBe('idle');
    expect(stripe.events.size).toBe(0);
    const review = await new SqliteOutbox(tdb.sqlite).rejected('stripe', 20);
    expect(review.map((x) => x.id)).toEqual(ids);
    expect(review.every((x) => x.kind === 'review' && /dedup window has passed/.test(x.reason))).toBe(true);
    const status = await engine.status(target);
    expect(status.rejected).toBe(10);
    expect(status.pending).toBe(0);
    // Someone checked Stripe: the events are not there. retry-rejected sends them.
    expect(await engine.retryRejected(target)).toEqual({ delivered: 10, stillRejected: 0 });
    expect(stripe.events.size).toBe(10);
  });
});
