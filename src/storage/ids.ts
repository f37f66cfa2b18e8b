// Record ids: ULIDs (26 characters of Crockford base32, 48-bit ms time + 80 random bits),
// monotonic within a millisecond as the spec says (the random part + 1). The `ulid` package
// asks crypto for one byte per character, 9–15 % of the writer's time in profiles: here the
// randomness comes from a pool filled 4 KiB at a time, and the time prefix is encoded once per
// millisecond. Each id is made as one flat string (a time prefix + suffix concatenation would be
// a cons string: more bytes while the record waits in the writer's queue, and flattened again
// when SQLite binds it).
import crypto from 'node:crypto';

const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const CODES = Array.from(ALPHABET, (c) => c.charCodeAt(0));
const POOL_BYTES = 4096;

/** A monotonic ULID factory; `now` is injectable for tests. */
export function ulidFactory(now: () => number = Date.now): () => string {
  const pool = Buffer.allocUnsafe(POOL_BYTES);
  let offset = POOL_BYTES;
  let lastMs = -1;
  // The time prefix's 10 character codes, encoded once per millisecond.
  const t = new Uint8Array(10);
  // The random part as 16 base32 digits (5 bits each), kept to increment in place.
  const digits = new Uint8Array(16);

  const fresh = (): void => {
    if (offset + 16 > POOL_BYTES) {
      crypto.randomFillSync(pool);
      offset = 0;
    }
    // One byte per digit, its low 5 bits: uniform, 80 bits in all.
    for (let i = 0; i < 16; i++) digits[i] = pool[offset + i]! & 31;
    offset += 16;
  };

  /** +1 on the random part; false on overflow (2^80 ids in one ms: never in practice). */
  const increment = (): boolean => {
    for (let i = 15; i >= 0; i--) {
      if (digits[i]! < 31) {
        digits[i]!++;
        return true;
      }
      digits[i] = 0;
    }
    return false;
  };

  return () => {
    let ms = now();
    if (ms <= lastMs) {
      // Same millisecond (or the clock stepped back): stay after the previous id.
      ms = lastMs;
      if (!increment()) throw new Error('ULID random part overflowed within one millisecond');
    } else {
      lastMs = ms;
      encodeTime(ms, t);
      fresh();
    }
    const d = digits;
    const c = CODES;
    // 26 arguments spelled out: no array per id.
    return String.fromCharCode(
      t[0]!,
      t[1]!,
      t[2]!,
      t[3]!,
      t[4]!,
      t[5]!,
      t[6]!,
      t[7]!,
      t[8]!,
      t[9]!,
      c[d[0]!]!,
      c[d[1]!]!,
      c[d[2]!]!,
      c[d[3]!]!,
      c[d[4]!]!,
      c[d[5]!]!,
      c[d[6]!]!,
      c[d[7]!]!,
      c[d[8]!]!,
      c[d[9]!]!,
      c[d[10]!]!,
      c[d[11]!]!,
      c[d[12]!]!,
      c[d[13]!]!,
      c[d[14]!]!,
      c[d[15]!]!,
    );
  };
}

/** Writes the 48-bit time's 10 base32 digits (most significant first) into `out` as character codes. */
function encodeTime(ms: number, out: Uint8Array): void {
  let t = ms;
  for (let i = 9; i >= 0; i--) {
    out[i] = CODES[t % 32]!;
    t = Math.floor(t / 32);
  }
}
