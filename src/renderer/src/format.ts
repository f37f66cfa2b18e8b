// How figures read on screen. Money is never computed here: costs are the agent's exact
// decimal strings, only prefixed with the currency sign.

const usageFormat = new Intl.NumberFormat('en-US', { maximumFractionDigits: 2 });
const smallFormat = new Intl.NumberFormat('en-US', { maximumSignificantDigits: 3 });
const countFormat = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
const percentFormat = new Intl.NumberFormat('en-US', { maximumFractionDigits: 1, signDisplay: 'exceptZero' });

export function formatUsage(value: number): string {
  if (value !== 0 && Math.abs(value) < 0.01) return smallFormat.format(value);
  return usageFormat.format(value);
}

export function formatCount(value: number): string {
  return countFormat.format(value);
}

export function formatPercent(value: number): string {
  return `${percentFormat.format(value)} %`;
}

export function money(cost: string, currency = 'USD'): string {
  const sign = currency === 'USD' ? '$' : currency === 'EUR' ? '€' : currency === 'GBP' ? '£' : `${currency} `;
  return cost.startsWith('-') ? `-${sign}${cost.slice(1)}` : `${sign}${cost}`;
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
