// Exact money. Amounts are integer nano-units (1e-9 of the currency): SQLite's SUM over
// INTEGER is exact, and a nano is fine enough that per-record storage costs do not vanish.
// Prices are decimal strings as the user wrote them ("0.0001"), at most 9 decimals.

export const NANOS_PER_UNIT = 1_000_000_000n;
const DECIMAL = /^(\d{1,12})(?:\.(\d{1,9}))?$/;

/** "0.0001" → 100000. Throws RangeError (the caller names the field) on anything else. */
export function parseDecimalToNanos(text: string): number {
  const m = DECIMAL.exec(text.trim());
  if (!m) throw new RangeError(`"${text}" is not a decimal with at most 12 integer and 9 fractional digits`);
  const whole = BigInt(m[1]!);
  const frac = BigInt((m[2] ?? '').padEnd(9, '0'));
  const nanos = whole * NANOS_PER_UNIT + frac;
  if (nanos > BigInt(Number.MAX_SAFE_INTEGER)) throw new RangeError(`"${text}" is too large`);
  return Number(nanos);
}

/** Same check without throwing, for schema validation. */
export function isDecimalString(text: string): boolean {
  return DECIMAL.test(text.trim());
}

/**
 * 100000000000 → "100.0000". At least `minDecimals` fraction digits, more only when the
 * amount has them (a storage cost of 16667 nanos prints as "0.000016667", not "0.0000").
 */
export function formatNanos(nanos: number | bigint, minDecimals = 4): string {
  let n = typeof nanos === 'bigint' ? nanos : BigInt(Math.round(nanos));
  const negative = n < 0n;
  if (negative) n = -n;
  const whole = n / NANOS_PER_UNIT;
  let frac = (n % NANOS_PER_UNIT).toString().padStart(9, '0');
  while (frac.length > minDecimals && frac.endsWith('0')) frac = frac.slice(0, -1);
  const body = frac.length > 0 ? `${whole}.${frac}` : `${whole}`;
  return negative ? `-${body}` : body;
}

/** Sum nano amounts exactly, whatever their count (BigInt once past 2^53). */
export function sumNanos(values: Iterable<number | bigint>): bigint {
  let total = 0n;
  for (const v of values) total += typeof v === 'bigint' ? v : BigInt(v);
  return total;
}
