// Building blocks for the contract's argument schemas, and the one translation of a schema's
// complaint into a TallyError that names the field as the caller sent it ("service.name",
// "records[2]"). Every face (HTTP, IPC, CLI) reaches a handler through this check.
import { z } from 'zod';
import { invalid, type TallyError } from '../errors';
import { CUSTOMER_ID } from '../services';

/**
 * The longest period one call that answers a row per day, week or month (trends, peaks,
 * report.zoned, analytics.aggregate) may cover: ten years, as `days` allows. The work of such a
 * call grows with its period, not with the data, so an open-ended `to` ("9999-12") is refused.
 */
export const MAX_RANGE_DAYS = 3660;
/** The same for hourly rows (analytics.aggregate hourly): a leap year of hours, 8,784 per service. */
export const MAX_HOURLY_RANGE_DAYS = 366;

const DAY_MS = 86_400_000;

/** Refuses a resolved period longer than `maxDays`, naming `to` and showing both ends. */
export function checkSpan(range: { readonly from: number; readonly to: number }, maxDays: number, what = 'this call'): void {
  if (range.to - range.from <= maxDays * DAY_MS) return;
  const days = Math.ceil((range.to - range.from) / DAY_MS);
  const end = (ms: number) => new Date(ms).toISOString().replace(/T00:00:00\.000Z$/, '');
  throwInvalid('to', `must be at most ${maxDays} days after from for ${what} (${end(range.from)} to ${end(range.to)} is ${days} days)`);
}

/** "YYYY-MM" from 1970-01 on: Tally's instants count milliseconds from 1970. */
export const monthText = z
  .string()
  .regex(/^(?:19[7-9]\d|[2-9]\d{3})-(?:0[1-9]|1[0-2])$/, 'must be a month as YYYY-MM, from 1970-01 on (e.g. 2026-11)');

/** A period as ISO dates/times (YYYY-MM, YYYY-MM-DD or ISO 8601, UTC); `to` is exclusive for times, inclusive for dates. */
export const periodFields = {
  from: z.string().max(64).optional(),
  to: z.string().max(64).optional(),
  month: monthText.optional(),
};

/** A window ending now: the last `days` days, or an explicit period. */
export const windowFields = { ...periodFields, days: z.number().positive().max(MAX_RANGE_DAYS).optional() };

/** A customer id as events carry it (core/services.ts CUSTOMER_ID). */
export const customerIdText = z
  .string()
  .regex(CUSTOMER_ID, 'must be 1-128 letters, digits and . _ : @ - (starting with a letter or digit)');

export const customerField = { customerId: customerIdText.optional() };

export const noArgs = z.strictObject({});

/** "records[2].quantity" from ['records', 2, 'quantity']. */
export function fieldPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) out += typeof part === 'number' ? `[${part}]` : out === '' ? String(part) : `.${String(part)}`;
  return out;
}

function valueAt(args: unknown, path: readonly PropertyKey[]): unknown {
  let v = args;
  for (const key of path) v = typeof v === 'object' && v !== null ? (v as Record<PropertyKey, unknown>)[key] : undefined;
  return v;
}

function describe(issue: z.core.$ZodIssue, args: unknown): { field: string; problem: string } {
  const field = fieldPath(issue.path);
  if (issue.code !== 'unrecognized_keys' && issue.path.length > 0 && valueAt(args, issue.path) === undefined) {
    return { field, problem: 'is required' };
  }
  switch (issue.code) {
    case 'invalid_type': {
      const value = valueAt(args, issue.path);
      // JSON's 1e400 arrives as Infinity: a number, but not one the contract takes.
      if (issue.expected === 'number' && typeof value === 'number') return { field, problem: `must be a finite number, not ${value}` };
      if (issue.expected === 'int') return { field, problem: 'must be a whole number' };
      return { field, problem: `must be ${article(issue.expected)}, not ${kindOf(value)}` };
    }
    case 'too_big':
    case 'too_small':
      return { field, problem: sizeProblem(issue) };
    case 'invalid_value':
      return { field, problem: `must be one of ${issue.values.map(String).join(', ')}` };
    case 'unrecognized_keys': {
      const key = issue.keys[0] ?? '';
      return { field: field === '' ? key : `${field}.${key}`, problem: 'is not a known argument' };
    }
    case 'invalid_union':
      return { field, problem: 'has the wrong shape' };
    default:
      return { field, problem: issue.message.replace(/^Invalid input: /, '') };
  }
}

/** "must be ≤ 3660", "must be > 0", "must be at most 64 characters": zod's own words otherwise ("Too big: expected …"). */
function sizeProblem(issue: z.core.$ZodIssueTooBig | z.core.$ZodIssueTooSmall): string {
  const big = issue.code === 'too_big';
  // A schema's own message (e.g. "is required: say why") is kept.
  if (!/^Too (big|small):/.test(issue.message)) return issue.message;
  const bound = String(big ? (issue as z.core.$ZodIssueTooBig).maximum : (issue as z.core.$ZodIssueTooSmall).minimum);
  const inclusive = issue.inclusive !== false;
  if (issue.origin === 'number' || issue.origin === 'int' || issue.origin === 'bigint') {
    return `must be ${big ? (inclusive ? '≤' : '<') : inclusive ? '≥' : '>'} ${bound}`;
  }
  const things = issue.origin === 'string' ? 'characters' : 'items';
  if (!big && bound === '1') return 'must not be empty';
  return `must have at ${big ? 'most' : 'least'} ${bound} ${things}`;
}

function article(expected: string): string {
  return /^[aeiou]/.test(expected) ? `an ${expected}` : `a ${expected}`;
}

function kindOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return article(typeof v);
}

/** Parses `args` with `schema`; the first complaint becomes an invalid_input error naming its field. */
export function parseArgs<S extends z.ZodType>(schema: S, args: unknown): z.output<S> {
  const parsed = schema.safeParse(args ?? {});
  if (parsed.success) return parsed.data;
  const { field, problem } = describe(parsed.error.issues[0]!, args);
  return throwInvalid(field === '' ? 'args' : field, problem);
}

function throwInvalid(field: string, problem: string): never {
  const e: TallyError = invalid(field, problem);
  throw e;
}
