// Pricing as a cumulative charge function. For the month-to-date quantity x of one customer ×
// service, F(x) is what the month has cost so far (integer nanos). A record of quantity q
// arriving at month-to-date x costs F(x + q) − F(x). The differences telescope, so the sum of
// a month's record costs is exactly F(total): graduated tiers and packages come out right
// record by record, and tiny storage samples do not each round to zero. Volume tiers telescope
// too, though a record that lifts the total into a cheaper tier costs less than nothing.
// Percentage and per-dimension prices depend on each event's metadata: they price per event.
import { invalid } from './errors';
import { parseDecimalToNanos } from './money';

export type PriceModel = 'per_unit' | 'tiered' | 'volume' | 'package' | 'percentage' | 'dimension';
export const PRICE_MODELS: readonly PriceModel[] = ['per_unit', 'tiered', 'volume', 'package', 'percentage', 'dimension'];

export interface Tier {
  /** Upper bound of this tier in display units (inclusive); null = no bound. */
  readonly upTo: number | null;
  /** Decimal price per display unit inside this tier. */
  readonly unitPrice: string;
  /** Decimal fee charged once when usage enters this tier (volume: when the total is in it). */
  readonly flatFee?: string;
}

/** A share of an amount carried in each event's metadata (card payments: 2.9 % of `amount` + 0.30). */
export interface PercentageSpec {
  readonly model: 'percentage';
  /** Decimal percent of the amount, e.g. "2.9". */
  readonly rate: string;
  /** Metadata key holding the event's amount (a decimal number or string ≥ 0). */
  readonly amountField: string;
  /** Decimal fee added to every event. */
  readonly fixedFee?: string;
  /** Decimal bounds of one event's charge (rate × amount + fixed fee). */
  readonly minPerEvent?: string;
  readonly maxPerEvent?: string;
}

/** A price per display unit for each value of one metadata field (per `model`, per `region`). */
export interface DimensionSpec {
  readonly model: 'dimension';
  readonly field: string;
  readonly rates: Readonly<Record<string, string>>;
  /** Rate for values not listed; absent = such events are refused at ingestion, naming the field. */
  readonly defaultRate?: string;
}

export type PriceSpec =
  | { readonly model: 'per_unit'; readonly unitPrice: string }
  | { readonly model: 'tiered'; readonly tiers: readonly Tier[] }
  | { readonly model: 'volume'; readonly tiers: readonly Tier[] }
  | { readonly model: 'package'; readonly packageSize: number; readonly packagePrice: string }
  | PercentageSpec
  | DimensionSpec;

export interface PriceRule {
  readonly id: number;
  readonly service: string;
  /** ms since epoch: the rule applies to records recorded at or after this instant. */
  readonly effectiveFrom: number;
  readonly spec: PriceSpec;
  /** Decimal minimum charge per month, applied on the statement. */
  readonly minimumCharge: string | null;
}

/** One event's own charge, for models priced per event rather than on the month-to-date total. */
export interface EventCharge {
  readonly cost: number;
  readonly unitPrice: string;
}

/** A rule compiled for the hot path: integer nanos and plain numbers only. */
export interface CompiledPrice {
  readonly rule: PriceRule | null;
  /** Cumulative charge in nanos for a month-to-date quantity in base units. */
  readonly charge: (baseQuantity: number) => number;
  /** The price text stored on a record charged at this month-to-date quantity. */
  readonly unitPriceAt: (baseQuantity: number) => string;
  /**
   * Present for percentage and per-dimension prices: the event is priced on its own metadata,
   * not on the month's total. Throws RangeError naming the metadata key when it cannot be priced.
   */
  readonly perEvent?: (baseQuantity: number, metadata: Readonly<Record<string, unknown>>) => EventCharge;
}

export const FREE: CompiledPrice = { rule: null, charge: () => 0, unitPriceAt: () => '0' };

const METADATA_KEY = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

/** Validates a spec; throws RangeError naming the part that is wrong. */
export function checkPriceSpec(spec: PriceSpec): void {
  if (typeof spec !== 'object' || spec === null) throw new RangeError('must be an object with a model');
  switch (spec.model) {
    case 'per_unit':
      decimal('unitPrice', spec.unitPrice);
      return;
    case 'package':
      if (!(Number.isFinite(spec.packageSize) && spec.packageSize > 0)) throw new RangeError('packageSize must be > 0');
      decimal('packagePrice', spec.packagePrice);
      return;
    case 'tiered':
    case 'volume':
      checkTiers(spec.tiers);
      return;
    case 'percentage':
      checkPercentage(spec);
      return;
    case 'dimension':
      checkDimension(spec);
      return;
    default:
      throw new RangeError(`model must be one of ${PRICE_MODELS.join(', ')}`);
  }
}

