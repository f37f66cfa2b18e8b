// Periods as callers give them (YYYY-MM, YYYY-MM-DD or ISO 8601, UTC) turned into [from, to)
// milliseconds. One parser for every face: the CLI's flags, the API's arguments, the UI's picker.
import { invalid } from './errors';
import { DATE_FORMS, parseDateInput } from './time';

export function parseDateArg(name: string, text: string, end = false): number {
  // Values from the API may arrive as any JSON type.
  if (typeof text !== 'string') throw invalid(name, 'must be a date string (YYYY-MM, YYYY-MM-DD or ISO 8601)');
  const ms = parseDateInput(text, end);
  if (ms === null) throw invalid(name, `"${text.slice(0, 40)}" is not a date; accepted: YYYY-MM, ${DATE_FORMS}`);
  return ms;
}

/** from/to/month with defaults: the current month so far, to the end of the month. */
export function parseRange(opts: { from?: string; to?: string; month?: string }, now: number): { from: number; to: number } {
  // Given but empty (`--from "$UNSET"`) is a mistake, not "not given"; a month and a from/to
  // together are two different ranges: neither is silently dropped.
  if (opts.month !== undefined) {
    if (typeof opts.month !== 'string' || !/^\d{4}-\d{2}$/.test(opts.month)) throw invalid('month', `"${opts.month}" must be YYYY-MM`);
    const other = opts.from !== undefined ? 'from' : opts.to !== undefined ? 'to' : null;
    if (other !== null) throw invalid(other, 'give either a month or from/to, not both');
    return { from: parseDateArg('month', opts.month), to: parseDateArg('month', opts.month, true) };
  }
  const d = new Date(now);
  const from = opts.from !== undefined ? parseDateArg('from', opts.from) : Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
  const to = opts.to !== undefined ? parseDateArg('to', opts.to, true) : Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
  if (to <= from) throw invalid('to', 'must be after from');
  return { from, to };
}
