// The statement as people read it (CLI table, PDF, printable page): every amount rounded
// half-even to the currency's minor unit, the total the sum of the printed lines, and the exact
// total with the rounding difference beneath (core/money.ts holds the rule).
import { formatMoney, roundingNote, roundLines, type RoundedLines } from '../core/money';
import { formatCompact } from '../core/services';
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

export function printStatement(s: Statement, currency = 'USD'): PrintedStatement {
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
  return {
    title: `STATEMENT ${s.month}${s.customerId ? `  (${s.customerId})` : ''}`,
    header: STATEMENT_HEADER,
    rows,
    subtotals,
    total: formatMoney(rounded.total, currency),
    note: rounded.difference === 0n ? null : roundingNote(rounded, currency),
    rounded,
  };
}
