import { describe, expect, it } from 'vitest';
import {
  chargeEvent,
  checkPriceSpec,
  compilePrice,
  describePrice,
  minimumChargeTopUp,
  ruleInForce,
  scaleNanos,
  type PriceRule,
  type PriceSpec,
} from '../../src/core/pricing';
import { formatNanos, parseDecimalToNanos, sumNanos } from '../../src/core/money';
import { GIB } from '../../src/core/services';

const rule = (spec: PriceSpec, minimumCharge: string | null = null): PriceRule => ({
  id: 1,
  service: 's',
  effectiveFrom: 0,
  spec,
  minimumCharge,
});

/** Charges records one by one the way the writer does: F(after) − F(before). */
function chargeSequence(spec: PriceSpec, quantities: number[], factor = 1): number[] {
  const price = compilePrice(rule(spec), factor);
  let mtd = 0;
  return quantities.map((q) => {
    const cost = price.charge(mtd + q) - price.charge(mtd);
    mtd += q;
    return cost;
  });
}

describe('money', () => {
  it('parses decimals exactly into nanos and prints them back', () => {
    expect(parseDecimalToNanos('0.0001')).toBe(100_000);
    expect(parseDecimalToNanos('12.5')).toBe(12_500_000_000);
    expect(formatNanos(100_000_000_000)).toBe('100.0000');
    expect(formatNanos(16_667)).toBe('0.000016667');
    expect(formatNanos(-1_500_000_000)).toBe('-1.5000');
    for (const bad of ['1e-4', '-1', '0.0000000001', 'abc', '', '1.2.3']) expect(() => parseDecimalToNanos(bad)).toThrow(RangeError);
  });

  it('sums beyond 2^53 nanos exactly', () => {
    expect(sumNanos([Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER, 2])).toBe(2n * BigInt(Number.MAX_SAFE_INTEGER) + 2n);
  });
});

describe('pricing', () => {
  it('per unit: a price per display unit, converted from base units (GB-hours from byte-seconds)', () => {
    const price = compilePrice(rule({ model: 'per_unit', unitPrice: '0.001' }), GIB * 3600);
    expect(price.charge(GIB * 3600)).toBe(1_000_000); // 1 GB-hour = 0.001
    expect(price.charge(10 * GIB * 3600)).toBe(10_000_000);
  });

  it('tiny samples add up to the exact total instead of rounding to zero each', () => {
    // 3600 one-second samples of 1 GiB = 1 GB-hour at 0.001: each sample alone is 0.28 nanos.
    const costs = chargeSequence({ model: 'per_unit', unitPrice: '0.001' }, new Array(3600).fill(GIB), GIB * 3600);
    expect(costs.reduce((a, b) => a + b, 0)).toBe(1_000_000);
  });

  it('graduated tiers charge each unit at the price of the tier it falls in, across records', () => {
    const spec: PriceSpec = {
      model: 'tiered',
      tiers: [
        { upTo: 1000, unitPrice: '0.01' },
        { upTo: 2000, unitPrice: '0.005', flatFee: '1' },
        { upTo: null, unitPrice: '0.001' },
      ],
    };
    const costs = chargeSequence(spec, [600, 600, 600, 600]);
    // 1000 × 0.01 + (1 + 1000 × 0.005) + 400 × 0.001 = 10 + 6 + 0.4
    expect(formatNanos(costs.reduce((a, b) => a + b, 0))).toBe('16.4000');
    expect(formatNanos(costs[1]!)).toBe('6.0000'); // 400 × 0.01 + fee 1 + 200 × 0.005
    expect(compilePrice(rule(spec), 1).unitPriceAt(1500)).toBe('0.005');
  });

  it('package pricing charges per started package', () => {
    const costs = chargeSequence({ model: 'package', packageSize: 1000, packagePrice: '2.50' }, [1, 998, 1, 1, 1000]);
    expect(costs.map((c) => formatNanos(c))).toEqual(['2.5000', '0.0000', '0.0000', '2.5000', '2.5000']);
  });

  it('a minimum charge tops the month up, never down', () => {
    expect(minimumChargeTopUp(rule({ model: 'per_unit', unitPrice: '1' }, '5'), 3_000_000_000)).toBe(2_000_000_000);
    expect(minimumChargeTopUp(rule({ model: 'per_unit', unitPrice: '1' }, '5'), 7_000_000_000)).toBe(0);
    expect(minimumChargeTopUp(null, 0)).toBe(0);
  });

  it('finds the rule in force on a date', () => {
    const rules = [
      { effectiveFrom: 0, v: 'a' },
      { effectiveFrom: 100, v: 'b' },
      { effectiveFrom: 200, v: 'c' },
    ];
    expect(ruleInForce(rules, 50)?.v).toBe('a');
    expect(ruleInForce(rules, 100)?.v).toBe('b');
    expect(ruleInForce(rules, 10_000)?.v).toBe('c');
    expect(ruleInForce(rules.slice(1), 50)).toBeNull();
  });

  it('refuses malformed specs, naming the part', () => {
    expect(() => checkPriceSpec({ model: 'tiered', tiers: [] })).toThrow(/tiers/);
    expect(() => checkPriceSpec(null as never)).toThrow(/object/);
    expect(() => checkPriceSpec({ model: 'free' } as never)).toThrow(/model/);
    expect(() =>
      checkPriceSpec({
        model: 'tiered',
        tiers: [
          { upTo: null, unitPrice: '1' },
          { upTo: null, unitPrice: '1' },
        ],
      }),
    ).toThrow(/tiers\[0\]/);
    expect(() =>
      checkPriceSpec({
        model: 'tiered',
        tiers: [
          { upTo: 10, unitPrice: '1' },
          { upTo: 5, unitPrice: '1' },
          { upTo: null, unitPrice: '1' },
        ],
      }),
    ).toThrow(/tiers\[1\]/);
    expect(() => checkPriceSpec({ model: 'package', packageSize: 0, packagePrice: '1' })).toThrow(/packageSize/);
    expect(() => checkPriceSpec({ model: 'per_unit', unitPrice: '-1' })).toThrow();
  });
});

