import { describe, expect, it } from 'vitest';
import { checkAlerts, formatAlertLine, listAlerts, DEFAULT_THRESHOLDS } from '../../src/quotas/alerts';
import { applyPlan, listQuotas, removeQuota, setQuota } from '../../src/quotas/quotas';
import { fixedClock, testDb, testWriter } from '../helpers/db';

const api = (n: number, at: number) =>
  Array.from({ length: n }, () => ({
    service: 'api',
    quantity: 1,
    customerId: 'acme',
    recordedAt: at,
    metadata: { endpoint: '/users', method: 'GET' },
  }));

async function setup() {
  const clock = fixedClock(Date.UTC(2026, 10, 10, 12));
  const tdb = await testDb();
  const writer = await testWriter(tdb, { clock: clock.now });
  await setQuota(tdb.db, { customerId: 'acme', service: 'api', period: 'month', limit: 1000 }, clock.now());
  return { clock, tdb, writer };
}

describe('quota alerts', () => {
  it('logs exactly one warning, one critical and one exceeded per period when crossed step by step', async () => {
    const { clock, tdb, writer } = await setup();
    const seen: string[] = [];
    // 100 requests at a time, checking after each step, up to 130 %.
    for (let step = 0; step < 13; step++) {
      await writer.recordMany(api(100, clock.now()));
      clock.advance(60_000);
      const r = await checkAlerts(tdb.db, { now: clock.now(), thresholds: DEFAULT_THRESHOLDS, forecast: false });
      seen.push(...r.alerts.map((a) => a.message));
      // Checking again at once logs nothing new.
      expect((await checkAlerts(tdb.db, { now: clock.now(), thresholds: DEFAULT_THRESHOLDS, forecast: false })).alerts).toEqual([]);
    }
    expect(seen).toEqual([
      'WARNING: api usage at 80% - 800/1000',
      'CRITICAL: api usage at 90% - 900/1000',
      'QUOTA EXCEEDED: api - 1000/1000 (100%)',
    ]);
    const history = await listAlerts(tdb.db, { since: 0 });
    expect(history.map((a) => a.level)).toEqual(['exceeded', 'critical', 'warning']);
    // The seed's alert log line, literally.
    expect(formatAlertLine(history[2]!)).toBe('[2026-11-10 12:08:00] warning ALERT for api: 800/1000 (80%)');
    expect(formatAlertLine(history[0]!)).toMatch(/^\[2026-11-10 12:\d\d:00\] exceeded ALERT for api: 1000\/1000 \(100%\)$/);

    // A new month starts clean: the same crossing logs again, once.
    clock.set(Date.UTC(2026, 11, 1, 0, 5));
    await writer.recordMany(api(760, clock.now()));
    const dec = await checkAlerts(tdb.db, { now: clock.now(), thresholds: DEFAULT_THRESHOLDS, forecast: false });
    expect(dec.alerts.map((a) => [a.level, a.periodStart])).toEqual([['warning', '2026-12-01T00:00:00.000Z']]);
    expect(dec.exceeded).toBe(false);
    await writer.close();
    await tdb.close();
  });

  it('a jump past several thresholds logs only the highest, and lower levels are not logged afterwards', async () => {
    const { clock, tdb, writer } = await setup();
    await writer.recordMany(api(500, clock.now()));
    expect((await checkAlerts(tdb.db, { now: clock.now(), thresholds: DEFAULT_THRESHOLDS, forecast: false })).alerts).toEqual([]);
    await writer.recordMany(api(700, clock.now()));
    const r = await checkAlerts(tdb.db, { now: clock.now(), thresholds: DEFAULT_THRESHOLDS, forecast: false });
    expect(r.alerts.map((a) => a.level)).toEqual(['exceeded']);
    expect(r.exceeded).toBe(true);
    expect(r.status[0]!.message).toBe('QUOTA EXCEEDED: api - 1200/1000 (120%)');
    expect((await checkAlerts(tdb.db, { now: clock.now(), thresholds: DEFAULT_THRESHOLDS })).alerts).toEqual([]);
    await writer.close();
    await tdb.close();
  });

  it('uses the configured thresholds and checks only touched pairs when told', async () => {
    const { clock, tdb, writer } = await setup();
    await writer.recordMany(api(500, clock.now()));
    const thresholds = { warning: 50, critical: 60, exceeded: 70 };
    expect(
      (await checkAlerts(tdb.db, { now: clock.now(), thresholds, touched: [{ customerId: 'acme', service: 'bandwidth' }] })).alerts,
    ).toEqual([]);
    const r = await checkAlerts(tdb.db, {
      now: clock.now(),
      thresholds,
      touched: [{ customerId: 'acme', service: 'api' }],
      forecast: false,
    });
    expect(r.alerts.map((a) => a.message)).toEqual(['WARNING: api usage at 50% - 500/1000']);
    await expect(checkAlerts(tdb.db, { now: clock.now(), thresholds: { warning: 90, critical: 80, exceeded: 100 } })).rejects.toThrow(
      /thresholds/,
    );
    await writer.close();
    await tdb.close();
  });

  it('raises a forecast when the run rate crosses the quota before the period ends', async () => {
    const { clock, tdb, writer } = await setup();
    // 10 Nov noon: a third of the month gone, 400 of 1000 used → about 1200 by the end.
    await writer.recordMany(api(400, clock.now()));
    const r = await checkAlerts(tdb.db, { now: clock.now(), thresholds: DEFAULT_THRESHOLDS });
    expect(r.alerts.map((a) => a.level)).toEqual(['forecast']);
    expect(r.alerts[0]!.message).toMatch(/^FORECAST: api usage projected at 12\d% - 1\d{3}\/1000$/);
    expect((await checkAlerts(tdb.db, { now: clock.now(), thresholds: DEFAULT_THRESHOLDS })).alerts).toEqual([]);
    await writer.close();
    await tdb.close();
  });

  it('quotas take display units and plans replace monthly limits', async () => {
    const tdb = await testDb();
    const now = Date.UTC(2026, 10, 1);
    const q = await setQuota(tdb.db, { customerId: 'acme', service: 'bandwidth', period: 'day', limit: 10 }, now);
    expect(q.limitQuantity).toBe(10 * 2 ** 30);
    await expect(setQuota(tdb.db, { customerId: 'acme', service: 'nope', period: 'day', limit: 1 }, now)).rejects.toThrow(/service/);
    await expect(setQuota(tdb.db, { customerId: 'acme', service: 'api', period: 'week' as never, limit: 1 }, now)).rejects.toThrow(
      /period/,
    );
    await expect(setQuota(tdb.db, { customerId: 'acme', service: 'api', period: 'day', limit: -1 }, now)).rejects.toThrow(/limit/);
    const pro = await applyPlan(tdb.db, 'pro', 'acme', now);
    expect(pro.find((x) => x.service === 'api' && x.period === 'month')!.limit).toBe(1_000_000);
    expect(pro.find((x) => x.service === 'bandwidth' && x.period === 'month')!.limit).toBe(1000);
    expect(pro.find((x) => x.period === 'day')!.service).toBe('bandwidth'); // day quotas stay
    const free = await applyPlan(tdb.db, 'free', 'acme', now);
    expect(free.find((x) => x.service === 'api' && x.period === 'month')!.limit).toBe(10_000);
    const ent = await applyPlan(tdb.db, 'enterprise', 'acme', now);
    expect(ent.map((x) => x.period)).toEqual(['day']);
    await expect(applyPlan(tdb.db, 'gold', 'acme', now)).rejects.toThrow(/plan/);
    expect(await removeQuota(tdb.db, { customerId: 'acme', service: 'bandwidth' })).toBe(1);
    expect(await listQuotas(tdb.db)).toEqual([]);
    await tdb.close();
  });
});
