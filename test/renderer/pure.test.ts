// The renderer's pure pieces: periods, links, exact sums of the agent's decimals, units, series.
import { describe, expect, it } from 'vitest';
import { fromNanos, sumDecimals, toNanos } from '../../src/renderer/src/decimal';
import {
  exactMoney,
  formatPercent,
  formatUsage,
  money,
  roundedTotal,
  setCurrency,
  singular,
  unitNote,
  wholePercent,
} from '../../src/renderer/src/format';
import { describePeriod, lastDays, periodArgs } from '../../src/renderer/src/period';
import { parseRoute, periodFromHash } from '../../src/renderer/src/routes';
import { dayOverDay, hourOfWeek } from '../../src/renderer/src/series';

const NOW = Date.UTC(2026, 0, 15, 12); // 15 January 2026

describe('periods', () => {
  it('this month, last month (across the year) and custom ranges', () => {
    expect(periodArgs({ kind: 'this-month' }, NOW)).toEqual({ month: '2026-01' });
    expect(periodArgs({ kind: 'last-month' }, NOW)).toEqual({ month: '2025-12' });
    expect(periodArgs({ kind: 'custom', from: '2026-01-01', to: '2026-01-10' }, NOW)).toEqual({ from: '2026-01-01', to: '2026-01-10' });
    expect(describePeriod({ kind: 'last-month' }, NOW)).toBe('December 2025');
    expect(lastDays(7, NOW)).toEqual({ from: '2026-01-09', to: '2026-01-15' });
  });

  it('links carry a period; bad ones are ignored', () => {
    expect(periodFromHash('#/overview?month=2026-02')).toEqual({ kind: 'custom', from: '2026-02-01', to: '2026-02-28' });
    expect(periodFromHash('#/overview?from=2026-01-01&to=2026-01-05')).toEqual({ kind: 'custom', from: '2026-01-01', to: '2026-01-05' });
    expect(periodFromHash('#/overview?month=2026-13')).toBeNull();
    expect(periodFromHash('#/overview?from=2026-01-05&to=2026-01-01')).toBeNull();
    expect(periodFromHash('#/overview')).toBeNull();
    expect(parseRoute('#/overview?month=2026-02')).toEqual({ page: 'overview' });
    expect(parseRoute('#/service/api%2Fv2')).toEqual({ page: 'service', service: 'api/v2' });
    expect(parseRoute('#/nowhere')).toEqual({ page: 'overview' });
  });
});

describe('money stays exact', () => {
  it('sums decimal text without floats', () => {
    expect(sumDecimals(['0.1', '0.2'])).toBe('0.3000');
    expect(sumDecimals(['4.567815283', '0.000000001'])).toBe('4.567815284');
    expect(sumDecimals(Array.from({ length: 1000 }, () => '0.0001'))).toBe('0.1000');
    expect(fromNanos(toNanos('-1.5'))).toBe('-1.5000');
    expect(() => toNanos('1e3')).toThrow();
  });

  it('shows amounts in the minor unit (half-even), the exact text on hover, the total as the sum of the rounded lines', () => {
    expect(money('86.644144937')).toBe('$86.64');
    expect(exactMoney('86.644144937')).toBe('$86.644144937');
    setCurrency('EUR');
    expect(money('-0.5000')).toBe('-€0.50');
    setCurrency('USD');
    expect(roundedTotal(['0.005', '0.005', '0.005'])).toEqual({ lines: ['$0.00', '$0.00', '$0.00'], total: '$0.00', exactTotal: '$0.015' });
    expect(formatPercent(-84.75)).toBe('-84.7%');
    expect(wholePercent(77.99)).toBe('77%');
  });
});

describe('units', () => {
  it('say GB means GiB, and read well in the singular', () => {
    expect(unitNote('GB-hours')).toBe('GB = GiB (2^30 bytes)');
    expect(unitNote('requests')).toBeNull();
    expect(singular('requests')).toBe('request');
    expect(singular('queries')).toBe('query');
    expect(singular('GB-hours')).toBe('GB-hour');
    expect(singular('GB')).toBe('GB');
    expect(formatUsage(1234.567)).toBe('1,234.57');
    expect(formatUsage(0.000123)).toBe('0.000123');
  });
});

describe('series', () => {
  it('day over day compares the last two full days', () => {
    expect(dayOverDay([10, 100, 150, 3])).toBe(50);
    expect(dayOverDay([0, 5, 1])).toBeNull();
    expect(dayOverDay([5, 1])).toBeNull();
  });

  it('hour of week averages each Monday-first hour', () => {
    const cells = hourOfWeek([
      { period: '2026-01-05T09:00:00.000Z', total_quantity: 10 }, // a Monday
      { period: '2026-01-12T09:00:00.000Z', total_quantity: 30 }, // the next Monday
      { period: '2026-01-11T23:00:00.000Z', total_quantity: 7 }, // a Sunday
    ]);
    expect(cells).toHaveLength(168);
    expect(cells[9]).toBe(20);
    expect(cells[6 * 24 + 23]).toBe(7);
    expect(cells.filter((c) => c > 0)).toHaveLength(2);
  });
});
