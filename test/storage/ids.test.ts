// Pooled ULIDs: the ULID format, time first, strictly increasing within a millisecond and when
// the clock steps back, and no collisions.
import { describe, expect, it } from 'vitest';
import { decodeTime } from 'ulid';
import { ulidFactory } from '../../src/storage/ids';

describe('ulidFactory', () => {
  it('makes ULIDs that sort in creation order and carry the time', () => {
    let t = Date.UTC(2026, 10, 15, 12);
    const next = ulidFactory(() => t);
    const ids: string[] = [];
    for (let i = 0; i < 50_000; i++) {
      if (i % 1000 === 0) t += 1; // many ids per millisecond
      if (i === 30_000) t -= 5; // the clock steps back: ids still increase
      ids.push(next());
    }
    for (const id of ids) expect(id).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/);
    expect(decodeTime(ids[0]!)).toBe(Date.UTC(2026, 10, 15, 12) + 1);
    for (let i = 1; i < ids.length; i++) expect(ids[i]! > ids[i - 1]!).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
  });
});
