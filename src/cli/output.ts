// Printing: JSON for machines (--json), aligned tables for people.
export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
}

/** A plain aligned table; numbers (and cells starting with a currency or digit) right-aligned. */
export function formatTable(header: readonly string[], rows: ReadonlyArray<readonly (string | number)[]>): string {
  const cells = rows.map((r) => r.map((c) => String(c)));
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((r) => (r[i] ?? '').length)));
  const numeric = header.map((_, i) => cells.length > 0 && cells.every((r) => /^[-$€£]?[\d.,]+[KMB%]?$|^$/.test(r[i] ?? '')));
  const fmt = (r: readonly string[]) =>
    r
      .map((c, i) => (numeric[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [fmt(header), widths.map((w) => '─'.repeat(w)).join('  '), ...cells.map(fmt)].join('\n');
}

export function print(text: string): void {
  process.stdout.write(text.endsWith('\n') ? text : text + '\n');
}
