// Credits on statements and the live balance. Grants are drawn down month by month, from the
// first month any grant covers up to the month asked, each month's charge being what its statement
// billed before credits (minimum charges and adjustment lines included). The charge of a month
// comes from the caller (closing.ts: billedChargeOf), which keeps this module free of a cycle.
import type { Kysely } from 'kysely';
import type { Database } from '../storage/schema';
import { covers, drawDown, type CreditGrant, type MonthCharge, type MonthCredits } from '../core/credits';
import { formatNanos } from '../core/money';
import { monthStart, nextMonthStart } from '../core/time';
import { customersWithGrants, listGrants } from '../storage/repos/credits';

/** A month's statement total before credits for one customer, in nanos. */
export type ChargeOf = (customerId: string, monthStart: number) => Promise<bigint>;

export interface CustomerCredits {
  readonly customerId: string;
  readonly charges: string;
  readonly creditsApplied: string;
  readonly amountDue: string;
  readonly draws: ReadonlyArray<{ readonly grantId: number; readonly amount: string }>;
}

/** YYYY-MM of a UTC month start. */
export function monthKey(ms: number): string {
  return new Date(ms).toISOString().slice(0, 7);
}

async function history(grants: readonly CreditGrant[], customerId: string, upTo: number, chargeOf: ChargeOf): Promise<MonthCharge[]> {
  const months: MonthCharge[] = [];
  if (grants.length === 0) return months;
  const first = monthStart(Math.min(...grants.map((g) => g.effectiveAt)));
  for (let m = first; m < upTo; m = nextMonthStart(m)) {
    months.push({ monthStart: m, monthEnd: nextMonthStart(m), chargeNanos: await chargeOf(customerId, m) });
  }
  return months;
}

/** The credits one customer's statement for the month starting `from` applies. */
export async function creditsForMonth(
  db: Kysely<Database>,
  customerId: string,
  from: number,
  chargeNanos: bigint,
  chargeOf: ChargeOf,
): Promise<MonthCredits> {
  const grants = await listGrants(db, { customerId });
  const months = await history(grants, customerId, from, chargeOf);
  months.push({ monthStart: from, monthEnd: nextMonthStart(from), chargeNanos });
  return drawDown(grants, months).months.at(-1)!;
}

export function describeCredits(customerId: string, m: MonthCredits): CustomerCredits {
  return {
    customerId,
    charges: formatNanos(m.chargeNanos),
    creditsApplied: formatNanos(m.appliedNanos),
    amountDue: formatNanos(m.dueNanos),
    draws: m.draws.map((d) => ({ grantId: d.grantId, amount: formatNanos(d.amountNanos) })),
  };
}

export interface GrantBalance {
  readonly id: number;
  readonly amount: string;
  readonly used: string;
  readonly remaining: string;
  readonly priority: number;
  readonly effectiveAt: string;
  readonly expiresAt: string | null;
  readonly note: string | null;
  /**
   * For this month's statement, which draws every grant that covers the month (whole months,
   * core/credits.ts): active (can still be drawn) or used up; expired (covers no month from this
   * one on), voided, or scheduled (covers only later months).
   */
  readonly status: 'active' | 'expired' | 'voided' | 'used' | 'scheduled';
}

export interface CreditBalance {
  readonly customerId: string;
  readonly at: string;
  /** Sum of the grants that are active or used up now (what percent thresholds are of). */
  readonly granted: string;
  readonly grantedNanos: string;
  readonly used: string;
  /** What is left to draw now, month-to-date usage included. */
  readonly remaining: string;
  readonly remainingNanos: string;
  /** Sum of the scheduled grants: not in granted or remaining until their month comes. */
  readonly scheduled: string;
  readonly grants: readonly GrantBalance[];
}

/** The balance now: every month drawn down, the current one month-to-date. */
export async function creditBalance(db: Kysely<Database>, customerId: string, now: number, chargeOf: ChargeOf): Promise<CreditBalance> {
  const grants = await listGrants(db, { customerId });
  const months = await history(grants, customerId, nextMonthStart(now), chargeOf);
  const { remaining } = drawDown(grants, months);
  const thisMonth = { monthStart: monthStart(now), monthEnd: nextMonthStart(now) };
  let granted = 0n;
  let left = 0n;
  let used = 0n;
  let scheduled = 0n;
  const rows = grants.map((g): GrantBalance => {
    const rest = remaining.get(g.id) ?? 0n;
    const status = grantStatus(g, thisMonth, rest);
    const drawn = g.voidedAt !== null ? 0n : g.amountNanos - rest;
    if (status === 'active' || status === 'used') {
      granted += g.amountNanos;
      left += rest;
      used += drawn;
    }
    if (status === 'scheduled') scheduled += rest;
    return {
      id: g.id,
      amount: formatNanos(g.amountNanos),
      used: formatNanos(drawn),
      // A scheduled grant keeps all of it for later; an expired or voided one has nothing to give.
      remaining: formatNanos(status === 'active' || status === 'scheduled' ? rest : 0n),
      priority: g.priority,
      effectiveAt: new Date(g.effectiveAt).toISOString(),
      expiresAt: g.expiresAt === null ? null : new Date(g.expiresAt).toISOString(),
      note: g.note,
      status,
    };
  });
  return {
    customerId,
    at: new Date(now).toISOString(),
    granted: formatNanos(granted),
    grantedNanos: granted.toString(),
    used: formatNanos(used),
    remaining: formatNanos(left),
    remainingNanos: left.toString(),
    scheduled: formatNanos(scheduled),
    grants: rows,
  };
}

/**
 * By the month, as the statement draws: a grant taking effect on the 20th already covers this
 * month's usage, and one that expired on the 10th still does until the month ends.
 */
function grantStatus(g: CreditGrant, thisMonth: { monthStart: number; monthEnd: number }, rest: bigint): GrantBalance['status'] {
  if (g.voidedAt !== null) return 'voided';
  if (covers(g, thisMonth)) return rest === 0n ? 'used' : 'active';
  return g.effectiveAt >= thisMonth.monthEnd ? 'scheduled' : 'expired';
}

/** The credits a month's statement applies per customer, drawn against `perCustomer` (its charges before credits). */
export async function statementCredits(
  db: Kysely<Database>,
  from: number,
  customerId: string | undefined,
  perCustomer: ReadonlyMap<string, bigint>,
  chargeOf: ChargeOf,
): Promise<Array<MonthCredits & { customerId: string }>> {
  const holders = customerId === undefined ? await customersWithGrants(db) : [customerId];
  const out: Array<MonthCredits & { customerId: string }> = [];
  for (const c of holders) {
    const m = await creditsForMonth(db, c, from, perCustomer.get(c) ?? 0n, chargeOf);
    if (m.appliedNanos > 0n || customerId !== undefined) out.push({ ...m, customerId: c });
  }
  return out;
}
