// Balance alerts travel like quota alerts: the watcher checks after flushes and emits each new
// one once as 'alerts.new' (the desktop notification and the dashboard's toast).
import { describe, expect, it, vi } from 'vitest';
import type { Alert } from '../../../src/quotas/alerts';
import { createAlertWatcher } from '../../../src/agent/alerts/watcher';
import { EventBus, type AgentContext } from '../../../src/handlers/context';
import { defaults } from '../../../src/config/config';
import { grantCredit } from '../../../src/storage/repos/credits';
import { setPriceRule } from '../../../src/storage/repos/services';
import { fixedClock, testDb, testWriter } from '../../helpers/db';

const req = (n: number, at: number) =>
  Array.from({ length: n }, () => ({
    service: 'api',
    quantity: 1,
    customerId: 'acme',
    recordedAt: at,
    metadata: { endpoint: '/x', method: 'GET' },
  }));

describe('balance alerts in the agent', () => {
  it('fire after the flush that crosses each configured threshold, once', async () => {
    const clock = fixedClock(Date.UTC(2026, 10, 20, 12));
    const tdb = await testDb();
    await setPriceRule(tdb.db, { service: 'api', effectiveFrom: 0, spec: { model: 'per_unit', unitPrice: '0.01' } }, 0);
    await grantCredit(tdb.db, { customerId: 'acme', amount: '2', effectiveAt: Date.UTC(2026, 10, 1) }, 0);
    const writer = await testWriter(tdb, { clock: clock.now });
    const config = { ...defaults({}), customerId: 'acme', credits: { balanceAlerts: ['50%', '0'] } };
    const ctx: AgentContext = { config, tdb, writer, events: new EventBus(), now: clock.now };
    const seen: Alert[] = [];
    ctx.events.on('alerts.new', (a) => seen.push(a));
    const watcher = createAlertWatcher(ctx, { intervalMs: 20 });
    await writer.recordMany(req(120, clock.now())); // 1.20 used, 0.80 left: under 50 %
    await vi.waitFor(() => expect(seen.map((a) => a.message)).toEqual(['CREDIT BALANCE: acme has 0.80 of 2.00 left (threshold 50%)']), {
      timeout: 10_000,
      interval: 20,
    });
    await writer.recordMany(req(10, clock.now()));
    await watcher.checkNow();
    expect(seen).toHaveLength(1);
    await writer.recordMany(req(100, clock.now())); // all used
    await vi.waitFor(() => expect(seen.map((a) => a.level)).toEqual(['warning', 'exceeded']), { timeout: 10_000, interval: 20 });
    expect(seen[1]!.message).toBe('CREDIT BALANCE: acme has 0.00 of 2.00 left (threshold 0)');
    watcher.stop();
    await writer.close();
    await tdb.close();
  });
});
