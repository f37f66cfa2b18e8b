// Hour and day buckets are computed by division; they must equal the remainder definition for
// every integer millisecond a Date can hold, at and around every edge, negative times included.
import { describe, expect, it } from 'vitest';
import { dayStart, hourStart } from '../../src/core/time';

const HOUR = 3_600_000;
const DAY = 86_400_000;
const byRemainder = (ms: number, size: number) => ms - (((ms % size) + size) % size);

describe('hour and day buckets', () => {
  it('equal the remainder definition at the edges of the Date range and of buckets', () => {
    const points: number[] = [];
    for (const base of [0, 1_792_149_383_620, -1_792_149_383_620, 8.64e15, -8.64e15, 2 ** 52, -(2 ** 52)]) {
      for (const size of [HOUR, DAY]) {
        const edge = byRemainder(base, size);
        for (let d = -3; d <= 3; d++) points.push(edge + d, edge + size + d);
      }
    }
    // A fixed pseudo-random walk over the whole range (no dependence on the run).
    let x = 0x2545f491;
    for (let i = 0; i < 200_000; i++) {
      x = (Math.imul(x, 1_103_515_245) + 12_345) >>> 0;
      points.push(Math.round(((x / 2 ** 32) * 2 - 1) * 8.64e15));
    }
    for (const ms of points) {
      if (Math.abs(ms) > 8.64e15) continue;
      expect(hourStart(ms), String(ms)).toBe(byRemainder(ms, HOUR));
      expect(dayStart(ms), String(ms)).toBe(byRemainder(ms, DAY));
    }
  });
});
