// The statement as people read it (CLI table, PDF, printable page): every amount rounded
// half-even to the currency's minor unit, the total the sum of the printed lines, and the exact
// total with the rounding difference beneath (core/money.ts holds the rule).
import { currencyOf, formatMoney, roundHalfEven, roundingNote, roundLines, toNanos, type RoundedLines } from '../core/money';
import { formatCompact } from '../core/services';
import type { AdjustmentLine } from './closing';
import type { Statement } from './statement';

export interface PrintedStatement {
  readonly title: string;
  readonly header: readonly string[];
  readonly rows: ReadonlyArray<readonly string[]>;
  /** Per customer when there are several. */
  readonly subtotals: ReadonlyArray<readonly [string, string]>;
  readonly total: string;
  /** "exact total $… (rounding …)", or null when the rounded lines add up exactly. */
  readonly note: string | null;
  readonly rounded: RoundedLines;
  /** Below the total: adjustments for closed months and credits, each rounded, then what is due. */
  readonly below: ReadonlyArray<readonly [string, string]>;
  /** The amount due as printed: total + adjustments − credits, all as printed; null when nothing below. */
  readonly due: string | null;
}

export const STATEMENT_HEADER = [
  'customer',
  'service',
  'usage',
  'unit',
  'pricing',
  'usage cost',
  'minimum top-up',
  'line total',
  'quota',
  'overage',
] as const;

type WithBilling = Statement & { readonly adjustments?: readonly AdjustmentLine[] };

export function printStatement(s: WithBilling, currency = 'USD'): PrintedStatement {
  const rounded = roundLines(
    s.lines.map((l) => l.lineTotal),
    currency,
  );
  const rows = s.lines.map((l, i) => [
    l.customerId,
    l.service,
    formatCompact(l.usage),
    l.unit,
    l.pricing,
    formatMoney(l.usageCost, currency),
    formatMoney(l.minimumTopUp, currency),
    formatMoney(rounded.lines[i]!, currency),
    l.quota === null ? '—' : formatCompact(l.quota),
    l.overage === null ? '—' : formatCompact(l.overage),
  ]);
  const subtotals: Array<readonly [string, string]> = [];
  const customers = [...new Set(s.lines.map((l) => l.customerId))];
  if (customers.length > 1) {
    for (const c of customers) {
      const sum = s.lines.reduce((n, l, i) => (l.customerId === c ? n + rounded.lines[i]! : n), 0n);
      subtotals.push([c, formatMoney(sum, currency)]);
    }
  }
  const { below, due } = belowTotal(s, rounded.total, currency);
  return {
    below,
    due,
    title: `STATEMENT ${s.month}${s.customerId ? `  (${s.customerId})` : ''}`,
    header: STATEMENT_HEADER,
    rows,
    subtotals,
    total: formatMoney(rounded.total, currency),
    note: rounded.difference === 0n ? null : roundingNote(rounded, currency),
    rounded,
  };
}

/** Adjustments and credits under the total, each rounded, and the amount due as their printed sum. */
function belowTotal(s: WithBilling, total: bigint, currency: string): { below: Array<readonly [string, string]>; due: string | null } {
  const minor = currencyOf(currency).decimals;
  const below: Array<readonly [string, string]> = [];
  let due = total;
  for (const a of s.adjustments ?? []) {
    const n = roundHalfEven(toNanos(a.cost), minor);
    due += n;
    below.push([`Adjustment for ${a.forMonth}: ${a.service} (${a.customerId})`, formatMoney(n, currency)]);
  }
  const credits = s.creditsApplied === undefined ? 0n : roundHalfEven(toNanos(s.creditsApplied), minor);
  if (credits !== 0n) {
    due -= credits;
    below.push(['Credits applied', formatMoney(-credits, currency)]);
  }
  if (below.length === 0) return { below, due: null };
  return { below, due: formatMoney(due, currency) };
}
