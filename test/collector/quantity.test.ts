// The collector keeps quantities as exact decimals to 6 places, in both stores.
import { describe, expect, it } from 'vitest';
import { quantityText, trimDecimal } from '../../src/collector/quantity';

describe('collector quantities', () => {
  it('are decimal text rounded half up to 6 places, exact for whole numbers of any size', () => {
    const cases: Array<[number, string]> = [
      [0, '0'],
      [1.5, '1.5'],
      [0.1, '0.1'],
      [0.30000000000000004, '0.3'],
      [1e-7, '0'],
      [5e-7, '0.000001'],
      [0.1234565, '0.123457'],
      [3.9999999, '4'],
      [123456.0000004, '123456'],
      [1e21, '1000000000000000000000'],
      [2 ** 60, '1152921504606846976'],
    ];
    for (const [q, text] of cases) expect(quantityText(q), String(q)).toBe(text);
  });

  it("trims a database's trailing zeros", () => {
    expect(['12.500000', '3', '3.000000', '10', '0.000000'].map(trimDecimal)).toEqual(['12.5', '3', '3', '10', '0']);
  });
});
