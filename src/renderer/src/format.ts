// How figures read on screen. Money and percentages follow the one rule in core/money.ts:
// amounts half-even to the currency's minor unit (the exact decimal on hover), a total beside
// its lines is the sum of the rounded lines, percentages truncated toward zero.
import { formatMoney, formatPercent as percentText, formatUnitPrice, roundLines } from '../../core/money';

const usageFormat = new Intl.NumberFormat('en-US', { maximumFractionDigits: 2 });
const smallFormat = new Intl.NumberFormat('en-US', { maximumSignificantDigits: 3 });
const countFormat = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

export function formatUsage(value: number): string {
  if (value !== 0 && Math.abs(value) < 0.01) return smallFormat.format(value);
  return usageFormat.format(value);
}

export function formatCount(value: number): string {
  return countFormat.format(value);
}

/** A change in percent (12.34 → "+12.3%"), truncated toward zero like every percentage. */
export function formatPercent(value: number): string {
  return percentText(value / 100, { decimals: 1, sign: true });
}

/** A share of a limit in whole percent (77.99 → "77%"): a threshold never shows before it is reached. */
export function wholePercent(value: number): string {
  return percentText(value / 100);
}

// The installation's currency (ISO 4217), set once the agent's settings arrive.
let currency = 'USD';
export function setCurrency(code: string): void {
  currency = code;
}
export function currentCurrency(): string {
  return currency;
}

/** An amount for people: the currency's minor unit, half-even ("$108.27"). */
export function money(cost: string | bigint): string {
  return formatMoney(cost, currency);
}

/** The exact amount, for a hover ("$108.271210591"). */
export function exactMoney(cost: string | bigint): string {
  return formatUnitPrice(cost, currency);
}

/** A unit price to its own precision ("$0.0001"). */
export function unitPrice(price: string): string {
  return formatUnitPrice(price, currency);
}

/** Lines and their total as printed: each line rounded, the total their sum. */
export function roundedTotal(costs: readonly string[]): { lines: string[]; total: string; exactTotal: string } {
  const r = roundLines(costs, currency);
  return {
    lines: r.lines.map((n) => formatMoney(n, currency)),
    total: formatMoney(r.total, currency),
    exactTotal: exactMoney(r.exactTotal),
  };
}

/** Units that count bytes say which GB they mean. */
export function unitNote(unit: string): string | null {
  return /\bGB\b/.test(unit) ? 'GB = GiB (2^30 bytes)' : null;
}

/** "requests" → "request", "GB-hours" → "GB-hour", "queries" → "query"; "GB" stays. */
export function singular(unit: string): string {
  if (/ies$/.test(unit)) return unit.replace(/ies$/, 'y');
  if (/[a-z]s$/.test(unit)) return unit.slice(0, -1);
  return unit;
}

/** Alert and event times, one format everywhere, with the zone: "2026-11-20 14:03 UTC". */
export function alertTime(iso: string): string {
  return `${iso.slice(0, 16).replace('T', ' ')} UTC`;
}
