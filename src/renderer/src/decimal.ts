// Exact sums of the agent's decimal strings (at most 9 fraction digits), via BigInt nanos.
const DEC = /^(-?)(\d+)(?:\.(\d{1,9}))?$/;

export function toNanos(text: string): bigint {
  const m = DEC.exec(text.trim());
  if (!m) throw new RangeError(`not a decimal: ${text}`);
  const n = BigInt(m[2]!) * 1_000_000_000n + BigInt((m[3] ?? '').padEnd(9, '0'));
  return m[1] ? -n : n;
}

export function fromNanos(n: bigint, minDecimals = 4): string {
  const neg = n < 0n;
  const a = neg ? -n : n;
  let frac = (a % 1_000_000_000n).toString().padStart(9, '0');
  while (frac.length > minDecimals && frac.endsWith('0')) frac = frac.slice(0, -1);
  return `${neg ? '-' : ''}${a / 1_000_000_000n}${frac ? `.${frac}` : ''}`;
}

export function sumDecimals(values: readonly string[]): string {
  return fromNanos(values.reduce((s, v) => s + toNanos(v), 0n));
}
