// Corrections carried to sync targets. Each target learns of each void or amend once, after the
// record itself was delivered to it: the Tally collector applies it (same ids); Stripe cancels the
// event through its meter event adjustments while its 24-hour window is open; a target that
// cannot retract an event (OpenMeter, Lago, or Stripe past the window) gets nothing sent, and the
// correction is listed for a person to adjust at the vendor ("manual"). An amend's replacement
// is an ordinary record and syncs like one.
import { classifyCommon, isObject, joinUrl, jsonHeaders, parseJson } from './classify';
import { STRIPE_DEFAULT_VERSION } from './stripe';
import { stripeErrorOf, stripeV1Headers } from './stripe-v1';
import type { HttpRequest, HttpResponse, TargetSpec } from './types';

/** A correction as the outbox holds it. */
export interface SyncCorrection {
  readonly seq: number;
  readonly kind: 'void' | 'amend';
  readonly recordId: string;
  readonly recordSeq: number;
  readonly newId: string | null;
  readonly newSeq: number | null;
  readonly customerId: string;
  readonly service: string;
  readonly recordedAt: number;
  /** The original's base quantity and cost. */
  readonly quantity: number;
  readonly costNanos: number;
  readonly deltaCostNanos: number;
  readonly reason: string;
  readonly actor: string;
  readonly at: number;
  /** The cost the correction moved per record (re-pricing included): what a receiver applies. */
  readonly costs: ReadonlyArray<{ readonly id: string; readonly costNanos: number }>;
}

export type CorrectionOutcome =
  | { readonly kind: 'delivered' }
  /** Nothing more will be sent: a person adjusts at the vendor. */
  | { readonly kind: 'manual'; readonly reason: string }
  | { readonly kind: 'retry'; readonly reason: string; readonly retryAfterMs?: number };

export interface CorrectionAdapter {
  request(c: SyncCorrection): HttpRequest;
  classify(res: HttpResponse, c: SyncCorrection): CorrectionOutcome;
}

export const STRIPE_CANCEL_WINDOW_MS = 24 * 3_600_000;

/** How a target takes corrections; null: it cannot retract an event, the correction is manual. */
export function correctionAdapterFor(spec: TargetSpec, now: () => number): CorrectionAdapter | null {
  switch (spec.kind) {
    case 'stripe':
      return stripeCancel(spec, now);
    case 'tally':
      return nativeCorrection(spec, now);
    case 'openmeter':
    case 'lago':
      return null;
  }
}

export function manualReason(spec: TargetSpec): string {
  const vendor = spec.kind === 'openmeter' ? 'OpenMeter' : spec.kind === 'lago' ? 'Lago' : spec.kind;
  return `${vendor} cannot retract an event it has taken: adjust it at ${vendor} by hand, then mark this done`;
}

/** Non-2xx answers shared by both: retry when the vendor may answer better later. */
function common(res: HttpResponse, now: number, vendor: string): CorrectionOutcome | null {
  const c = classifyCommon(res, now, vendor);
  if (c === null) return null;
  if (c.kind === 'retry')
    return c.retryAfterMs === undefined
      ? { kind: 'retry', reason: c.reason }
      : { kind: 'retry', reason: c.reason, retryAfterMs: c.retryAfterMs };
  // Refused credentials or a wrong URL: the record pass stops the target; corrections wait for the fix.
  return { kind: 'retry', reason: 'reason' in c ? c.reason : `${vendor} refused` };
}

function stripeCancel(spec: TargetSpec, now: () => number): CorrectionAdapter {
  const eventName = (c: SyncCorrection) => spec.options.eventNames?.[c.service] ?? c.service;
  // The same key for every attempt: a resend after a lost answer is not a second cancellation.
  const key = (c: SyncCorrection) => `tally-cancel-${c.recordId}`;
  return {
    request(c) {
      if (spec.options.api === 'v2') {
        return {
          method: 'POST',
          url: joinUrl(spec.url, '/v2/billing/meter_event_adjustments'),
          headers: {
            ...jsonHeaders(spec.token),
            'stripe-version': spec.options.stripeVersion ?? STRIPE_DEFAULT_VERSION,
            'idempotency-key': key(c),
          },
          body: JSON.stringify({ event_name: eventName(c), type: 'cancel', cancel: { identifier: c.recordId } }),
        };
      }
      const form = new URLSearchParams({ event_name: eventName(c), type: 'cancel', 'cancel[identifier]': c.recordId });
      return {
        method: 'POST',
        url: joinUrl(spec.url, '/v1/billing/meter_event_adjustments'),
        headers: stripeV1Headers(spec, key(c)),
        body: form.toString(),
      };
    },
    classify(res) {
      const shared = common(res, now(), 'Stripe');
      if (shared) return shared;
      if (res.status >= 200 && res.status < 300) {
        const parsed = parseJson(res.body);
        const ok = parsed.ok && isObject(parsed.value) && /billing\.meter_event_adjustment$/.test(String(parsed.value.object));
        return ok ? { kind: 'delivered' } : { kind: 'retry', reason: 'Stripe answered 2xx with a malformed adjustment' };
      }
      // Past the 24-hour window, or an event Stripe no longer finds: only a person can fix the invoice now.
      const e = stripeErrorOf(res.body);
      return {
        kind: 'manual',
        reason: `Stripe could not cancel the event (HTTP ${res.status}${e.code ? ` ${e.code}` : ''}: ${e.message}); Stripe cancels only within 24 hours of receiving an event: adjust the invoice or credit the customer at Stripe`,
      };
    },
  };
}

function nativeCorrection(spec: TargetSpec, now: () => number): CorrectionAdapter {
  return {
    request(c) {
      return {
        method: 'POST',
        url: joinUrl(spec.url, '/v1/corrections'),
        headers: jsonHeaders(spec.token),
        body: JSON.stringify({
          corrections: [
            {
              kind: c.kind,
              id: c.recordId,
              newId: c.newId,
              reason: c.reason,
              by: c.actor,
              at: c.at,
              costs: c.costs,
            },
          ],
        }),
      };
    },
    classify(res) {
      const shared = common(res, now(), 'the collector');
      if (shared) return shared;
      if (res.status >= 200 && res.status < 300) return { kind: 'delivered' };
      return { kind: 'manual', reason: `the collector refused the correction (HTTP ${res.status}): ${res.body.slice(0, 200)}` };
    },
  };
}