function decimal(part: string, text: unknown): number {
  if (typeof text !== 'string') throw new RangeError(`${part} must be a decimal string`);
  try {
    return parseDecimalToNanos(text);
  } catch (err) {
    throw new RangeError(`${part}: ${(err as Error).message}`);
  }
}

function checkTiers(tiers: readonly Tier[]): void {
  if (!Array.isArray(tiers) || tiers.length === 0) throw new RangeError('tiers must be a non-empty list');
  let previous = 0;
  tiers.forEach((tier, i) => {
    decimal(`tiers[${i}].unitPrice`, tier.unitPrice);
    if (tier.flatFee !== undefined) decimal(`tiers[${i}].flatFee`, tier.flatFee);
    const last = i === tiers.length - 1;
    if (tier.upTo === null) {
      if (!last) throw new RangeError(`tiers[${i}].upTo may be open only on the last tier`);
    } else if (!(typeof tier.upTo === 'number' && tier.upTo > previous)) {
      throw new RangeError(`tiers[${i}].upTo must be greater than the tier before it`);
    } else {
      previous = tier.upTo;
    }
    if (last && tier.upTo !== null) throw new RangeError(`tiers[${i}].upTo: the last tier must be open (null)`);
  });
}

function checkPercentage(spec: PercentageSpec): void {
  if (decimal('rate', spec.rate) > 100 * 1e9) throw new RangeError('rate must be a percent between 0 and 100');
  if (typeof spec.amountField !== 'string' || !METADATA_KEY.test(spec.amountField))
    throw new RangeError('amountField must be a metadata key (letters, digits, _)');
  if (spec.fixedFee !== undefined) decimal('fixedFee', spec.fixedFee);
  const min = spec.minPerEvent === undefined ? 0 : decimal('minPerEvent', spec.minPerEvent);
  const max = spec.maxPerEvent === undefined ? Infinity : decimal('maxPerEvent', spec.maxPerEvent);
  if (min > max) throw new RangeError('minPerEvent must not exceed maxPerEvent');
}

function checkDimension(spec: DimensionSpec): void {
  if (typeof spec.field !== 'string' || !METADATA_KEY.test(spec.field))
    throw new RangeError('field must be a metadata key (letters, digits, _)');
  if (typeof spec.rates !== 'object' || spec.rates === null || Array.isArray(spec.rates))
    throw new RangeError('rates must be an object of value → decimal price');
  const values = Object.keys(spec.rates);
  if (values.length === 0 && spec.defaultRate === undefined)
    throw new RangeError('rates must name at least one value, or give a defaultRate');
  for (const v of values) decimal(`rates.${v}`, spec.rates[v]);
  if (spec.defaultRate !== undefined) decimal('defaultRate', spec.defaultRate);
}

/**
 * round-half-even(x × nanosPerDisplay / factor): a price per display unit applied to a base
 * quantity, exact for whole quantities and factors (BigInt once the product passes 2^53).
 */
export function scaleNanos(x: number, nanosPerDisplay: number, factor: number): number {
  if (!Number.isInteger(x) || !Number.isInteger(factor)) return Math.round((x * nanosPerDisplay) / factor);
  const n = x * nanosPerDisplay;
  if (Number.isSafeInteger(n)) {
    let q = Math.floor(n / factor);
    let r = n - q * factor;
    if (r < 0) {
      q -= 1;
      r += factor;
    } else if (r >= factor) {
      q += 1;
      r -= factor;
    }
    return 2 * r > factor || (2 * r === factor && q % 2 !== 0) ? q + 1 : q;
  }
  return Number(divHalfEven(BigInt(x) * BigInt(nanosPerDisplay), BigInt(factor)));
}

/** round-half-even(n / d) for n ≥ 0, d > 0. */
export function divHalfEven(n: bigint, d: bigint): bigint {
  const q = n / d;
  const r2 = 2n * (n % d);
  return r2 > d || (r2 === d && q % 2n === 1n) ? q + 1n : q;
}

interface CompiledTier {
  readonly lower: number;
  readonly upper: number;
  readonly nanos: number;
  readonly flatNanos: number;
  readonly text: string;
}

