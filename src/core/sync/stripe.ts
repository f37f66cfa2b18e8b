// Stripe Billing meter events through the v2 meter event stream:
//   POST {url}/v2/billing/meter_event_session (secret key) → a session token valid ~15 minutes;
//   POST {streamUrl}/v2/billing/meter_event_stream (session token) {events: [≤ 100]} → 200 {}.
// Each event: event_name (the meter), identifier (the global id: Stripe's dedup key),
// timestamp (RFC 3339), payload {stripe_customer_id, value}. Stripe's guarantees are narrow:
// identifiers are deduplicated for about 24 hours, and timestamps are accepted only from the last
// 35 days (and at most 5 minutes ahead).
import { classifyCommon, isObject, joinUrl, malformed, parseJson, snippet } from './classify';
import type { Adapter, HttpResponse, Outcome, Session, SyncRecord, TargetSpec } from './types';

export const STRIPE_MAX_BATCH = 100;
export const STRIPE_DEDUP_MS = 24 * 3_600_000;
export const STRIPE_TIMESTAMP_WINDOW_MS = 35 * 86_400_000;
/** Margin for clock skew and the time a batch spends in flight. */
export const STRIPE_WINDOW_MARGIN_MS = 10 * 60_000;
export const STRIPE_DEFAULT_VERSION = '2026-04-22.preview';
export const STRIPE_STREAM_URL = 'https://meter-events.stripe.com';
export const STRIPE_MAX_DIGITS = 15;

/**
 * A quantity as Stripe's meter value: a plain decimal string with at most 15 significant digits
 * (Stripe refuses longer ones since API version 2026-04-22). The rounding happens here and only
 * here: on the shortest decimal text that reads back as the same double (what String(n) gives),
 * half away from zero, in decimal digits, so no binary arithmetic adds noise.
 * 0.30000000000000004 → "0.3"; 9007199254740991 → "9007199254740990"; 1e21 → "1000000000000000000000".
 */
export function stripeValue(quantity: number): string {
  if (!Number.isFinite(quantity) || quantity < 0) throw new RangeError('a meter value must be a finite number ≥ 0');
  const m = /^(\d+)(?:\.(\d+))?(?:e([+-]\d+))?$/.exec(String(quantity));
  if (!m) throw new RangeError(`cannot read ${quantity}`);
  let digits = (m[1]! + (m[2] ?? '')).replace(/^0+/, '');
  if (digits === '') return '0';
  // The decimal point sits after `point` digits of `digits` (may be ≤ 0 or past the end).
  const leadingZeros = (m[1]! + (m[2] ?? '')).length - (m[1]! + (m[2] ?? '')).replace(/^0+/, '').length;
  let point = m[1]!.length - leadingZeros + Number(m[3] ?? 0);
  if (digits.length > STRIPE_MAX_DIGITS) {
    const roundUp = digits.charCodeAt(STRIPE_MAX_DIGITS) >= 53; // '5'
    digits = digits.slice(0, STRIPE_MAX_DIGITS);
    if (roundUp) {
      const bumped = (BigInt(digits) + 1n).toString();
      if (bumped.length > digits.length) point++; // 999… → 1000…
      digits = bumped.slice(0, STRIPE_MAX_DIGITS);
    }
  }
  digits = digits.replace(/0+$/, '') || '0';
  if (point <= 0) return `0.${'0'.repeat(-point)}${digits}`;
  if (point >= digits.length) return digits + '0'.repeat(point - digits.length);
  return `${digits.slice(0, point)}.${digits.slice(point)}`;
}

export function stripeEvent(r: SyncRecord, spec: TargetSpec): Record<string, unknown> {
  return {
    event_name: spec.options.eventNames?.[r.service] ?? r.service,
    identifier: r.id,
    timestamp: new Date(r.recordedAt).toISOString(),
    payload: { stripe_customer_id: spec.options.customers?.[r.customerId] ?? r.customerId, value: stripeValue(r.quantity) },
  };
}

export function stripeAdapter(spec: TargetSpec, now: () => number): Adapter {
  const version = spec.options.stripeVersion ?? STRIPE_DEFAULT_VERSION;
  const streamUrl = spec.options.streamUrl ?? STRIPE_STREAM_URL;
  return {
    kind: 'stripe',
    maxBatch: STRIPE_MAX_BATCH,
    dedupWindowMs: STRIPE_DEDUP_MS,
    timestampWindowMs: STRIPE_TIMESTAMP_WINDOW_MS,
    precheck(r, at) {
      if (r.recordedAt < at - STRIPE_TIMESTAMP_WINDOW_MS + STRIPE_WINDOW_MARGIN_MS) {
        return `recorded ${new Date(r.recordedAt).toISOString()}: older than Stripe's 35-day timestamp window, Stripe would refuse it; bill it another way or extend the meter`;
      }
      return null;
    },
    session: {
      request() {
        return {
          method: 'POST',
          url: joinUrl(spec.url, '/v2/billing/meter_event_session'),
          headers: { authorization: `Bearer ${spec.token ?? ''}`, 'stripe-version': version, 'content-type': 'application/json' },
          body: '{}',
        };
      },
      read(res: HttpResponse, at: number): Session | Outcome {
        const common = classifyCommon(res, at, 'Stripe');
        if (common) return common.kind === 'retry' ? { ...common, unknown: false } : common;
        const parsed = parseJson(res.body);
        if (res.status >= 300)
          return { kind: 'stop', reason: `Stripe refused to open a meter event session (HTTP ${res.status}): ${stripeError(res.body)}` };
        const v = parsed.ok ? parsed.value : null;
        if (
          !isObject(v) ||
          typeof v.authentication_token !== 'string' ||
          v.authentication_token === '' ||
          typeof v.expires_at !== 'string' ||
          Number.isNaN(Date.parse(v.expires_at))
        ) {
          return {
            kind: 'retry',
            reason: 'Stripe answered the session request with a malformed body: authentication_token / expires_at',
            unknown: false,
          };
        }
        return { token: v.authentication_token, expiresAt: Date.parse(v.expires_at) };
      },
    },
    request(records, session) {
      return {
        method: 'POST',
        url: joinUrl(streamUrl, '/v2/billing/meter_event_stream'),
        headers: { authorization: `Bearer ${session?.token ?? ''}`, 'stripe-version': version, 'content-type': 'application/json' },
        body: JSON.stringify({ events: records.map((r) => stripeEvent(r, spec)) }),
      };
    },
    classify(res: HttpResponse): Outcome {
      if (res.status === 401 && /billing_meter_event_session_expired/.test(res.body))
        return { kind: 'reauth', reason: 'Stripe meter event session expired' };
      const common = classifyCommon(res, now(), 'Stripe');
      if (common) return common;
      if (res.status >= 200 && res.status < 300) {
        const parsed = parseJson(res.body);
        if (!parsed.ok || !isObject(parsed.value)) return malformed('Stripe', 'expected a JSON object');
        return { kind: 'delivered', rejected: [] };
      }
      return { kind: 'split', reason: `Stripe refused the meter events (HTTP ${res.status}): ${stripeError(res.body)}` };
    },
  };
}

function stripeError(body: string): string {
  const parsed = parseJson(body);
  if (parsed.ok && isObject(parsed.value) && isObject(parsed.value.error)) {
    const e = parsed.value.error;
    return [e.code, e.message].filter((x) => typeof x === 'string').join(': ') || snippet(body);
  }
  return snippet(body) || 'no detail';
}
