// Strict parsing of command-line values; each error names the argument.
import { invalid } from '../core/errors';
import { parseDateInput } from '../core/time';

export function parseNumberArg(name: string, text: string, o: { integer?: boolean; min?: number } = {}): number {
  const t = text.trim();
  if (!/^-?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$/.test(t)) throw invalid(name, `"${text}" is not a number`);
  const n = Number(t);
  if (!Number.isFinite(n)) throw invalid(name, `"${text}" is not a finite number`);
  if (o.integer && !Number.isInteger(n)) throw invalid(name, `"${text}" must be a whole number`);
  if (o.min !== undefined && n < o.min) throw invalid(name, `must be ≥ ${o.min}`);
  return n;
}

export function parseJsonObjectArg(name: string, text: string | undefined): Record<string, unknown> | undefined {
  if (text === undefined) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw invalid(name, 'is not valid JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalid(name, 'must be a JSON object');
  return value as Record<string, unknown>;
}

export function parseDateArg(name: string, text: string, end = false): number {
  // The same parsers serve the API, where a value may arrive as any JSON type.
  if (typeof text !== 'string') throw invalid(name, 'must be a date string (YYYY-MM, YYYY-MM-DD or ISO 8601)');
  const ms = parseDateInput(text, end);
  if (ms === null) throw invalid(name, `"${text}" is not a date (use YYYY-MM, YYYY-MM-DD or an ISO 8601 time)`);
  return ms;
}

/** --from/--to with defaults: the current month so far, to the end of the month. */
export function parseRange(opts: { from?: string; to?: string; month?: string }, now = Date.now()): { from: number; to: number } {
  if (opts.month) {
    if (typeof opts.month !== 'string' || !/^\d{4}-\d{2}$/.test(opts.month)) throw invalid('month', `"${opts.month}" must be YYYY-MM`);
    return { from: parseDateArg('month', opts.month), to: parseDateArg('month', opts.month, true) };
  }
  const d = new Date(now);
  const from = opts.from ? parseDateArg('from', opts.from) : Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
  const to = opts.to ? parseDateArg('to', opts.to, true) : Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
  if (to <= from) throw invalid('to', 'must be after --from');
  return { from, to };
}
