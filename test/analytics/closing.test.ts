import { describe, expect, it } from 'vitest';
import { billedChargeOf, billingStatement, closeDueMonths, closeMonth, lateMarks } from '../../src/analytics/closing';
import { voidRecord } from '../../src/storage/corrections';
import { setPriceRule } from '../../src/storage/repos/services';
import { setCustomerZone } from '../../src/storage/repos/zones';
import { grantCredit } from '../../src/storage/repos/credits';
import { creditBalance } from '../../src/analytics/credits';
import { fixedClock, testDb, testWriter } from '../helpers/db';

const GRACE = 3;
const iso = (s: string) => Date.parse(s);

async function setup(start: string) {
  const clock = fixedClock(iso(start));
  const tdb = await testDb();
  await setPriceRule(tdb.db, { service: 'api', effectiveFrom: 0, spec: { model: 'per_unit', unitPrice: '0.01' } }, 0);
  const w = await testWriter(tdb, {
    clock: clock.now,
    beforeFlush: (t, now, earliest) => closeDueMonths(t.db, { now, graceDays: GRACE }, earliest),
  });
  const api = (at: string, quantity = 1, customerId = 'acme') =>
    w.record({ service: 'api', quantity, metadata: { endpoint: '/x', method: 'GET' }, recordedAt: at, customerId });
  const statement = async (month: string, customerId?: string) =>
    JSON.stringify(await billingStatement(tdb.db, { month, customerId }, { now: clock.now(), graceDays: GRACE }), null, 2);
  return { clock, tdb, w, api, statement };
}