/** What a month of `total` units costs under a spec: F(total), the sum of the records' costs. */
const monthCost = (spec: PriceSpec, total: number, factor = 1) => formatNanos(compilePrice(rule(spec), factor).charge(total));

describe('volume tiers (every unit at the price of the tier the total reaches)', () => {
  // Lago's documented example (getlago.com/docs/guide/plans/charges/charge-models/volume):
  // 0–10,000 at 0.0010, –50,000 at 0.0008, –100,000 at 0.0006, beyond at 0.0004, each with a 10 fixed fee.
  const lago: PriceSpec = {
    model: 'volume',
    tiers: [
      { upTo: 10_000, unitPrice: '0.0010', flatFee: '10' },
      { upTo: 50_000, unitPrice: '0.0008', flatFee: '10' },
      { upTo: 100_000, unitPrice: '0.0006', flatFee: '10' },
      { upTo: null, unitPrice: '0.0004', flatFee: '10' },
    ],
  };
  it("Lago's example: 65,000 API calls cost 65,000 × 0.0006 + 10 = 49", () => {
    expect(monthCost(lago, 65_000)).toBe('49.0000');
  });
  it('records priced one by one add up to the same 49, though crossing into a cheaper tier is a negative line', () => {
    const costs = chargeSequence(lago, new Array(65).fill(1000));
    expect(formatNanos(costs.reduce((a, b) => a + b, 0))).toBe('49.0000');
    expect(costs[10]! < 0).toBe(true); // 10,000 → 11,000: all units fall to 0.0008
  });
  // Stripe's documented example (docs.stripe.com/subscriptions/pricing-models/tiered-pricing):
  // fonts 1–5 at 7, 6–10 at 6.5, 11+ at 6.
  const stripe: PriceSpec = {
    model: 'volume',
    tiers: [
      { upTo: 5, unitPrice: '7' },
      { upTo: 10, unitPrice: '6.5' },
      { upTo: null, unitPrice: '6' },
    ],
  };
  it.each([
    [1, '7.0000'],
    [5, '35.0000'],
    [6, '39.0000'],
    [20, '120.0000'],
    [25, '150.0000'],
  ])("Stripe's table: %i fonts cost %s", (fonts, total) => {
    expect(monthCost(stripe, fonts)).toBe(total);
  });
  it("nothing used costs nothing, not the first tier's fee", () => expect(monthCost(lago, 0)).toBe('0.0000'));
});

describe('percentage of an amount in metadata', () => {
  // The card-payment price Lago's Stripe template reproduces: 2.9 % of the amount + 0.30 per payment.
  const card: PriceSpec = { model: 'percentage', rate: '2.9', amountField: 'amount', fixedFee: '0.30' };
  const price = compilePrice(rule(card), 1);
  const pay = (amount: unknown) => chargeEvent(price, 1, JSON.stringify({ amount }));
  it('a 100.00 payment costs 3.20; 10.00 costs 0.59; 0.01 costs 0.300290', () => {
    expect(formatNanos(pay('100.00')!.cost)).toBe('3.2000');
    expect(formatNanos(pay(10)!.cost)).toBe('0.5900');
    expect(formatNanos(pay('0.01')!.cost)).toBe('0.30029');
    expect(pay('100.00')!.unitPrice).toBe('2.9% + 0.30');
  });
  it('half a nano rounds to even: 50 % of 1 nano is 0, of 3 nanos is 2', () => {
    const bare = compilePrice(rule({ model: 'percentage', rate: '50', amountField: 'amount' }), 1);
    expect(chargeEvent(bare, 1, '{"amount":"0.000000001"}')!.cost).toBe(0); // 0.5 nano → 0 (even)
    expect(chargeEvent(bare, 1, '{"amount":"0.000000003"}')!.cost).toBe(2); // 1.5 nanos → 2 (even)
  });
  it('per-event minimum and maximum bound rate × amount + fee', () => {
    const bounded = compilePrice(rule({ ...card, minPerEvent: '0.50', maxPerEvent: '10' }), 1);
    expect(formatNanos(chargeEvent(bounded, 1, '{"amount":"1.00"}')!.cost)).toBe('0.5000'); // 0.329 → 0.50
    expect(formatNanos(chargeEvent(bounded, 1, '{"amount":"1000"}')!.cost)).toBe('10.0000'); // 29.30 → 10
    expect(formatNanos(chargeEvent(bounded, 1, '{"amount":"100"}')!.cost)).toBe('3.2000');
  });
  it('a missing or negative amount is refused naming the metadata key', () => {
    expect(() => chargeEvent(price, 1, '{}', 'records[2]')).toThrow(/records\[2\]\.metadata\.amount/);
    expect(() => pay('-5')).toThrow(/metadata\.amount/);
    expect(() => pay('1e3')).toThrow(/metadata\.amount/);
  });
  it('a month of payments is the exact sum of its events', () => {
    const amounts = Array.from({ length: 1000 }, (_, i) => ((i * 7919) % 100_000) / 100); // 0.00 … 999.99
    const total = sumNanos(amounts.map((a) => pay(a.toFixed(2))!.cost));
    const expected = sumNanos(amounts.map((a) => (BigInt(Math.round(a * 100)) * 29_000_000n) / 100n + 300_000_000n));
    expect(total).toBe(expected); // 2.9 % of whole cents is a whole number of nanos: no rounding at all
  });
});

