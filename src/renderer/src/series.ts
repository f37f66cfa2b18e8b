// Small computations over the series the agent returns, for the charts (display numbers only:
// money is never computed here).

/** Day-over-day change in % between the last two full days (the last value is today, still running). */
export function dayOverDay(values: readonly number[]): number | null {
  if (values.length < 3) return null;
  const last = values[values.length - 2]!;
  const before = values[values.length - 3]!;
  if (before === 0) return null;
  return ((last - before) / before) * 100;
}

/** Average usage per hour of the week, Monday 00:00 UTC first (168 cells). */
export function hourOfWeek(rows: readonly { period: string; total_quantity: number }[]): number[] {
  const sums = new Array<number>(168).fill(0);
  const counts = new Array<number>(168).fill(0);
  for (const r of rows) {
    const d = new Date(r.period);
    const i = ((d.getUTCDay() + 6) % 7) * 24 + d.getUTCHours();
    sums[i]! += r.total_quantity;
    counts[i]!++;
  }
  return sums.map((s, i) => (counts[i] ? s / counts[i]! : 0));
}
