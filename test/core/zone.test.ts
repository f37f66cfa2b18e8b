import { describe, expect, it } from 'vitest';
import { checkTimeZone, offsetAt, startOfLocalDate, zonedBoundaries, zonedLabel, zonedMonth, zonedStart } from '../../src/core/zone';

const iso = (ms: number) => new Date(ms).toISOString();
const hours = (b: number[]) => b.slice(1).map((t, i) => (t - b[i]!) / 3_600_000);

describe('time zones', () => {
  it('America/New_York: 1 November 2026 is a 25-hour day (EDT → EST)', () => {
    const b = zonedBoundaries('America/New_York', 'day', Date.UTC(2026, 10, 1, 4), Date.UTC(2026, 10, 2, 6));
    expect(b.map(iso)).toEqual(['2026-11-01T04:00:00.000Z', '2026-11-02T05:00:00.000Z', '2026-11-03T05:00:00.000Z']);
    expect(hours(b)).toEqual([25, 24]);
    expect(zonedMonth('America/New_York', '2026-11')).toEqual({ from: Date.UTC(2026, 10, 1, 4), to: Date.UTC(2026, 11, 1, 5) });
  });
  it('America/New_York: 8 March 2026 is a 23-hour day', () => {
    expect(hours(zonedBoundaries('America/New_York', 'day', Date.UTC(2026, 2, 8, 5), Date.UTC(2026, 2, 8, 6)))).toEqual([23]);
  });
  it('Asia/Kolkata (+5:30) and Australia/Adelaide (+10:30 in summer): midnights at half hours', () => {
    const k = zonedBoundaries('Asia/Kolkata', 'day', Date.UTC(2026, 10, 1), Date.UTC(2026, 10, 1, 18, 30));
    expect(k.map(iso)).toEqual(['2026-10-31T18:30:00.000Z', '2026-11-01T18:30:00.000Z']);
    expect(zonedLabel('Asia/Kolkata', 'day', k[1]!)).toBe('2026-11-02');
    expect(offsetAt('Australia/Adelaide', Date.UTC(2026, 0, 1))).toBe(10.5 * 3_600_000);
    expect(iso(zonedStart('Australia/Adelaide', 'month', Date.UTC(2026, 0, 15)))).toBe('2025-12-31T13:30:00.000Z');
    expect(iso(zonedStart('Asia/Kathmandu', 'day', Date.UTC(2026, 5, 1, 12)))).toBe('2026-05-31T18:15:00.000Z');
  });
  it("weeks start on Monday in the zone; a day whose midnight falls in a DST gap starts at the gap's end", () => {
    const w = zonedBoundaries('Europe/Paris', 'week', Date.UTC(2026, 9, 28), Date.UTC(2026, 10, 3));
    expect(w.map(iso)).toEqual(['2026-10-25T23:00:00.000Z', '2026-11-01T23:00:00.000Z', '2026-11-08T23:00:00.000Z']);
    // Chile springs forward at local midnight: 6 September 2026 starts at 01:00 (-03:00).
    expect(iso(startOfLocalDate('America/Santiago', 2026, 9, 6))).toBe('2026-09-06T04:00:00.000Z');
  });
  it('refuses what is not an IANA zone, naming the field', () => {
    expect(() => checkTimeZone('Mars/Olympus', 'timezone')).toThrow(/timezone.*IANA|IANA/);
    expect(checkTimeZone('utc')).toBe('UTC');
  });
});
