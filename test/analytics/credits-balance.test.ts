// The live credit balance against the statement, on a real SQLite file at a fixed clock. A grant
// covers whole months (core/credits.ts: months that end after it takes effect and start before it
// expires), so the balance on 15 November shows what November's statement draws: a grant from the
// 20th is already drawn, one that expired on the 10th still is, and one from December waits.
import { describe, expect, it } from 'vitest';
import { creditBalance } from '../../src/analytics/credits';
import { billedChargeOf, billingStatement } from '../../src/analytics/closing';
import { grantCredit } from '../../src/storage/repos/credits';
import { setPriceRule } from '../../src/storage/repos/services';
import { fixedClock, testDb, testWriter } from '../helpers/db';

const OCT = Date.UTC(2026, 9, 1);
const NOV = Date.UTC(2026, 10, 1);
const NOW = Date.UTC(2026, 10, 15, 12);

async function november() {
  const tdb = await testDb();
  const clock = fixedClock(NOW);
  // 0.01 a request: 500 requests are 5.00.
  await setPriceRule(tdb.db, { service: 'api', effectiveFrom: 0, spec: { model: 'per_unit', unitPrice: '0.01' } }, 0);
  const writer = await testWriter(tdb, { clock: clock.now, batchTimeoutMs: 60_000 });
  await writer.recordMany(
    Array.from({ length: 500 }, (_, i) => ({
      service: 'api',
      quantity: 1,
      customerId: 'acme',
      recordedAt: NOV + 1000 + i,
      metadata: { endpoint: '/x', method: 'GET' },
    })),
  );
  await writer.close();
  return tdb;
}

describe('credit balance against the statement', () => {
  it('counts what this month’s statement draws: a grant from later this month, and one that expired earlier in it', async () => {
    const tdb = await november();
    const later = await grantCredit(tdb.db, { customerId: 'acme', amount: '5', effectiveAt: Date.UTC(2026, 10, 20) }, NOW);
    const lapsed = await grantCredit(
      tdb.db,
      { customerId: 'acme', amount: '2', priority: 10, effectiveAt: OCT, expiresAt: Date.UTC(2026, 10, 10) },
      NOW,
    );
    const december = await grantCredit(tdb.db, { customerId: 'acme', amount: '3', effectiveAt: Date.UTC(2026, 11, 2) }, NOW);

    const s = await billingStatement(tdb.db, { month: '2026-11', customerId: 'acme' }, { now: NOW, graceDays: 3 });
    expect([s.total, s.creditsApplied, s.amountDue]).toEqual(['5.0000', '5.0000', '0.0000']);
    expect(s.credits[0]!.draws).toEqual([
      { grantId: lapsed.id, amount: '2.0000' },
      { grantId: later.id, amount: '3.0000' },
    ]);

    const b = await creditBalance(tdb.db, 'acme', NOW, billedChargeOf(tdb.db));
    const byId = new Map(b.grants.map((g) => [g.id, [g.used, g.remaining, g.status]]));
    expect(byId.get(later.id)).toEqual(['3.0000', '2.0000', 'active']);
    expect(byId.get(lapsed.id)).toEqual(['2.0000', '0.0000', 'used']);
    expect(byId.get(december.id)).toEqual(['0.0000', '3.0000', 'scheduled']);
    // The summary is the sum of the lines that this month's statement can draw; December's waits apart.
    expect([b.granted, b.used, b.remaining, b.scheduled]).toEqual(['7.0000', '5.0000', '2.0000', '3.0000']);
    await tdb.close();
  });

  it('calls a grant expired once it covers no month from this one on', async () => {
    const tdb = await november();
    const old = await grantCredit(tdb.db, { customerId: 'acme', amount: '1', effectiveAt: OCT, expiresAt: NOV }, NOW);
    const b = await creditBalance(tdb.db, 'acme', NOW, billedChargeOf(tdb.db));
    expect(b.grants.map((g) => [g.id, g.used, g.remaining, g.status])).toEqual([[old.id, '0.0000', '0.0000', 'expired']]);
    expect([b.granted, b.remaining]).toEqual(['0.0000', '0.0000']);
    expect((await billingStatement(tdb.db, { month: '2026-11', customerId: 'acme' }, { now: NOW, graceDays: 3 })).creditsApplied).toBe(
      '0.0000',
    );
    await tdb.close();
  });
});
