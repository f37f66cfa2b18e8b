// The new price models through the real writer and a real SQLite file: what gets stored.
import { describe, expect, it } from 'vitest';
import { formatNanos } from '../../src/core/money';
import { setPriceRule, upsertService } from '../../src/storage/repos/services';
import { fixedClock, testDb, testWriter } from '../helpers/db';

const NOV = Date.UTC(2026, 10, 1);

async function setup() {
  const tdb = await testDb();
  const clock = fixedClock(Date.UTC(2026, 10, 20));
  const base = { displayFactor: 1, integerOnly: true, requiredFields: [], breakdownKeys: [], builtin: false } as const;
  await upsertService(tdb.db, { ...base, name: 'payments', displayName: 'Payments', baseUnit: 'payments', displayUnit: 'payments' }, 0);
  await upsertService(tdb.db, { ...base, name: 'tokens', displayName: 'Tokens', baseUnit: 'tokens', displayUnit: 'tokens' }, 0);
  await setPriceRule(
    tdb.db,
    { service: 'payments', effectiveFrom: 0, spec: { model: 'percentage', rate: '2.9', amountField: 'amount', fixedFee: '0.30' } },
    0,
  );
  await setPriceRule(
    tdb.db,
    { service: 'tokens', effectiveFrom: 0, spec: { model: 'dimension', field: 'model', rates: { 'gpt-4o': '0.0000025' } } },
    0,
  );
  const writer = await testWriter(tdb, { clock: clock.now, batchTimeoutMs: 60_000 });
  const costs = () => tdb.sqlite.prepare('SELECT service, unit_price, cost_nanos FROM usage_records ORDER BY seq').all();
  return { tdb, writer, costs };
}

describe('price models in the writer', () => {
  it('stores 2.9 % + 0.30 of each payment and the per-model token price, exactly', async () => {
    const { writer, costs } = await setup();
    await writer.recordMany([
      { service: 'payments', quantity: 1, metadata: { amount: '100.00' }, recordedAt: NOV + 1000 },
      { service: 'tokens', quantity: 1_234_567, metadata: { model: 'gpt-4o' }, recordedAt: NOV + 2000 },
    ]);
    expect(costs()).toEqual([
      { service: 'payments', unit_price: '2.9% + 0.30', cost_nanos: 3_200_000_000 },
      { service: 'tokens', unit_price: '0.0000025', cost_nanos: 3_086_417_500 },
    ]);
    await writer.close();
  });

  it('refuses a model without a rate naming the field, and stores nothing of the batch', async () => {
    const { writer, costs } = await setup();
    await expect(
      writer.recordMany([
        { service: 'tokens', quantity: 5, metadata: { model: 'gpt-4o' } },
        { service: 'tokens', quantity: 5, metadata: { model: 'o1' } },
      ]),
    ).rejects.toMatchObject({ code: 'invalid_input', field: 'records[1].metadata.model' });
    expect(() => writer.add({ service: 'payments', quantity: 1, metadata: {} })).toThrow(/metadata\.amount/);
    await writer.flush();
    expect(costs()).toEqual([]);
    await writer.close();
  });

  it('a price set on a date leaves earlier records alone', async () => {
    const { tdb, writer, costs } = await setup();
    await writer.record({ service: 'payments', quantity: 1, metadata: { amount: 10 }, recordedAt: NOV + 1000 });
    await setPriceRule(
      tdb.db,
      {
        service: 'payments',
        effectiveFrom: NOV + 86_400_000,
        spec: { model: 'percentage', rate: '1.4', amountField: 'amount', fixedFee: '0.25' },
      },
      1,
    );
    await writer.refresh();
    await writer.record({ service: 'payments', quantity: 1, metadata: { amount: 10 }, recordedAt: NOV + 2000 });
    await writer.record({ service: 'payments', quantity: 1, metadata: { amount: 10 }, recordedAt: NOV + 86_400_000 });
    expect(costs().map((r) => formatNanos((r as { cost_nanos: number }).cost_nanos))).toEqual(['0.5900', '0.5900', '0.3900']);
    await writer.close();
  });
});
