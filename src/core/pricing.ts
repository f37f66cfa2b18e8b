// Pricing as a cumulative charge function. For the month-to-date quantity x of one customer ×
// service, F(x) is what the month has cost so far (integer nanos). A record of quantity q
// arriving at month-to-date x costs F(x + q) − F(x). The differences telescope, so the sum of
// a month's record costs is exactly F(total): graduated tiers and packages come out right
// record by record, and tiny storage samples do not each round to zero.
import { parseDecimalToNanos } from './money';

export type PriceModel = 'per_unit' | 'tiered' | 'package';

export interface Tier {
  /** Upper bound of this tier in display units (inclusive); null = no bound. */
  readonly upTo: number | null;
  /** Decimal price per display unit inside this tier. */
  readonly unitPrice: string;
  /** Decimal fee charged once when usage enters this tier. */
  readonly flatFee?: string;
}

export type PriceSpec =
  | { readonly model: 'per_unit'; readonly unitPrice: string }
  | { readonly model: 'tiered'; readonly tiers: readonly Tier[] }
  | { readonly model: 'package'; readonly packageSize: number; readonly packagePrice: string };

export interface PriceRule {
  readonly id: number;
  readonly service: string;
  /** ms since epoch: the rule applies to records recorded at or after this instant. */
  readonly effectiveFrom: number;
  readonly spec: PriceSpec;
  /** Decimal minimum charge per month, applied on the statement. */
  readonly minimumCharge: string | null;
}

/** A rule compiled for the hot path: integer nanos and plain numbers only. */
export interface CompiledPrice {
  readonly rule: PriceRule | null;
  /** Cumulative charge in nanos for a month-to-date quantity in base units. */
  readonly charge: (baseQuantity: number) => number;
  /** The price text stored on a record charged at this month-to-date quantity. */
  readonly unitPriceAt: (baseQuantity: number) => string;
}

export const FREE: CompiledPrice = { rule: null, charge: () => 0, unitPriceAt: () => '0' };

/** Validates a spec; throws RangeError naming the part that is wrong. */
export function checkPriceSpec(spec: PriceSpec): void {
  if (typeof spec !== 'object' || spec === null) throw new RangeError('must be an object with a model');
  switch (spec.model) {
    case 'per_unit':
      parseDecimalToNanos(spec.unitPrice);
      return;
    case 'package':
      if (!(Number.isFinite(spec.packageSize) && spec.packageSize > 0)) throw new RangeError('packageSize must be > 0');
      parseDecimalToNanos(spec.packagePrice);
      return;
    case 'tiered': {
      if (!Array.isArray(spec.tiers) || spec.tiers.length === 0) throw new RangeError('tiers must be a non-empty list');
      let previous = 0;
      spec.tiers.forEach((tier, i) => {
        parseDecimalToNanos(tier.unitPrice);
        if (tier.flatFee !== undefined) parseDecimalToNanos(tier.flatFee);
        const last = i === spec.tiers.length - 1;
        if (tier.upTo === null) {
          if (!last) throw new RangeError(`tiers[${i}].upTo may be open only on the last tier`);
        } else if (!(tier.upTo > previous)) {
          throw new RangeError(`tiers[${i}].upTo must be greater than the tier before it`);
        } else {
          previous = tier.upTo;
        }
        if (last && tier.upTo !== null) throw new RangeError(`tiers[${i}].upTo: the last tier must be open (null)`);
      });
      return;
    }
    default:
      throw new RangeError(`model must be per_unit, tiered or package`);
  }
}

/** Compile a rule for a service whose display unit is `displayFactor` base units. */
export function compilePrice(rule: PriceRule | null, displayFactor: number): CompiledPrice {
  if (rule === null) return FREE;
  const spec = rule.spec;
  switch (spec.model) {
    case 'per_unit': {
      const nanosPerBase = parseDecimalToNanos(spec.unitPrice) / displayFactor;
      return { rule, charge: (x) => Math.round(x * nanosPerBase), unitPriceAt: () => spec.unitPrice };
    }
    case 'package': {
      const priceNanos = parseDecimalToNanos(spec.packagePrice);
      const sizeBase = spec.packageSize * displayFactor;
      const text = `${spec.packagePrice}/${spec.packageSize}`;
      // A package is bought as soon as usage enters it; the 1e-9 guards float noise at exact multiples.
      return { rule, charge: (x) => (x <= 0 ? 0 : Math.ceil(x / sizeBase - 1e-9) * priceNanos), unitPriceAt: () => text };
    }
    case 'tiered': {
      let lower = 0;
      const tiers = spec.tiers.map((t) => {
        const tier = {
          lower,
          upper: t.upTo === null ? Infinity : t.upTo * displayFactor,
          nanosPerBase: parseDecimalToNanos(t.unitPrice) / displayFactor,
          flatNanos: t.flatFee === undefined ? 0 : parseDecimalToNanos(t.flatFee),
          text: t.unitPrice,
        };
        lower = tier.upper;
        return tier;
      });
      const charge = (x: number): number => {
        let total = 0;
        for (const t of tiers) {
          if (x <= t.lower) break; // usage has not entered this tier
          total += (Math.min(x, t.upper) - t.lower) * t.nanosPerBase + t.flatNanos;
          if (x <= t.upper) break;
        }
        return Math.round(total);
      };
      const unitPriceAt = (x: number): string => (tiers.find((t) => x <= t.upper) ?? tiers[tiers.length - 1]!).text;
      return { rule, charge, unitPriceAt };
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