function compileTiers(tiers: readonly Tier[], displayFactor: number): CompiledTier[] {
  let lower = 0;
  return tiers.map((t) => {
    const tier = {
      lower,
      upper: t.upTo === null ? Infinity : t.upTo * displayFactor,
      nanos: parseDecimalToNanos(t.unitPrice),
      flatNanos: t.flatFee === undefined ? 0 : parseDecimalToNanos(t.flatFee),
      text: t.unitPrice,
    };
    lower = tier.upper;
    return tier;
  });
}

/** Graduated: each unit at the price of the tier it falls in; one rounding for the whole sum. */
function graduated(tiers: readonly CompiledTier[], displayFactor: number): (x: number) => number {
  return (x) => {
    let units = 0n;
    let flat = 0;
    let fast = 0;
    let exact = Number.isInteger(x);
    for (const t of tiers) {
      if (x <= t.lower) break; // usage has not entered this tier
      const inTier = Math.min(x, t.upper) - t.lower;
      flat += t.flatNanos;
      fast += inTier * t.nanos;
      if (exact && Number.isInteger(inTier)) units += BigInt(inTier) * BigInt(t.nanos);
      else exact = false;
      if (x <= t.upper) break;
    }
    if (!exact || !Number.isInteger(displayFactor)) return Math.round(fast / displayFactor) + flat;
    return Number(divHalfEven(units, BigInt(displayFactor))) + flat;
  };
}

/** Volume: every unit at the price of the tier the total reaches, plus that tier's flat fee. */
function volume(tiers: readonly CompiledTier[], displayFactor: number): (x: number) => number {
  return (x) => {
    if (x <= 0) return 0;
    const t = tiers.find((tier) => x <= tier.upper) ?? tiers[tiers.length - 1]!;
    return scaleNanos(x, t.nanos, displayFactor) + t.flatNanos;
  };
}

/** Compile a rule for a service whose display unit is `displayFactor` base units. */
export function compilePrice(rule: PriceRule | null, displayFactor: number): CompiledPrice {
  if (rule === null) return FREE;
  const spec = rule.spec;
  switch (spec.model) {
    case 'per_unit': {
      const nanos = parseDecimalToNanos(spec.unitPrice);
      return { rule, charge: (x) => scaleNanos(x, nanos, displayFactor), unitPriceAt: () => spec.unitPrice };
    }
    case 'package': {
      const priceNanos = parseDecimalToNanos(spec.packagePrice);
      const sizeBase = spec.packageSize * displayFactor;
      const text = `${spec.packagePrice}/${spec.packageSize}`;
      // A package is bought as soon as usage enters it; the 1e-9 guards float noise at exact multiples.
      return { rule, charge: (x) => (x <= 0 ? 0 : Math.ceil(x / sizeBase - 1e-9) * priceNanos), unitPriceAt: () => text };
    }
    case 'tiered':
    case 'volume': {
      const tiers = compileTiers(spec.tiers, displayFactor);
      const charge = spec.model === 'tiered' ? graduated(tiers, displayFactor) : volume(tiers, displayFactor);
      const unitPriceAt = (x: number): string => (tiers.find((t) => x <= t.upper) ?? tiers[tiers.length - 1]!).text;
      return { rule, charge, unitPriceAt };
    }
    case 'percentage':
      return { rule, charge: () => 0, unitPriceAt: () => `${spec.rate}%`, perEvent: percentageCharge(spec) };
    case 'dimension':
      return { rule, charge: () => 0, unitPriceAt: () => spec.defaultRate ?? '0', perEvent: dimensionCharge(spec, displayFactor) };
  }
}

/** rate % × amount + fixed fee, bounded per event; exact in BigInt, half-even at the nano. */
function percentageCharge(spec: PercentageSpec): NonNullable<CompiledPrice['perEvent']> {
  const rate = BigInt(parseDecimalToNanos(spec.rate)); // percent in nanos
  const fixed = spec.fixedFee === undefined ? 0 : parseDecimalToNanos(spec.fixedFee);
  const min = spec.minPerEvent === undefined ? 0 : parseDecimalToNanos(spec.minPerEvent);
  const max = spec.maxPerEvent === undefined ? Infinity : parseDecimalToNanos(spec.maxPerEvent);
  const text = spec.fixedFee === undefined ? `${spec.rate}%` : `${spec.rate}% + ${spec.fixedFee}`;
  return (_q, metadata) => {
    const amount = metadataAmount(metadata[spec.amountField], spec.amountField);
    const share = Number(divHalfEven(BigInt(amount) * rate, 100n * 1_000_000_000n));
    return { cost: Math.min(max, Math.max(min, share + fixed)), unitPrice: text };
  };
}

