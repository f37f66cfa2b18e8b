// The statement as people read it (CLI table, XLSX, PDF, printable page): every amount rounded
// half-even to the currency's minor unit, the total the sum of the printed lines, and the exact
// total with the rounding difference beneath (core/money.ts holds the rule). Quantities are what
// is billed, so they are printed whole: grouped, never abbreviated.
import { currencyOf, formatMoney, formatNanos, roundHalfEven, roundingNote, roundLines, toNanos, type RoundedLines } from '../core/money';
import type { AdjustmentLine } from './closing';
import type { Statement } from './statement';

export interface PrintedStatement {
  readonly title: string;
  readonly header: readonly string[];
  readonly rows: ReadonlyArray<readonly string[]>;
  /** Per customer when there are several. */
  readonly subtotals: ReadonlyArray<readonly [string, string]>;
  readonly total: string;
  /** "exact total $… (rounding …)" and/or "exact amount due $…", or null when the printed figures are exact. */
  readonly note: string | null;
  readonly rounded: RoundedLines;
  /** Below the total: adjustments for closed months and credits, each rounded, then what is due. */
  readonly below: ReadonlyArray<readonly [string, string]>;
  /** The amount due as printed: total + adjustments − credits, all as printed; null when nothing below. */
  readonly due: string | null;
  /** Total + adjustments as printed; null when there are no adjustments. */
  readonly withAdjustments: string | null;
  /** The credits applied as printed (negative, "-$0.05"); null when no credit applies. */
  readonly credits: string | null;
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

/** A statement as the service layer returns it: closed-month adjustments are there when it has any. */
export type PrintableStatement = Statement & { readonly adjustments?: readonly AdjustmentLine[] };

export function printStatement(s: PrintableStatement, currency = 'USD'): PrintedStatement {
  const rounded = roundLines(
    s.lines.map((l) => l.lineTotal),
    currency,
  );
  const rows = s.lines.map((l, i) => [
    l.customerId,
    l.service,
    formatQuantity(l.usage),
    l.unit,
    l.pricing,
    formatMoney(l.usageCost, currency),
    formatMoney(l.minimumTopUp, currency),
    formatMoney(rounded.lines[i]!, currency),
    l.quota === null ? '—' : formatQuantity(l.quota),
    l.overage === null ? '—' : formatQuantity(l.overage),
  ]);
  const subtotals: Array<readonly [string, string]> = [];
  const customers = [...new Set(s.lines.map((l) => l.customerId))];
  if (customers.length > 1) {
    for (const c of customers) {
      const sum = s.lines.reduce((n, l, i) => (l.customerId === c ? n + rounded.lines[i]! : n), 0n);
      subtotals.push([c, formatMoney(sum, currency)]);
    }
  }
  const { dueNote, ...below } = belowTotal(s, rounded.total, currency);
  const notes = [rounded.difference === 0n ? null : roundingNote(rounded, currency), dueNote].filter((n) => n !== null);
  return {
    ...below,
    title: `STATEMENT ${s.month}${s.customerId ? `  (${s.customerId})` : ''}`,
    header: STATEMENT_HEADER,
    rows,
    subtotals,
    total: formatMoney(rounded.total, currency),
    note: notes.length ? notes.join('; ') : null,
    rounded,
  };
}

/**
 * 1001 → "1,001", 1234.56789 → "1,234.5679", 0.000123456 → "0.0001235": grouped, never
 * abbreviated; a fraction to four places (four significant digits below 1), as the exact
 * quantity is in --json and the exact columns.
 */
export function formatQuantity(n: number): string {
  return Math.abs(n) >= 1 || n === 0
    ? n.toLocaleString('en-US', { maximumFractionDigits: 4 })
    : n.toLocaleString('en-US', { maximumSignificantDigits: 4 });
}

interface Below {
  readonly below: Array<readonly [string, string]>;
  readonly due: string | null;
  readonly withAdjustments: string | null;
  readonly credits: string | null;
  /** "exact amount due $…" when the printed amount due is rounded. */
  readonly dueNote: string | null;
}

/** Adjustments and credits under the total, each rounded, and the amount due as their printed sum. */
function belowTotal(s: PrintableStatement, total: bigint, currency: string): Below {
  const c = currencyOf(currency);
  const below: Array<readonly [string, string]> = [];
  let due = total;
  let exactDue = toNanos(s.total);
  for (const a of s.adjustments ?? []) {
    const n = roundHalfEven(toNanos(a.cost), c.decimals);
    due += n;
    exactDue += toNanos(a.cost);
    below.push([`Adjustment for ${a.forMonth}: ${a.service} (${a.customerId})`, formatMoney(n, currency)]);
  }
  const withAdjustments = below.length === 0 ? null : formatMoney(due, currency);
  const applied = s.creditsApplied === undefined ? 0n : toNanos(s.creditsApplied);
  const credits = roundHalfEven(applied, c.decimals);
  // Credits that round to nothing still print, so the amount due says why it differs from the total.
  if (applied !== 0n) {
    due -= credits;
    exactDue -= applied;
    below.push(['Credits applied', formatMoney(-credits, currency)]);
  }
  if (below.length === 0) return { below, due: null, withAdjustments, credits: null, dueNote: null };
  return {
    below,
    due: formatMoney(due, currency),
    withAdjustments,
    credits: applied === 0n ? null : formatMoney(-credits, currency),
    dueNote:
      due === exactDue
        ? null
        : `exact amount due ${exactDue < 0n ? '-' : ''}${c.prefix}${formatNanos(exactDue < 0n ? -exactDue : exactDue)}`,
  };
}
