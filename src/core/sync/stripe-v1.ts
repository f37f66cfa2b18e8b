// Stripe Billing meter events through the v1 API, which most Stripe accounts use:
//   POST {url}/v1/billing/meter_events (secret key, form-encoded), one event per request:
//   event_name, payload[stripe_customer_id], payload[value], identifier, timestamp (Unix seconds).
// Stripe deduplicates identifiers for about 24 hours and answers a duplicate with 400
// resource_already_exists: for us that means delivered. Timestamps are accepted from the last 35
// days. One request per event is fine up to a few events per second; beyond that the v2 meter
// event stream (api: "v2", stripe.ts) sends 100 per request.
import { classifyCommon, isObject, joinUrl, malformed, parseJson, snippet } from './classify';
import { STRIPE_DEDUP_MS, STRIPE_TIMESTAMP_WINDOW_MS, STRIPE_WINDOW_MARGIN_MS, stripeValue } from './stripe';
import type { Adapter, HttpRequest, HttpResponse, Outcome, SyncRecord, TargetSpec } from './types';

/** The form body of one v1 meter event. */
export function stripeV1Form(r: SyncRecord, spec: TargetSpec): string {
  const form = new URLSearchParams();
  form.set('event_name', spec.options.eventNames?.[r.service] ?? r.service);
  form.set('payload[stripe_customer_id]', spec.options.customers?.[r.customerId] ?? r.customerId);
  form.set('payload[value]', stripeValue(r.quantity));
  form.set('identifier', r.id);
  form.set('timestamp', String(Math.floor(r.recordedAt / 1000)));
  return form.toString();
}

export function stripeV1Headers(spec: TargetSpec, idempotencyKey?: string): Record<string, string> {
  const headers: Record<string, string> = {
    authorization: `Bearer ${spec.token ?? ''}`,
    'content-type': 'application/x-www-form-urlencoded',
    accept: 'application/json',
  };
  if (spec.options.stripeVersion) headers['stripe-version'] = spec.options.stripeVersion;
  if (idempotencyKey) headers['idempotency-key'] = idempotencyKey;
  return headers;
}

/** Stripe's error object: {error: {type, code, message}}. */
export function stripeErrorOf(body: string): { code: string; message: string } {
  const parsed = parseJson(body);
  if (parsed.ok && isObject(parsed.value) && isObject(parsed.value.error)) {
    const e = parsed.value.error;
    return { code: typeof e.code === 'string' ? e.code : '', message: typeof e.message === 'string' ? e.message : snippet(body) };
  }
  return { code: '', message: snippet(body) || 'no detail' };
}

export function stripeV1Adapter(spec: TargetSpec, now: () => number): Adapter {
  return {
    kind: 'stripe',
    maxBatch: 1,
    dedupWindowMs: STRIPE_DEDUP_MS,
    timestampWindowMs: STRIPE_TIMESTAMP_WINDOW_MS,
    precheck(r, at) {
      if (r.recordedAt < at - STRIPE_TIMESTAMP_WINDOW_MS + STRIPE_WINDOW_MARGIN_MS) {
        return `recorded ${new Date(r.recordedAt).toISOString()}: older than Stripe's 35-day timestamp window, Stripe would refuse it; bill it another way or extend the meter`;
      }
      return null;
    },
    request(records): HttpRequest {
      // No records is doctor's probe: an empty form records nothing; Stripe checks the key (401)
      // before it answers 400 parameter_missing.
      const first = records[0];
      return {
        method: 'POST',
        url: joinUrl(spec.url, '/v1/billing/meter_events'),
        headers: stripeV1Headers(spec),
        body: first ? stripeV1Form(first, spec) : '',
      };
    },
    classify(res: HttpResponse): Outcome {
      if (res.status === 400 && stripeErrorOf(res.body).code === 'resource_already_exists') {
        return { kind: 'delivered', rejected: [] }; // the identifier is there already: delivered before
      }
      const common = classifyCommon(res, now(), 'Stripe');
      if (common) return common;
      if (res.status >= 200 && res.status < 300) {
        const parsed = parseJson(res.body);
        if (!parsed.ok || !isObject(parsed.value) || parsed.value.object !== 'billing.meter_event')
          return malformed('Stripe', 'expected a billing.meter_event object');
        return { kind: 'delivered', rejected: [] };
      }
      const e = stripeErrorOf(res.body);
      // One event per request: a refusal names this record.
      return {
        kind: 'split',
        reason: `Stripe refused the meter event (HTTP ${res.status}): ${[e.code, e.message].filter(Boolean).join(': ')}`,
      };
    },
  };
}
