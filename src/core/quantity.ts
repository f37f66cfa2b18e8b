// Exact quantities. A record's quantity is stored as an integer count of "units": the service's
// base unit for whole-number services (bytes, byte-seconds, requests, tokens), and millionths
// of it for fractional ones (compute: CPU-seconds kept as CPU microseconds; custom units with
// decimals). One record always fits in a signed 64-bit integer; sums may not (a 10 PB volume
// held for a 31-day month is 2.7e22 byte-seconds, 2^63 is 9.2e18), so sums are BigInt in
// TypeScript and two 64-bit limbs in SQLite (see joinLimbs).
import type { ServiceDefinition } from './services';

/** Decimals kept for services whose quantity may be fractional. */
export const FRACTION_DIGITS = 6;
/** The largest quantity one record may carry, in units (SQLite's INTEGER). */
export const MAX_UNITS = 2n ** 63n - 1n;
/** Rollup sums are hi × 2^32 + lo with 0 ≤ lo < 2^32: each limb sums in SQLite without overflow. */
export const LIMB = 2n ** 32n;
const LIMB_MASK = LIMB - 1n;

/** How many decimals of the base unit a stored unit is (0 or FRACTION_DIGITS). */
export function decimalsOf(service: Pick<ServiceDefinition, 'integerOnly'>): number {
  return service.integerOnly ? 0 : FRACTION_DIGITS;
}

const SCALE = [1n, 10n, 100n, 1000n, 10_000n, 100_000n, 1_000_000n];
/** Three exponent digits at most: "1e999999999" would otherwise pad a billion zeros. */
const DECIMAL = /^(\d+)(?:\.(\d*))?(?:[eE]([+-]?\d{1,3}))?$/;
/** Longer decimal text than any quantity needs (2^63 has 19 digits, plus 6 decimals) is refused unparsed. */
const MAX_DECIMAL_LENGTH = 100;

/**
 * A base quantity (JSON number or decimal string) → units. Fractional digits beyond `decimals`
 * are rounded half up (below a microsecond of CPU: noise); a whole-number service refuses any.
 * Throws RangeError with the problem; the caller names the field.
 */
export function toUnits(value: number | string, decimals: number): bigint {
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new RangeError('must be finite');
    if (value < 0) throw new RangeError('must be ≥ 0');
    // The common case: a whole number a double holds exactly.
    if (Number.isInteger(value) && value <= Number.MAX_SAFE_INTEGER)
      return decimals === 0 ? BigInt(value) : BigInt(value) * SCALE[decimals]!;
    if (Number.isInteger(value)) throw new RangeError('is past 2^53, where a JSON number is not exact: send it as a decimal string');
    return parseUnits(String(value), decimals);
  }
  const text = value.trim();
  if (text.startsWith('-')) throw new RangeError('must be ≥ 0');
  if (text.length > MAX_DECIMAL_LENGTH) throw new RangeError(`must be a decimal string of at most ${MAX_DECIMAL_LENGTH} characters`);
  return parseUnits(text, decimals);
}

function parseUnits(text: string, decimals: number): bigint {
  const m = DECIMAL.exec(text);
  if (!m) throw new RangeError('must be a number or a decimal string such as "12.5"');
  let digits = m[1]! + (m[2] ?? '');
  // Position of the decimal point counted from the left of `digits`.
  let point = m[1]!.length + Number(m[3] ?? 0);
  if (point < 0) {
    digits = '0'.repeat(-point) + digits;
    point = 0;
  }
  if (point > digits.length) digits = digits.padEnd(point, '0');
  const whole = digits.slice(0, point) || '0';
  const frac = digits.slice(point);
  if (decimals === 0 && /[1-9]/.test(frac)) throw new RangeError('must be a whole number');
  let units = BigInt(whole) * SCALE[decimals]! + BigInt(frac.slice(0, decimals).padEnd(decimals, '0') || '0');
  if (frac.length > decimals && frac.charCodeAt(decimals) >= 53 /* '5' */) units += 1n;
  if (units > MAX_UNITS) throw new RangeError('is too large for one record (split it)');
  return units;
}

/** Units → the exact base quantity as decimal text: 1500000n, 6 → "1.5". */
export function formatUnits(units: bigint | number, decimals: number): string {
  const u = typeof units === 'bigint' ? units : BigInt(units);
  if (decimals === 0) return u.toString();
  const negative = u < 0n;
  const abs = negative ? -u : u;
  const scale = SCALE[decimals]!;
  let frac = (abs % scale).toString().padStart(decimals, '0');
  while (frac.endsWith('0')) frac = frac.slice(0, -1);
  const body = frac ? `${abs / scale}.${frac}` : `${abs / scale}`;
  return negative ? `-${body}` : body;
}

/** Units → the base quantity as a double, for display and ratios (not for sums). */
export function unitsToNumber(units: bigint | number, decimals: number): number {
  return Number(units) / Number(SCALE[decimals]!);
}

/** A base quantity as a double (quota limits, display values) → units, rounded. */
export function numberToUnits(base: number, decimals: number): bigint {
  return BigInt(Math.round(base * Number(SCALE[decimals]!)));
}

/** Splits a sum into the rollup limbs [hi, lo]. */
export function splitLimbs(sum: bigint): [bigint, bigint] {
  return [sum >> 32n, sum & LIMB_MASK];
}

/**
 * Joins limb sums read from SQLite (numbers, bigints or decimal text from CAST(… AS TEXT)).
 * Sums of many rows' limbs need not be normalised: hi × 2^32 + lo is exact either way.
 */
export function joinLimbs(hi: bigint | number | string | null | undefined, lo: bigint | number | string | null | undefined): bigint {
  return BigInt(hi ?? 0) * LIMB + BigInt(lo ?? 0);
}
