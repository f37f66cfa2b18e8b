// The Prices page's pure parts: the form becomes the spec the agent checks, and each model reads in words.
import { describe, expect, it } from 'vitest';
import { describeRule, specFrom, type PriceForm } from '../../src/renderer/src/pages/Prices';
import { checkPriceSpec, type PriceSpec } from '../../src/core/pricing';

const form = (f: Partial<PriceForm>): PriceForm => ({ model: 'per_unit', main: '', field: '', extra: '', min: '', max: '', ...f });
const rule = (spec: PriceSpec) => ({ id: 1, service: 'x', effectiveFrom: 0, spec, minimumCharge: null });

describe('Prices page', () => {
  it('builds valid specs for every model', () => {
    const specs = [
      specFrom(form({ main: '0.0001' })),
      specFrom(form({ model: 'volume', main: '10000:0.0010:10, 50000:0.0008:10, inf:0.0004:10' })),
      specFrom(form({ model: 'tiered', main: '1000:0.01,inf:0.005' })),
      specFrom(form({ model: 'percentage', main: '2.9%', extra: '0.30', min: '0.50' })),
      specFrom(form({ model: 'dimension', field: 'model', main: 'gpt-4o=0.0000025, gpt-4o-mini=0.00000015' })),
    ];
    for (const s of specs) expect(() => checkPriceSpec(s)).not.toThrow();
    expect(specs[1]).toEqual({
      model: 'volume',
      tiers: [
        { upTo: 10000, unitPrice: '0.0010', flatFee: '10' },
        { upTo: 50000, unitPrice: '0.0008', flatFee: '10' },
        { upTo: null, unitPrice: '0.0004', flatFee: '10' },
      ],
    });
    expect(specs[3]).toEqual({ model: 'percentage', rate: '2.9', amountField: 'amount', fixedFee: '0.30', minPerEvent: '0.50' });
    expect(specs[4]).toEqual({ model: 'dimension', field: 'model', rates: { 'gpt-4o': '0.0000025', 'gpt-4o-mini': '0.00000015' } });
  });
  it('describes the new models', () => {
    expect(describeRule(rule({ model: 'volume', tiers: [{ upTo: null, unitPrice: '1' }] }), 'requests')).toBe('volume (1 tiers)');
    expect(describeRule(rule({ model: 'percentage', rate: '2.9', amountField: 'amount' }), 'payments')).toBe('2.9% of amount per event');
  });
});