describe('closed months', () => {
  it('a past month before the first usage is open: history lands in it, with a grace period of its own, then late events are adjustments', async () => {
    const { clock, w, api, statement } = await setup('2026-11-15T12:00:00Z');
    await api('2026-11-15T11:00:00Z', 5000);
    const octEmpty = JSON.parse(await statement('2026-10'));
    expect(octEmpty).toMatchObject({ state: 'open', closedAt: null, awaitingUsage: true, total: '0.0000' });

    // History for a month never billed lands in it, and holds its closing for the grace period
    // (the rest of an import lands too), in this same writer (one agent process) as in another.
    await api('2026-10-20T00:00:00Z', 1000);
    await api('2026-10-21T00:00:00Z', 7);
    expect(JSON.parse(await statement('2026-10'))).toMatchObject({
      state: 'open',
      closesAt: '2026-11-18T12:00:00.000Z',
      awaitingUsage: false,
      total: '10.0700',
    });

    clock.set(iso('2026-11-18T12:00:00Z'));
    const oct = await statement('2026-10');
    expect(JSON.parse(oct)).toMatchObject({ state: 'closed', closedAt: '2026-11-18T12:00:00.000Z', total: '10.0700' });
    await api('2026-10-22T00:00:00Z', 3); // the write freezes October first: this one is late
    expect(await statement('2026-10')).toBe(oct);
    const nov = JSON.parse(await statement('2026-11'));
    expect(nov.adjustments).toEqual([expect.objectContaining({ forMonth: '2026-10', events: 1, quantity: '3', cost: '0.0300' })]);
    expect(nov.billTotal).toBe('50.0300');
    expect(nov.amountDue).toBe('50.0300'); // adjustments are due as well
    expect(JSON.parse(await statement('2026-11', 'acme')).amountDue).toBe('50.0300');
    await w.close();
  });

  it('a zone changed after a month closed: the next month starts where the closed one ended, nothing billed twice or skipped', async () => {
    const { clock, tdb, w, api, statement } = await setup('2026-11-02T12:00:00Z');
    await setCustomerZone(tdb.db, 'ny', 'America/New_York', 0);
    await api('2026-10-15T00:00:00Z', 1, 'ny');
    await api('2026-10-15T00:00:00Z', 1, 'kolkata');
    await api('2026-11-01T02:00:00Z', 10, 'ny'); // October 31, 22:00 in New York: October's
    await api('2026-10-31T19:00:00Z', 100, 'kolkata'); // UTC customer: October's
    clock.set(iso('2026-11-10T12:00:00Z'));
    await api('2026-11-10T11:00:00Z', 1000, 'other'); // this write closes October
    expect(JSON.parse(await statement('2026-10', 'ny')).lines).toEqual([expect.objectContaining({ events: 2, quantity: '11' })]);
    expect(JSON.parse(await statement('2026-10', 'kolkata')).lines).toEqual([expect.objectContaining({ events: 2, quantity: '101' })]);

    await setCustomerZone(tdb.db, 'ny', null, 0); // New York's zone cleared: UTC from now on
    await setCustomerZone(tdb.db, 'kolkata', 'Asia/Kolkata', 0); // billed in Kolkata from November
    await api('2026-11-01T05:00:00Z', 3, 'ny');
    await api('2026-11-01T01:00:00Z', 30, 'kolkata');
    const ny = JSON.parse(await statement('2026-11', 'ny'));
    expect(ny.lines).toEqual([expect.objectContaining({ events: 1, quantity: '3' })]);
    expect(ny.adjustments).toEqual([]);
    expect(ny.timezones).toEqual([{ customerId: 'ny', timezone: 'UTC', from: '2026-11-01T04:00:00.000Z', to: '2026-12-01T00:00:00.000Z' }]);
    const kolkata = JSON.parse(await statement('2026-11', 'kolkata'));
    expect(kolkata.lines).toEqual([expect.objectContaining({ events: 1, quantity: '30' })]);
    expect(kolkata.adjustments).toEqual([]);
    expect(kolkata.timezones).toEqual([
      { customerId: 'kolkata', timezone: 'Asia/Kolkata', from: '2026-11-01T00:00:00.000Z', to: '2026-11-30T18:30:00.000Z' },
    ]);
    await w.close();
  });

  it('closed by hand while history holds it open: closed now, not at a deadline it had not kept', async () => {
    const { clock, w, api, statement } = await setup('2026-11-15T12:00:00Z');
    await api('2026-11-15T11:00:00Z', 1);
    await api('2026-10-20T00:00:00Z', 1000); // history: October is held open until 2026-11-18 12:00
    clock.set(iso('2026-11-16T09:00:00Z'));
    expect(await closeMonth(w['tdb'].db, '2026-10', { now: clock.now(), graceDays: GRACE }, 'admin')).toMatchObject({
      closedAt: '2026-11-16T09:00:00.000Z',
      closedNow: true,
    });
    expect(JSON.parse(await statement('2026-10'))).toMatchObject({ state: 'closed', closedAt: '2026-11-16T09:00:00.000Z' });
    await w.close();
  });

  it('a void of a closed month that credits paid is refunded once: on the next statement, the grant keeps what it paid', async () => {
    const { clock, tdb, w, api, statement } = await setup('2026-10-20T12:00:00Z');
    await grantCredit(tdb.db, { customerId: 'acme', amount: '10', effectiveAt: Date.UTC(2026, 9, 1) }, clock.now());
    const paid = await api('2026-10-10T00:00:00Z', 200); // 2.00, drawn from the grant
    clock.set(iso('2026-11-10T00:00:00Z'));
    await closeDueMonths(w['tdb'].db, { now: clock.now(), graceDays: GRACE });
    expect(JSON.parse(await statement('2026-10', 'acme'))).toMatchObject({
      state: 'closed',
      creditsApplied: '2.0000',
      amountDue: '0.0000',
    });

    await voidRecord(w, { id: paid.id, reason: 'test traffic', actor: 'admin' });
    const nov = JSON.parse(await statement('2026-11', 'acme'));
    expect(nov.adjustments).toEqual([expect.objectContaining({ forMonth: '2026-10', cost: '-2.0000' })]);
    expect([nov.creditsApplied, nov.amountDue]).toEqual(['0.0000', '-2.0000']);
    const balance = await creditBalance(tdb.db, 'acme', clock.now(), billedChargeOf(tdb.db));
    expect([balance.used, balance.remaining]).toEqual(['2.0000', '8.0000']);

    // A late event is billed like any charge, so credits cover it too.
    await api('2026-10-12T00:00:00Z', 300); // +3.00 for October; the void's -2.00 stands beside it
    const after = JSON.parse(await statement('2026-11', 'acme'));
    expect([after.billTotal, after.creditsApplied, after.amountDue]).toEqual(['1.0000', '1.0000', '0.0000']);
    await w.close();
  });

  it("a late event is billed once, in the month of its customer's own zone", async () => {
    const { clock, tdb, w, api, statement } = await setup('2026-10-20T12:00:00Z');
    await setCustomerZone(tdb.db, 'kolkata', 'Asia/Kolkata', 0);
    await setCustomerZone(tdb.db, 'newyork', 'America/New_York', 0);
    await api('2026-10-15T00:00:00Z', 1, 'kolkata');
    await api('2026-10-15T00:00:00Z', 1, 'newyork');
    clock.set(iso('2026-11-29T12:00:00Z'));
    await api('2026-11-29T11:00:00Z', 1, 'kolkata'); // this write closes October
    expect(JSON.parse(await statement('2026-10'))).toMatchObject({ state: 'closed' });

    await api('2026-10-31T19:00:00Z', 100, 'kolkata'); // November 1, 00:30 in Kolkata: November's
    await api('2026-11-01T02:00:00Z', 10, 'newyork'); // October 31, 22:00 in New York: late for October
    const kolkata = JSON.parse(await statement('2026-11', 'kolkata'));
    expect(kolkata.adjustments).toEqual([]);
    expect(kolkata.lines).toEqual([expect.objectContaining({ service: 'api', events: 2, quantity: '101' })]);
    expect(kolkata.billTotal).toBe('1.0100');
    const newyork = JSON.parse(await statement('2026-11', 'newyork'));
    expect(newyork.lines).toEqual([]);
    expect(newyork.adjustments).toEqual([expect.objectContaining({ forMonth: '2026-10', events: 1, quantity: '10', cost: '0.1000' })]);
    expect(newyork.billTotal).toBe('0.1000');
    await w.close();
  });

  it('an October event posted on 2026-11-05 (grace 3 days) bills as an adjustment on November; October is byte-identical', async () => {
    const { clock, w, api, statement } = await setup('2026-10-20T12:00:00Z');
    await api('2026-10-20T10:00:00Z', 100);
    clock.set(iso('2026-11-02T09:00:00Z'));
    await api('2026-11-02T08:00:00Z', 10);
    const octOpen = JSON.parse(await statement('2026-10'));
    expect(octOpen).toMatchObject({ state: 'open', closesAt: '2026-11-04T00:00:00.000Z', closedAt: null, total: '1.0000' });

    clock.set(iso('2026-11-05T09:00:00Z'));
    const before = await statement('2026-10');
    expect(JSON.parse(before)).toMatchObject({ state: 'closed', closedAt: '2026-11-04T00:00:00.000Z', total: '1.0000' });

    await api('2026-10-28T10:00:00Z', 1234); // late
    const after = await statement('2026-10');
    expect(after).toBe(before);

    const nov = JSON.parse(await statement('2026-11'));
    expect(nov.state).toBe('open');
    expect(nov.total).toBe('0.1000');
    expect(nov.adjustments).toEqual([
      expect.objectContaining({ forMonth: '2026-10', customerId: 'acme', service: 'api', events: 1, quantity: '1234', cost: '12.3400' }),
    ]);
    expect(nov.adjustments[0].description).toBe('adjustment for 2026-10: +1 234 requests, +$12.34');
    expect(nov.billTotal).toBe('12.4400');
    // The usage report of October shows it with a late mark.
    expect(await lateMarks(w['tdb'].db, { from: Date.UTC(2026, 9, 1), to: Date.UTC(2026, 10, 1) })).toEqual([
      { month: '2026-10', closedAt: '2026-11-04T00:00:00.000Z', events: 1, cost: '12.3400', corrections: 0 },
    ]);
    expect(await lateMarks(w['tdb'].db, { from: Date.UTC(2026, 10, 1), to: Date.UTC(2026, 11, 1) })).toEqual([]);
    await w.close();
  });

  it('a void of a closed month is a negative adjustment; once November closes with it, December carries only what is new', async () => {
    const { clock, w, api, statement } = await setup('2026-10-20T12:00:00Z');
    const a = await api('2026-10-10T10:00:00Z', 50);
    await api('2026-10-11T10:00:00Z', 50);
    clock.set(iso('2026-11-10T00:00:00Z'));
    await closeDueMonths(w['tdb'].db, { now: clock.now(), graceDays: GRACE });
    const oct = await statement('2026-10');
    await voidRecord(w, { id: a.id, reason: 'test traffic', actor: 'admin' });
    expect(await statement('2026-10')).toBe(oct);
    const nov = JSON.parse(await statement('2026-11'));
    expect(nov.adjustments).toEqual([expect.objectContaining({ forMonth: '2026-10', events: -1, quantity: '-50', cost: '-0.5000' })]);

    clock.set(iso('2026-12-10T00:00:00Z'));
    await api('2026-12-09T00:00:00Z', 1); // the write closes November (with the adjustment in it)
    const novClosed = JSON.parse(await statement('2026-11'));
    expect(novClosed.state).toBe('closed');
    expect(novClosed.adjustments).toHaveLength(1);
    expect(JSON.parse(await statement('2026-12')).adjustments).toEqual([]);
    await w.close();
  });

  it('closing by hand: refused before the month ends, idempotent after, and the frozen text is what prints', async () => {
    const { clock, tdb, w, api, statement } = await setup('2026-10-10T12:00:00Z');
    await api('2026-10-10T10:00:00Z', 7);
    const c = { now: clock.now(), graceDays: GRACE };
    await expect(closeMonth(tdb.db, '2026-10', c, 'cli:ops')).rejects.toMatchObject({ field: 'month' });
    await expect(closeMonth(tdb.db, '2026-13', c, 'cli:ops')).rejects.toMatchObject({ field: 'month' });
    clock.set(iso('2026-11-01T06:00:00Z'));
    const first = await closeMonth(tdb.db, '2026-10', { now: clock.now(), graceDays: GRACE }, 'cli:ops');
    expect(first).toMatchObject({ month: '2026-10', closedNow: true, closedBy: 'cli:ops', closedAt: '2026-11-01T06:00:00.000Z' });
    expect(first.sha256).toMatch(/^[0-9a-f]{64}$/);
    const again = await closeMonth(tdb.db, '2026-10', { now: clock.now() + 1000, graceDays: GRACE }, 'admin');
    expect(again).toEqual({ ...first, closedNow: false });
    const frozen = tdb.sqlite.prepare('SELECT body FROM closed_statements WHERE month = ?').pluck().get('2026-10') as string;
    expect(JSON.stringify(JSON.parse(await statement('2026-10')))).toBe(frozen);
    // A customer's view of a closed month is cut from the frozen statement.
    expect(JSON.parse(await statement('2026-10', 'acme'))).toMatchObject({ customerId: 'acme', total: '0.0700', state: 'closed' });
    await w.close();
  });
});