describe('per-dimension rates', () => {
  // OpenAI's published input prices: gpt-4o 2.50 and gpt-4o-mini 0.15 per million tokens.
  const llm: PriceSpec = { model: 'dimension', field: 'model', rates: { 'gpt-4o': '0.0000025', 'gpt-4o-mini': '0.00000015' } };
  const price = compilePrice(rule(llm), 1);
  it('1,234,567 gpt-4o tokens cost 3.0864175; 1,000,000 gpt-4o-mini tokens cost 0.15', () => {
    expect(formatNanos(chargeEvent(price, 1_234_567, '{"model":"gpt-4o"}')!.cost)).toBe('3.0864175');
    expect(formatNanos(chargeEvent(price, 1_000_000, '{"model":"gpt-4o-mini"}')!.cost)).toBe('0.1500');
    expect(chargeEvent(price, 1, '{"model":"gpt-4o"}')!.unitPrice).toBe('0.0000025');
  });
  it('an unknown value is refused naming the field, unless a default rate is given', () => {
    expect(() => chargeEvent(price, 10, '{"model":"o1"}')).toThrow(/metadata\.model.*o1/);
    const withDefault = compilePrice(rule({ ...llm, defaultRate: '0.00001' }), 1);
    expect(formatNanos(chargeEvent(withDefault, 1000, '{"model":"o1"}')!.cost)).toBe('0.0100');
  });
  it('storage per region: per GB-hour rates applied to byte-seconds', () => {
    const region = compilePrice(rule({ model: 'dimension', field: 'region', rates: { eu: '0.002', us: '0.001' } }), GIB * 3600);
    expect(chargeEvent(region, 10 * GIB * 3600, '{"region":"eu"}')!.cost).toBe(20_000_000);
  });
});

describe('exact arithmetic', () => {
  it('per-unit prices stay exact past 2^53 nanos: 10^12 requests at 0.0001 are 100,000,000 exactly', () => {
    expect(monthCost({ model: 'per_unit', unitPrice: '0.0001' }, 1e12)).toBe('100000000.0000');
    expect(scaleNanos(2 ** 60, 3, 7)).toBe(Number((2n ** 60n * 3n + 3n) / 7n));
  });
  it('graduated tiers round once for the whole sum', () => {
    const spec: PriceSpec = {
      model: 'tiered',
      tiers: [
        { upTo: 1, unitPrice: '0.000000001' },
        { upTo: null, unitPrice: '0.000000001' },
      ],
    };
    expect(compilePrice(rule(spec), 3).charge(3)).toBe(1);
  });
  it('new models are described in words and checked', () => {
    expect(describePrice({ model: 'percentage', rate: '2.9', amountField: 'amount', fixedFee: '0.30' }, 'payments')).toBe(
      '2.9% of amount + 0.30 per event',
    );
    expect(() => checkPriceSpec({ model: 'percentage', rate: '101', amountField: 'amount' })).toThrow(/rate/);
    expect(() => checkPriceSpec({ model: 'percentage', rate: '1', amountField: 'a.b' })).toThrow(/amountField/);
    expect(() => checkPriceSpec({ model: 'percentage', rate: '1', amountField: 'a', minPerEvent: '2', maxPerEvent: '1' })).toThrow(
      /minPerEvent/,
    );
    expect(() => checkPriceSpec({ model: 'dimension', field: 'model', rates: {} })).toThrow(/rates/);
    expect(() => checkPriceSpec({ model: 'dimension', field: 'model', rates: { a: 'x' } })).toThrow(/rates\.a/);
    expect(() => checkPriceSpec({ model: 'volume', tiers: [{ upTo: 5, unitPrice: '1' }] })).toThrow(/last tier/);
  });
});
