// Prepaid credits on a real SQLite file: drawdown order, statements' amount due, the live
// balance and balance alerts once per threshold.
import { describe, expect, it } from 'vitest';
import { drawDown, type CreditGrant } from '../../src/core/credits';
import { creditBalance } from '../../src/analytics/credits';
import { billedChargeOf, billingStatement } from '../../src/analytics/closing';
import { checkBalanceAlerts } from '../../src/quotas/balance';
import { grantCredit, listBalanceAlerts, voidGrant } from '../../src/storage/repos/credits';
import { setPriceRule } from '../../src/storage/repos/services';
import { fixedClock, testDb, testWriter } from '../helpers/db';

const OCT = Date.UTC(2026, 9, 1);
const NOV = Date.UTC(2026, 10, 1);
const DEC = Date.UTC(2026, 11, 1);

const grant = (id: number, amount: bigint, priority: number, expiresAt: number | null, effectiveAt = 0): CreditGrant => ({
  id,
  customerId: 'acme',
  amountNanos: amount,
  priority,
  effectiveAt,
  expiresAt,
  note: null,
  createdAt: 0,
  voidedAt: null,
  voidReason: null,
});

describe('drawdown order', () => {
  it('takes the lowest priority number first, then the earliest expiry, then the oldest grant', () => {
    const grants = [grant(1, 10n, 50, null), grant(2, 10n, 50, DEC), grant(3, 10n, 10, null), grant(4, 10n, 50, DEC)];
    const { months, remaining } = drawDown(grants, [{ monthStart: NOV, monthEnd: DEC, chargeNanos: 25n }]);
    expect(months[0]!.draws).toEqual([
      { grantId: 3, amountNanos: 10n },
      { grantId: 2, amountNanos: 10n },
      { grantId: 4, amountNanos: 5n },
    ]);
    expect(months[0]!.dueNanos).toBe(0n);
    expect([...remaining]).toEqual([
      [3, 0n],
      [2, 0n],
      [4, 5n],
      [1, 10n],
    ]);
  });
  it('an expired grant covers no later month; a void one covers nothing', () => {
    const grants = [grant(1, 100n, 0, NOV), { ...grant(2, 100n, 0, null), voidedAt: 1 }, grant(3, 7n, 90, null)];
    const { months } = drawDown(grants, [
      { monthStart: OCT, monthEnd: NOV, chargeNanos: 30n },
      { monthStart: NOV, monthEnd: DEC, chargeNanos: 30n },
    ]);
    expect(months.map((m) => [m.appliedNanos, m.dueNanos])).toEqual([
      [30n, 0n],
      [7n, 23n],
    ]);
  });
});

async function setup() {
  const tdb = await testDb();
  const clock = fixedClock(Date.UTC(2026, 10, 20));
  // api at 0.01 a request makes whole-cent sums easy to check by hand.
  await setPriceRule(tdb.db, { service: 'api', effectiveFrom: 0, spec: { model: 'per_unit', unitPrice: '0.01' } }, 0);
  const writer = await testWriter(tdb, { clock: clock.now, batchTimeoutMs: 60_000 });
  const api = (customerId: string, n: number, at: number) =>
    writer.recordMany(
      Array.from({ length: n }, (_, i) => ({
        service: 'api',
        quantity: 1,
        customerId,
        recordedAt: at + i,
        metadata: { endpoint: '/x', method: 'GET' },
      })),
    );
  return { tdb, writer, clock, api };
}

