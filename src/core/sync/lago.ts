// Lago: POST {url}/api/v1/events/batch {events: [...]} with at most 100 events, answered 200
// {events: [...]}. transaction_id = the global id (Lago's idempotency key); code = the billable
// metric; external_subscription_id = the customer's subscription; timestamp in Unix seconds.
// Lago validates the batch as a whole: one bad event refuses all of them (422), so the worker
// splits; a lone event refused only because its transaction_id exists was delivered before.
import { classifyCommon, isObject, joinUrl, jsonHeaders, malformed, metadataOf, parseJson, snippet } from './classify';
import type { Adapter, HttpResponse, Outcome, SyncRecord, TargetSpec } from './types';

export const LAGO_MAX_BATCH = 100;

export function lagoEvent(r: SyncRecord, spec: TargetSpec): Record<string, unknown> {
  const valueProperty = spec.options.valueProperty ?? 'value';
  const properties: Record<string, unknown> = { ...metadataOf(r.metadata), [valueProperty]: r.quantity };
  if (r.userId !== null) properties.user_id = r.userId;
  return {
    transaction_id: r.id,
    external_subscription_id: spec.options.customers?.[r.customerId] ?? r.customerId,
    code: spec.options.eventNames?.[r.service] ?? r.service,
    // Seconds with millisecond decimals, as a string: exact, and Lago accepts both forms.
    timestamp: (r.recordedAt / 1000).toFixed(3),
    properties,
  };
}

/** True when every complaint in a 422 is "this transaction_id already exists". */
export function onlyDuplicateTransaction(details: unknown): boolean {
  if (!isObject(details)) return false;
  const lists: unknown[] = [];
  const walk = (o: Record<string, unknown>) => {
    for (const [k, v] of Object.entries(o)) {
      if (k === 'transaction_id') lists.push(v);
      else if (isObject(v)) walk(v);
      else lists.push(v);
    }
  };
  walk(details);
  return lists.length > 0 && lists.every((v) => Array.isArray(v) && v.length > 0 && v.every((x) => x === 'value_already_exist'));
}

export function lagoAdapter(spec: TargetSpec, now: () => number): Adapter {
  return {
    kind: 'lago',
    maxBatch: LAGO_MAX_BATCH,
    dedupWindowMs: null,
    timestampWindowMs: null,
    precheck: () => null,
    request(records) {
      return {
        method: 'POST',
        url: joinUrl(spec.url, '/api/v1/events/batch'),
        headers: jsonHeaders(spec.token),
        body: JSON.stringify({ events: records.map((r) => lagoEvent(r, spec)) }),
      };
    },
    classify(res: HttpResponse, records: readonly SyncRecord[]): Outcome {
      const common = classifyCommon(res, now(), 'Lago');
      if (common) return common;
      const parsed = parseJson(res.body);
      if (res.status >= 200 && res.status < 300) {
        if (!parsed.ok || !isObject(parsed.value) || !Array.isArray(parsed.value.events))
          return malformed('Lago', 'expected {"events": [...]}');
        if (parsed.value.events.length !== records.length)
          return malformed('Lago', `events: ${parsed.value.events.length} returned for ${records.length} sent`);
        return { kind: 'delivered', rejected: [] };
      }
      const body = parsed.ok && isObject(parsed.value) ? parsed.value : null;
      const details = body?.error_details;
      if (res.status === 422 && onlyDuplicateTransaction(details)) {
        // Already delivered: only safe to conclude for one event, since Lago refuses whole batches.
        if (records.length === 1) return { kind: 'delivered', rejected: [] };
      }
      const what = body
        ? [body.code, details === undefined ? undefined : JSON.stringify(details)].filter((x) => typeof x === 'string').join(' ')
        : snippet(res.body);
      return { kind: 'split', reason: `Lago refused the events (HTTP ${res.status}): ${what || 'no detail'}` };
    },
  };
}
