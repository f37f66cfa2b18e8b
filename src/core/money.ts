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

// ── Money for people ────────────────────────────────────────────────────────────────────────
// THE RULE (README "Money and percentages"): machines get the exact decimal (JSON, CSV, the
// XLSX exact column, a hover in the UI); people get the currency's minor unit (USD cents, JPY
// yen, KWD fils), rounded half-even. Where lines and a total are printed together, each line is
// rounded and the printed total is the sum of the printed lines; the exact total and the
// rounding difference are printed beneath, so a statement always adds up.

export interface Currency {
  /** ISO 4217 code, e.g. "USD". */
  readonly code: string;
  /** "$", "€", "CHF " — what precedes the amount. */
  readonly prefix: string;
  /** Minor-unit decimals: 2 for USD, 0 for JPY, 3 for KWD. */
  readonly decimals: number;
}

const CURRENCY_CODE = /^[A-Z]{3}$/;
// USD, the default, as Intl describes it: most commands print it, and a process's first Intl
// look-up costs ~10 ms of a command's start.
const currencies = new Map<string, Currency>([['USD', { code: 'USD', prefix: '$', decimals: 2 }]]);

/** Symbol and minor unit from the runtime's CLDR data (Intl), so every ISO code works. */
export function currencyOf(code = 'USD'): Currency {
  const known = currencies.get(code);
  if (known) return known;
  if (!CURRENCY_CODE.test(code)) throw new RangeError(`"${code}" is not a three-letter ISO 4217 code`);
  const f = new Intl.NumberFormat('en-US', { style: 'currency', currency: code });
  const symbol = f.formatToParts(1).find((p) => p.type === 'currency')?.value ?? code;
  const decimals = f.resolvedOptions().maximumFractionDigits ?? 2;
  // A letter code ("CHF", "CA$") reads better with a space before the digits.
  const c = { code, prefix: /^[A-Z]{2,}/.test(symbol) && !symbol.endsWith('$') ? `${symbol} ` : symbol, decimals };
  currencies.set(code, c);
  return c;
}

const SIGNED_DECIMAL = /^(-?)(\d+)(?:\.(\d{1,9}))?$/;

/** Exact nanos of a number of nanos or of a signed decimal string ("-1.082553048"). */
export function toNanos(amount: number | bigint | string): bigint {
  if (typeof amount === 'bigint') return amount;
  if (typeof amount === 'number') return BigInt(Math.round(amount));
  const m = SIGNED_DECIMAL.exec(amount.trim());
  if (!m) throw new RangeError(`"${amount}" is not a decimal with at most 9 fractional digits`);
  const n = BigInt(m[2]!) * NANOS_PER_UNIT + BigInt((m[3] ?? '').padEnd(9, '0'));
  return m[1] ? -n : n;
}

/** Nanos rounded half-even (banker's rounding) to `decimals` fraction digits, still in nanos. */
export function roundHalfEven(nanos: bigint, decimals: number): bigint {
  const step = 10n ** BigInt(9 - Math.min(9, Math.max(0, decimals)));
  const negative = nanos < 0n;
  const a = negative ? -nanos : nanos;
  let q = a / step;
  const r = a % step;
  if (r * 2n > step || (r * 2n === step && q % 2n === 1n)) q += 1n;
  const rounded = q * step;
  return negative ? -rounded : rounded;
}

function group(whole: string): string {
  return whole.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** An amount for people: "$1,234.57" (half-even to the minor unit), "-€0.10", "¥1,235". */
export function formatMoney(amount: number | bigint | string, currency: string | Currency = 'USD'): string {
  const c = typeof currency === 'string' ? currencyOf(currency) : currency;
  const n = roundHalfEven(toNanos(amount), c.decimals);
  const a = n < 0n ? -n : n;
  const whole = group((a / NANOS_PER_UNIT).toString());
  const frac = (a % NANOS_PER_UNIT).toString().padStart(9, '0').slice(0, c.decimals);
  return `${n < 0n ? '-' : ''}${c.prefix}${whole}${frac ? `.${frac}` : ''}`;
}

/**
 * A unit price for people, to its own precision: prices are often below the minor unit
 * ("$0.0001" per request), so they are never rounded, only padded to the minor unit.
 */
export function formatUnitPrice(price: number | bigint | string, currency: string | Currency = 'USD'): string {
  const c = typeof currency === 'string' ? currencyOf(currency) : currency;
  const exact = formatNanos(toNanos(price), c.decimals);
  const negative = exact.startsWith('-');
  const [whole, frac] = (negative ? exact.slice(1) : exact).split('.');
  return `${negative ? '-' : ''}${c.prefix}${group(whole!)}${frac ? `.${frac}` : ''}`;
}

export interface RoundedLines {
  /** Each line half-even to the minor unit, in nanos. */
  readonly lines: readonly bigint[];
  /** The sum of the rounded lines: the total people see. */
  readonly total: bigint;
  readonly exactTotal: bigint;
  /** total − exactTotal. */
  readonly difference: bigint;
}

/** Rounds each line and totals the rounded lines, so printed lines add up to the printed total. */
export function roundLines(amounts: ReadonlyArray<number | bigint | string>, currency: string | Currency = 'USD'): RoundedLines {
  const c = typeof currency === 'string' ? currencyOf(currency) : currency;
  const exact = amounts.map(toNanos);
  const lines = exact.map((n) => roundHalfEven(n, c.decimals));
  const total = lines.reduce((s, n) => s + n, 0n);
  const exactTotal = exact.reduce((s, n) => s + n, 0n);
  return { lines, total, exactTotal, difference: total - exactTotal };
}

/** The line printed beneath a rounded total: "exact total 78.359719783 (rounding +0.000280217)". */
export function roundingNote(r: RoundedLines, currency: string | Currency = 'USD'): string {
  const c = typeof currency === 'string' ? currencyOf(currency) : currency;
  const diff = formatNanos(r.difference, 0);
  return `exact total ${c.prefix}${formatNanos(r.exactTotal)} (rounding ${r.difference > 0n ? '+' : ''}${diff})`;
}

// ── Percentages for people ──────────────────────────────────────────────────────────────────
// THE RULE: a percentage is truncated toward zero at the digits shown (whole percent for quota
// use, one decimal for a change), so a threshold is never shown as reached before it is:
// 99.9 % of a quota reads "99 %", never "100 %". Exact ratios stay in JSON.

/** 0.7799 → "77%"; with decimals 1 and sign, 0.1234 → "+12.3%". */
export function formatPercent(ratio: number, o: { decimals?: number; sign?: boolean } = {}): string {
  const d = o.decimals ?? 0;
  const scale = 10 ** d;
  // Nudge by a tiny epsilon so 0.29 * 100 (28.999…) truncates to 29 as a person expects.
  const raw = ratio * 100 * scale;
  const t = Math.trunc(raw + (raw >= 0 ? 1e-9 : -1e-9)) / scale;
  const text = t.toFixed(d);
  const sign = o.sign && t > 0 ? '+' : '';
  return `${sign}${text === '-0' || /^-0\.0+$/.test(text) ? text.slice(1) : text}%`;
}
