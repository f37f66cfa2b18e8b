import { describe, expect, it, vi } from 'vitest';
import type { Alert } from '../../../src/quotas/alerts';
import { setQuota } from '../../../src/quotas/quotas';
import { createAlertWatcher } from '../../../src/agent/alerts/watcher';
import { EventBus, type AgentContext } from '../../../src/handlers/context';
import { createHandlers } from '../../../src/handlers/handlers';
import { defaults } from '../../../src/config/config';
import { fixedClock, testDb, testWriter } from '../../helpers/db';

const req = (n: number, at: number) =>
  Array.from({ length: n }, () => ({
    service: 'api',
    quantity: 1,
    customerId: 'acme',
    recordedAt: at,
    metadata: { endpoint: '/x', method: 'GET' },
  }));

describe('alert watcher', () => {
  it('checks after flushes (throttled) and emits each new alert once', async () => {
    const clock = fixedClock(Date.UTC(2026, 10, 2, 1));
    const tdb = await testDb();
    const writer = await testWriter(tdb, { clock: clock.now });
    const ctx: AgentContext = { config: { ...defaults({}), customerId: 'acme' }, tdb, writer, events: new EventBus(), now: clock.now };
    await setQuota(tdb.db, { customerId: 'acme', service: 'api', period: 'day', limit: 100 }, clock.now());
    const seen: Alert[] = [];
    ctx.events.on('alerts.new', (a) => seen.push(a));
    const watcher = createAlertWatcher(ctx, { intervalMs: 50 });
    await writer.recordMany(req(85, clock.now()));
    await vi.waitFor(() => expect(seen.map((a) => a.message)).toEqual(['WARNING: api usage at 85% - 85/100']), {
      timeout: 10_000,
      interval: 20,
    });
    await writer.recordMany(req(20, clock.now()));
    await vi.waitFor(() => expect(seen.map((a) => a.level)).toEqual(['warning', 'exceeded']), { timeout: 10_000, interval: 20 });
    // The same state again: nothing new.
    await writer.recordMany(req(1, clock.now()));
    await watcher.checkNow();
    expect(seen).toHaveLength(2);

    // The handlers see the same state.
    const h = createHandlers(ctx);
    const current = await h['alerts.current']({});
    expect(current[0]).toMatchObject({ service: 'api', period: 'day', level: 'exceeded', usage: 106, limit: 100 });
    expect((await h['alerts.list']({})).map((a) => a.level)).toEqual(['exceeded', 'warning']);
    const q = await h['quotas.set']({ service: 'bandwidth', limit: 2, period: 'month' });
    expect(q.find((x) => x.service === 'bandwidth')).toMatchObject({
      customerId: 'acme',
      limit: 2,
      limitQuantity: 2 * 2 ** 30,
      unit: 'GB',
    });
    await expect(Promise.resolve().then(() => h['quotas.set']({ service: 'bandwidth', limit: -2, period: 'month' }))).rejects.toThrow(
      /limit/,
    );
    watcher.stop();
    await writer.close();
    await tdb.close();
  });
});
