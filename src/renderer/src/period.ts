// The period picker's model: this month, last month, or a custom range of whole UTC days.
export type PeriodChoice =
  | { readonly kind: 'this-month' }
  | { readonly kind: 'last-month' }
  | { readonly kind: 'custom'; readonly from: string; readonly to: string };

export interface PeriodArgs {
  readonly from?: string;
  readonly to?: string;
  readonly month?: string;
}

export function monthOf(ms: number): string {
  return new Date(ms).toISOString().slice(0, 7);
}

export function dayOf(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

export function periodArgs(choice: PeriodChoice, now = Date.now()): PeriodArgs {
  const d = new Date(now);
  switch (choice.kind) {
    case 'this-month':
      return { month: monthOf(now) };
    case 'last-month':
      return { month: monthOf(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() - 1, 1)) };
    case 'custom':
      return { from: choice.from, to: choice.to };
  }
}

/** The last `days` whole days up to and including today (UTC). */
export function lastDays(days: number, now = Date.now()): PeriodArgs {
  return { from: dayOf(now - (days - 1) * 86_400_000), to: dayOf(now) };
}

export function describePeriod(choice: PeriodChoice, now = Date.now()): string {
  const args = periodArgs(choice, now);
  if (args.month) {
    const [y, m] = args.month.split('-').map(Number);
    return new Date(Date.UTC(y!, m! - 1, 1)).toLocaleDateString('en-US', { month: 'long', year: 'numeric', timeZone: 'UTC' });
  }
  return `${args.from} – ${args.to}`;
}
