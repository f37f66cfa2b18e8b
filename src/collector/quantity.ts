// Quantities at the collector: kept exactly, to 6 decimals of the base unit (the agents' own
// precision for fractional services), in both stores (PostgreSQL numeric, ClickHouse
// Decimal(38, 6)), so sums are exact past 2^53 and the two stores agree to the last digit.
export const QUANTITY_DECIMALS = 6;

const NUMBER = /^(\d+)(?:\.(\d+))?(?:e([+-]?\d+))?$/;
const SCALE = 10n ** BigInt(QUANTITY_DECIMALS);

/** A quantity (a finite double ≥ 0) as decimal text rounded half up to 6 decimals. */
export function quantityText(q: number): string {
  if (Number.isInteger(q)) return BigInt(q).toString(); // exact, however large
  const m = NUMBER.exec(String(q));
  if (!m) throw new RangeError(`quantity ${q} is not a number ≥ 0`);
  const digits = m[1]! + (m[2] ?? '');
  const exp = Number(m[3] ?? 0) - (m[2]?.length ?? 0); // value = digits × 10^exp
  const shift = exp + QUANTITY_DECIMALS; // value in millionths = digits × 10^shift
  let units: bigint;
  if (shift >= 0) units = BigInt(digits) * 10n ** BigInt(shift);
  else {
    const div = 10n ** BigInt(-shift);
    units = (BigInt(digits) + div / 2n) / div; // half up
  }
  return unitsText(units);
}

function unitsText(units: bigint): string {
  const whole = units / SCALE;
  let frac = (units % SCALE).toString().padStart(QUANTITY_DECIMALS, '0');
  while (frac.endsWith('0')) frac = frac.slice(0, -1);
  return frac ? `${whole}.${frac}` : `${whole}`;
}

/** A database's decimal text ("12.500000", "3") without trailing zeros: "12.5", "3". */
export function trimDecimal(text: string): string {
  if (!text.includes('.')) return text;
  const t = text.replace(/0+$/, '');
  return t.endsWith('.') ? t.slice(0, -1) : t;
}