describe('credits on statements', () => {
  it('amount due is usage minus credits to the last digit, drawn across months in order', async () => {
    const { tdb, writer, api } = await setup();
    await api('acme', 1234, OCT + 1000); // 12.34 in October
    await api('acme', 4321, NOV + 1000); // 43.21 in November
    await api('beta', 100, NOV + 1000); // 1.00, no credits
    await grantCredit(tdb.db, { customerId: 'acme', amount: '20', priority: 50, effectiveAt: OCT, expiresAt: null, note: 'welcome' }, OCT);
    await grantCredit(tdb.db, { customerId: 'acme', amount: '5.005', priority: 10, effectiveAt: OCT, expiresAt: DEC }, OCT);
    const oct = await billingStatement(tdb.db, { month: '2026-10', customerId: 'acme' }, { now: Date.UTC(2026, 10, 20), graceDays: 3 });
    expect(oct.total).toBe('12.3400');
    expect(oct.credits[0]!.draws).toEqual([
      { grantId: 2, amount: '5.0050' },
      { grantId: 1, amount: '7.3350' },
    ]);
    expect([oct.creditsApplied, oct.amountDue]).toEqual(['12.3400', '0.0000']);
    const nov = await billingStatement(tdb.db, { month: '2026-11' }, { now: Date.UTC(2026, 10, 20), graceDays: 3 });
    // 20 − 7.335 = 12.665 left for November's 43.21 + beta's 1.00.
    expect([nov.total, nov.creditsApplied, nov.amountDue]).toEqual(['44.2100', '12.6650', '31.5450']);
    expect(BigInt(nov.totalNanos) - 12_665_000_000n).toBe(BigInt(nov.amountDueNanos));
    expect(nov.credits.map((c) => c.customerId)).toEqual(['acme']);
    await writer.close();
  });

  it('the balance falls as usage is priced, and a void grant stops counting', async () => {
    const { tdb, writer, api } = await setup();
    const g = await grantCredit(tdb.db, { customerId: 'acme', amount: '50', effectiveAt: NOV }, NOV);
    await api('acme', 500, NOV + 1000);
    const now = Date.UTC(2026, 10, 20);
    const b = await creditBalance(tdb.db, 'acme', now, billedChargeOf(tdb.db));
    expect([b.granted, b.used, b.remaining]).toEqual(['50.0000', '5.0000', '45.0000']);
    await api('acme', 1000, NOV + 5000);
    expect((await creditBalance(tdb.db, 'acme', now, billedChargeOf(tdb.db))).remaining).toBe('35.0000');
    await voidGrant(tdb.db, g.id, 'granted by mistake', now);
    const after = await creditBalance(tdb.db, 'acme', now, billedChargeOf(tdb.db));
    expect([after.remaining, after.grants[0]!.status]).toEqual(['0.0000', 'voided']);
    await expect(grantCredit(tdb.db, { customerId: 'acme', amount: '-1', effectiveAt: NOV }, NOV)).rejects.toMatchObject({
      field: 'amount',
    });
    await expect(grantCredit(tdb.db, { customerId: 'acme', amount: '1', priority: 101, effectiveAt: NOV }, NOV)).rejects.toMatchObject({
      field: 'priority',
    });
    await writer.close();
  });
});

describe('balance alerts', () => {
  it('fire once per threshold, and a new grant re-arms them', async () => {
    const { tdb, writer, api } = await setup();
    await grantCredit(tdb.db, { customerId: 'acme', amount: '10', effectiveAt: NOV }, NOV);
    const now = Date.UTC(2026, 10, 20);
    const ids: number[] = [];
    const check = () =>
      checkBalanceAlerts(tdb.db, { now, thresholds: ['25%', '0'] }).then((r) =>
        r.alerts.map((a) => {
          ids.push(a.id);
          return a.message;
        }),
      );
    await api('acme', 700, NOV + 1000); // 7.00 used, 3.00 left: above 25 %
    expect(await check()).toEqual([]);
    await api('acme', 50, NOV + 2000); // 2.50 left: 25 %
    expect(await check()).toEqual(['CREDIT BALANCE: acme has 2.50 of 10.00 left (threshold 25%)']);
    expect(await check()).toEqual([]);
    await api('acme', 400, NOV + 3000); // all used
    expect(await check()).toEqual(['CREDIT BALANCE: acme has 0.00 of 10.00 left (threshold 0)']);
    expect(await check()).toEqual([]);
    await grantCredit(tdb.db, { customerId: 'acme', amount: '100', effectiveAt: NOV }, now);
    expect(await check()).toEqual([]); // 101.50 granted, 100 − 1.50 overflow… well above both thresholds
    expect((await listBalanceAlerts(tdb.db, 'acme')).length).toBe(2);
    // Each alert its own id (a hook's Tally-Delivery), apart from quota alerts' (1, 2, …).
    expect(ids).toEqual([-1, -2]);
    await expect(checkBalanceAlerts(tdb.db, { now, thresholds: ['150%'] })).rejects.toMatchObject({ field: 'thresholds[0]' });
    await writer.close();
  });
});

describe("credits on one customer's billing statement", () => {
  it("shows only that customer's credits and amount due", async () => {
    const { tdb, writer, api } = await setup();
    await api('acme', 1000, NOV + 1000); // 10.00
    await api('beta', 300, NOV + 1000); // 3.00
    await grantCredit(tdb.db, { customerId: 'acme', amount: '4', effectiveAt: NOV }, NOV);
    await grantCredit(tdb.db, { customerId: 'beta', amount: '1', effectiveAt: NOV }, NOV);
    const clock = { now: Date.UTC(2026, 10, 20), graceDays: 3 };
    const beta = await billingStatement(tdb.db, { month: '2026-11', customerId: 'beta' }, clock);
    expect([beta.total, beta.creditsApplied, beta.amountDue, beta.credits.map((c) => c.customerId)]).toEqual([
      '3.0000',
      '1.0000',
      '2.0000',
      ['beta'],
    ]);
    const all = await billingStatement(tdb.db, { month: '2026-11' }, clock);
    expect([all.total, all.creditsApplied, all.amountDue]).toEqual(['13.0000', '5.0000', '8.0000']);
    await writer.close();
  });
});
