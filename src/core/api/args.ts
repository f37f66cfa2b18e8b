// Building blocks for the contract's argument schemas, and the one translation of a schema's
// complaint into a TallyError that names the field as the caller sent it ("service.name",
// "records[2]"). Every face (HTTP, IPC, CLI) reaches a handler through this check.
import { z } from 'zod';
import { invalid, type TallyError } from '../errors';

/** A period as ISO dates/times (YYYY-MM, YYYY-MM-DD or ISO 8601, UTC); `to` is exclusive for times, inclusive for dates. */
export const periodFields = {
  from: z.string().optional(),
  to: z.string().optional(),
  month: z.string().optional(),
};

/** A window ending now: the last `days` days, or an explicit period. */
export const windowFields = { ...periodFields, days: z.number().positive().max(3660).optional() };

export const customerField = { customerId: z.string().min(1).max(128).optional() };

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
    case 'invalid_type':
      return { field, problem: `must be ${article(issue.expected)}, not ${kindOf(valueAt(args, issue.path))}` };
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
