// Prepaid credits, pure. A grant is drawn down by monthly statements: each month's amount due
// takes from the grants that cover the month, by priority (lower number first, as Stripe's
// credit grants), then the earliest expiry (never-expiring last), then the oldest grant. All
// amounts are integer nanos in BigInt, so a balance is exact however long it runs.
import { parseDecimalToNanos } from './money';

export interface CreditGrant {
  readonly id: number;
  readonly customerId: string;
  readonly amountNanos: bigint;
  /** 0–100, lower is drawn first (default 50). */
  readonly priority: number;
  /** ms: the grant covers months that end after this instant. */
  readonly effectiveAt: number;
  /** ms: the grant covers months that start before this instant; null = never expires. */
  readonly expiresAt: number | null;
  readonly note: string | null;
  readonly createdAt: number;
  readonly voidedAt: number | null;
  readonly voidReason: string | null;
}

/** One month's charges for one customer, before credits. */
export interface MonthCharge {
  readonly monthStart: number;
  readonly monthEnd: number;
  readonly chargeNanos: bigint;
}

export interface Draw {
  readonly grantId: number;
  readonly amountNanos: bigint;
}

export interface MonthCredits {
  readonly monthStart: number;
  readonly chargeNanos: bigint;
  readonly appliedNanos: bigint;
  readonly dueNanos: bigint;
  readonly draws: readonly Draw[];
}

export interface DrawDown {
  readonly months: readonly MonthCredits[];
  /** What is left of each grant after every month given. */
  readonly remaining: ReadonlyMap<number, bigint>;
}

/** Priority, then earliest expiry (none last), then the oldest grant. */
export function drawOrder(a: CreditGrant, b: CreditGrant): number {
  if (a.priority !== b.priority) return a.priority - b.priority;
  const ea = a.expiresAt ?? Infinity;
  const eb = b.expiresAt ?? Infinity;
  if (ea !== eb) return ea < eb ? -1 : 1;
  return a.id - b.id;
}

export function covers(g: CreditGrant, month: { monthStart: number; monthEnd: number }): boolean {
  return g.voidedAt === null && g.effectiveAt < month.monthEnd && (g.expiresAt === null || g.expiresAt > month.monthStart);
}

/** Applies grants to months in time order. Months must be ascending; a void grant takes no part. */
export function drawDown(grants: readonly CreditGrant[], months: readonly MonthCharge[]): DrawDown {
  const ordered = [...grants].sort(drawOrder);
  const remaining = new Map(ordered.map((g) => [g.id, g.voidedAt === null ? g.amountNanos : 0n]));
  const out: MonthCredits[] = [];
  for (const m of months) {
    let due = m.chargeNanos > 0n ? m.chargeNanos : 0n;
    const draws: Draw[] = [];
    for (const g of ordered) {
      if (due === 0n) break;
      const left = remaining.get(g.id)!;
      if (left === 0n || !covers(g, m)) continue;
      const take = left < due ? left : due;
      remaining.set(g.id, left - take);
      due -= take;
      draws.push({ grantId: g.id, amountNanos: take });
    }
    const applied = draws.reduce((s, d) => s + d.amountNanos, 0n);
    out.push({ monthStart: m.monthStart, chargeNanos: m.chargeNanos, appliedNanos: applied, dueNanos: m.chargeNanos - applied, draws });
  }
  return { months: out, remaining };
}

/** A balance alert threshold: "25%" of what is granted, or an amount such as "0" or "10.50". */
export type Threshold = { readonly text: string; readonly percent: number } | { readonly text: string; readonly nanos: number };

export function parseThreshold(text: string): Threshold {
  const t = text.trim();
  const pct = /^(\d{1,3}(?:\.\d{1,4})?)%$/.exec(t);
  if (pct) {
    const percent = Number(pct[1]);
    if (percent > 100) throw new RangeError(`"${t}" must be a percent from 0% to 100%`);
    return { text: t, percent };
  }
  return { text: t, nanos: parseDecimalToNanos(t) };
}

/** The balance at or below which a threshold fires, for a customer granted `grantedNanos`. */
export function thresholdNanos(th: Threshold, grantedNanos: bigint): bigint {
  if ('nanos' in th) return BigInt(th.nanos);
  // Percent with up to 4 decimals: exact in integers (floor: the alert is never early).
  return (grantedNanos * BigInt(Math.round(th.percent * 10_000))) / 1_000_000n;
}
