import { describe, expect, it } from 'vitest';
import {
  currencyOf,
  formatMoney,
  formatPercent,
  formatUnitPrice,
  roundHalfEven,
  roundLines,
  roundingNote,
  toNanos,
} from '../../src/core/money';

describe('money for people', () => {
  it('takes symbol and minor unit from the currency code', () => {
    expect(currencyOf('USD')).toEqual({ code: 'USD', prefix: '$', decimals: 2 });
    // USD is known without asking Intl: what Intl says agrees.
    const usd = new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD' });
    expect(usd.formatToParts(1).find((p) => p.type === 'currency')?.value).toBe(currencyOf('USD').prefix);
    expect(usd.resolvedOptions().maximumFractionDigits).toBe(currencyOf('USD').decimals);
    expect(currencyOf('JPY').decimals).toBe(0);
    expect(currencyOf('KWD').decimals).toBe(3);
    expect(currencyOf('CHF').prefix).toBe('CHF ');
    expect(() => currencyOf('usd')).toThrow(/ISO 4217/);
  });

  it('rounds half-even to the minor unit', () => {
    expect(formatMoney('108.271210591')).toBe('$108.27');
    expect(formatMoney('0.125')).toBe('$0.12'); // tie → even
    expect(formatMoney('0.135')).toBe('$0.14'); // tie → even
    expect(formatMoney('0.1250001')).toBe('$0.13');
    expect(formatMoney('-0.125')).toBe('-$0.12');
    expect(formatMoney('1234567.005', 'EUR')).toBe('€1,234,567.00');
    expect(formatMoney('1234.5', 'JPY')).toBe('¥1,234');
    expect(formatMoney('1235.5', 'JPY')).toBe('¥1,236');
    expect(formatMoney(125_000_000_000n)).toBe('$125.00');
    expect(roundHalfEven(toNanos('2.5'), 0)).toBe(2_000_000_000n);
  });

  it('shows unit prices to their own precision', () => {
    expect(formatUnitPrice('0.0001')).toBe('$0.0001');
    expect(formatUnitPrice('0.05')).toBe('$0.05');
    expect(formatUnitPrice('2')).toBe('$2.00');
  });

  it('makes printed lines add up to the printed total, exact total and difference beneath', () => {
    const r = roundLines(['0.005', '0.005', '0.005']);
    expect(r.lines.map((n) => formatMoney(n))).toEqual(['$0.00', '$0.00', '$0.00']);
    expect(formatMoney(r.total)).toBe('$0.00');
    expect(r.exactTotal).toBe(15_000_000n);
    expect(roundingNote(r)).toBe('exact total $0.0150 (rounding -0.015)');
    const s = roundLines(['3.0927', '0.776126454', '38.699408518', '0.40815', '1.3534', '34.029934811']);
    expect(s.lines.map((n) => formatMoney(n))).toEqual(['$3.09', '$0.78', '$38.70', '$0.41', '$1.35', '$34.03']);
    expect(formatMoney(s.total)).toBe('$78.36');
    expect(s.total - s.exactTotal).toBe(s.difference);
  });
});

describe('percentages for people', () => {
  it('truncates toward zero at the digits shown', () => {
    expect(formatPercent(0.78)).toBe('78%');
    expect(formatPercent(0.7799)).toBe('77%');
    expect(formatPercent(0.999)).toBe('99%');
    expect(formatPercent(1.05)).toBe('105%');
    expect(formatPercent(0.29)).toBe('29%');
    expect(formatPercent(-0.8475, { decimals: 1, sign: true })).toBe('-84.7%');
    expect(formatPercent(0.1234, { decimals: 1, sign: true })).toBe('+12.3%');
    expect(formatPercent(-0.0001, { decimals: 1 })).toBe('0.0%');
  });
});