function metadataAmount(value: unknown, field: string): number {
  const text = typeof value === 'number' && Number.isFinite(value) ? String(value) : value;
  if (typeof text !== 'string') throw new RangeError(`metadata.${field}: must be an amount (a decimal number ≥ 0) for percentage pricing`);
  try {
    return parseDecimalToNanos(text);
  } catch {
    throw new RangeError(`metadata.${field}: "${text.slice(0, 40)}" must be a decimal amount ≥ 0 with at most 9 decimals`);
  }
}

/** The rate of the event's value of `field`, or the default, or a refusal naming the field. */
function dimensionCharge(spec: DimensionSpec, displayFactor: number): NonNullable<CompiledPrice['perEvent']> {
  const rates = new Map(Object.entries(spec.rates).map(([v, p]) => [v, { nanos: parseDecimalToNanos(p), text: p }]));
  const fallback = spec.defaultRate === undefined ? null : { nanos: parseDecimalToNanos(spec.defaultRate), text: spec.defaultRate };
  return (q, metadata) => {
    const value = metadata[spec.field];
    const rate = (typeof value === 'string' || typeof value === 'number' ? rates.get(String(value)) : undefined) ?? fallback;
    if (rate === null) {
      const known = [...rates.keys()].slice(0, 10).join(', ');
      throw new RangeError(`metadata.${spec.field}: no price for "${String(value).slice(0, 64)}" (priced: ${known})`);
    }
    return { cost: scaleNanos(q, rate.nanos, displayFactor), unitPrice: rate.text };
  };
}

/**
 * A record's own charge under a percentage or per-dimension price, or null when its price
 * telescopes on the month's total. Throws invalid(...) naming the metadata key (under `path`).
 */
export function chargeEvent(price: CompiledPrice, quantity: number, metadataJson: string, path = ''): EventCharge | null {
  if (price.perEvent === undefined) return null;
  try {
    return price.perEvent(quantity, JSON.parse(metadataJson) as Record<string, unknown>);
  } catch (err) {
    const m = err instanceof RangeError ? /^([^:]+): ([\s\S]*)$/.exec(err.message) : null;
    if (!m) throw err;
    throw invalid(path ? `${path}.${m[1]}` : m[1]!, m[2]!);
  }
}

/** How a rule prices, in words: "0.0001 per requests", "volume (4 tiers)", "2.9% of amount + 0.30". */
export function describePrice(spec: PriceSpec | undefined, unit: string): string {
  if (!spec) return 'free';
  switch (spec.model) {
    case 'per_unit':
      return `${spec.unitPrice} per ${unit}`;
    case 'package':
      return `${spec.packagePrice} per ${spec.packageSize} ${unit}`;
    case 'tiered':
      return `tiered (${spec.tiers.length} tiers)`;
    case 'volume':
      return `volume (${spec.tiers.length} tiers)`;
    case 'percentage': {
      const bounds = [spec.minPerEvent && `min ${spec.minPerEvent}`, spec.maxPerEvent && `max ${spec.maxPerEvent}`].filter(Boolean);
      const fee = spec.fixedFee ? ` + ${spec.fixedFee} per event` : '';
      return `${spec.rate}% of ${spec.amountField}${fee}${bounds.length ? ` (${bounds.join(', ')} per event)` : ''}`;
    }
    case 'dimension': {
      const n = Object.keys(spec.rates).length;
      return `per ${spec.field} (${n} rates, ${spec.defaultRate === undefined ? 'others refused' : `others ${spec.defaultRate}`}) per ${unit}`;
    }
  }
}

/** The rule in force at `at` from a list sorted by effectiveFrom ascending. */
export function ruleInForce<R extends { effectiveFrom: number }>(sortedRules: readonly R[], at: number): R | null {
  let found: R | null = null;
  for (const r of sortedRules) {
    if (r.effectiveFrom <= at) found = r;
    else break;
  }
  return found;
}

/** Minimum-charge top-up for a month whose records cost `costNanos`. */
export function minimumChargeTopUp(rule: Pick<PriceRule, 'minimumCharge'> | null, costNanos: number): number {
  if (rule?.minimumCharge == null) return 0;
  return Math.max(0, parseDecimalToNanos(rule.minimumCharge) - costNanos);
}
