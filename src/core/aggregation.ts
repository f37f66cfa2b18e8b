// How a service's usage over a period becomes one number (OpenMeter's meter aggregations):
//   sum           the quantities (the default)
//   count         the events
//   max           the largest quantity (a peak: concurrent seats, the largest upload)
//   unique_count  the distinct values of one metadata field (monthly active users by user_id)
//   latest        the last reading of the period (a gauge)
// A service may also name its value property, a JSON path into the event's metadata ($.tokens),
// so events shaped by another system are metered without rewriting them.
import { invalid } from './errors';

export type Aggregation = 'sum' | 'count' | 'max' | 'unique_count' | 'latest';
export const AGGREGATIONS: readonly Aggregation[] = ['sum', 'count', 'max', 'unique_count', 'latest'];

export interface AggregationSpec {
  readonly aggregation: Aggregation;
  /** unique_count: the metadata key whose distinct values are counted. */
  readonly field: string | null;
}

const KEY = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
const PATH = /^\$(\.[A-Za-z_][A-Za-z0-9_]{0,63}){1,8}$/;

/** "sum", "count", "max", "latest", "unique:user_id" or "unique_count:user_id". */
export function parseAggregation(text: string, field = 'aggregation'): AggregationSpec {
  const t = text.trim();
  const unique = /^unique(?:_count)?:(.+)$/.exec(t);
  if (unique) {
    if (!KEY.test(unique[1]!)) throw invalid(field, `"${unique[1]}" must be a metadata key (letters, digits, _)`);
    return { aggregation: 'unique_count', field: unique[1]! };
  }
  if (t === 'unique' || t === 'unique_count')
    throw invalid(field, 'unique_count needs the field it counts: unique:<metadata key>, e.g. unique:user_id');
  if (!(AGGREGATIONS as readonly string[]).includes(t))
    throw invalid(field, `"${t}" must be sum, count, max, latest or unique:<metadata key>`);
  return { aggregation: t as Aggregation, field: null };
}

export function formatAggregation(spec: { aggregation?: Aggregation | undefined; aggregationField?: string | null | undefined }): string {
  const a = spec.aggregation ?? 'sum';
  return a === 'unique_count' ? `unique:${spec.aggregationField}` : a;
}

/** Checks a value property: a JSON path of object keys, "$.tokens" or "$.usage.output_tokens". */
export function checkValueProperty(path: string, field = 'valueProperty'): void {
  if (!PATH.test(path))
    throw invalid(field, `"${path.slice(0, 80)}" must be a JSON path of keys such as $.tokens or $.usage.output_tokens`);
}

/** The value at a JSON path ("$.a.b") in a metadata object; undefined when absent. */
export function valueAt(path: string, metadata: unknown): unknown {
  let v: unknown = metadata;
  for (const key of path.slice(2).split('.')) {
    if (typeof v !== 'object' || v === null || Array.isArray(v) || !Object.hasOwn(v, key)) return undefined;
    v = (v as Record<string, unknown>)[key];
  }
  return v;
}

/**
 * The quantity of an event that names none: its value property's number (numeric text too),
 * else 1 for count and unique_count services. undefined: the caller must give one.
 */
export function impliedQuantity(
  service: { aggregation?: Aggregation | undefined; valueProperty?: string | null | undefined },
  metadata: unknown,
  field: string,
): number | undefined {
  if (service.valueProperty) {
    const v = valueAt(service.valueProperty, metadata);
    if (typeof v === 'number') return v;
    if (typeof v === 'string' && /^\d{1,15}(\.\d{1,6})?$/.test(v.trim())) return Number(v);
    throw invalid(field, `is missing: give a quantity, or a number at ${service.valueProperty} in metadata`);
  }
  if (service.aggregation === 'count' || service.aggregation === 'unique_count') return 1;
  return undefined;
}

/** The distinct-count key of an event: its field's value as text, or an error naming the field. */
export function uniqueValue(field: string, metadata: unknown, path: string): string {
  const v = (metadata as Record<string, unknown> | null)?.[field];
  if (typeof v === 'string' && v.length > 0 && v.length <= 256) return v;
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  throw invalid(path, `is required: this service counts distinct values of metadata.${field} (a string or number)`);
}
