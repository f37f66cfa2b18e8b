import { describe, expect, it } from 'vitest';
import { checkPriceSpec, compilePrice, minimumChargeTopUp, ruleInForce, type PriceRule, type PriceSpec } from '../../src/core/pricing';
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
