// What the sync worker sends and how an endpoint's answer is read. Adapters are pure: they
// turn records into one HTTP request and an HTTP response into an outcome; the agent does I/O.
import type { UsageRecord } from '../records';

export type TargetKind = 'openmeter' | 'lago' | 'stripe' | 'tally';
export const TARGET_KINDS: readonly TargetKind[] = ['openmeter', 'lago', 'stripe', 'tally'];

/**
 * One record in the outbox, as every adapter reads it: a stored record whose metadata stays the
 * JSON text it was stored as (adapters embed it without re-encoding). Its `id` (ULID) is the
 * idempotency key on every protocol.
 */
export type SyncRecord = Omit<UsageRecord, 'metadata'> & {
  readonly metadata: string;
  /** The exact base quantity as decimal text (`quantity` is its double, inexact past 2^53). */
  readonly quantityText?: string;
};

export interface HttpRequest {
  readonly method: 'POST' | 'GET';
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: string;
}

export interface HttpResponse {
  readonly status: number;
  /** Lower-case names. */
  readonly headers: Readonly<Record<string, string | undefined>>;
  readonly body: string;
}

export interface Rejection {
  /** Index into the batch that was sent. */
  readonly index: number;
  readonly reason: string;
}

export type Outcome =
  /** Accepted (or already there); `rejected` lists records the endpoint refused one by one. */
  | { readonly kind: 'delivered'; readonly rejected: readonly Rejection[] }
  /** Try again later. `unknown`: the endpoint may have stored the batch (timeout, reset, 5xx, garbled 2xx). */
  | { readonly kind: 'retry'; readonly reason: string; readonly unknown: boolean; readonly retryAfterMs?: number }
  /** The batch was refused because of some record in it, without saying which: split it. */
  | { readonly kind: 'split'; readonly reason: string }
  /** Credentials refused (401/403): stop this target until someone fixes it. */
  | { readonly kind: 'stop'; readonly reason: string }
  /** A short-lived session expired: get a new one and send again. */
  | { readonly kind: 'reauth'; readonly reason: string };

export interface Session {
  readonly token: string;
  readonly expiresAt: number;
}

/** A validated target, as adapters see it (token included: never log or return this object). */
export interface TargetSpec {
  readonly name: string;
  readonly kind: TargetKind;
  readonly url: string;
  readonly token: string | null;
  readonly batchSize: number;
  readonly options: TargetOptions;
}

export interface TargetOptions {
  /** service → vendor meter / metric code / event name; default: the service name. */
  readonly eventNames?: Readonly<Record<string, string>>;
  /** Tally customer id → vendor customer (Stripe customer id, Lago external subscription id). */
  readonly customers?: Readonly<Record<string, string>>;
  /** Stripe: the meter event stream's base URL (default https://meter-events.stripe.com). */
  readonly streamUrl?: string;
  /** Stripe: the Stripe-Version header. */
  readonly stripeVersion?: string;
  /** Stripe: v1 meter events (one form-encoded request per event, the default) or the v2 meter event stream. */
  readonly api?: 'v1' | 'v2';
  /** Lago: the property the billable metric aggregates (default "value"). */
  readonly valueProperty?: string;
}

export interface Adapter {
  readonly kind: TargetKind;
  /** The vendor's limit on events per request. */
  readonly maxBatch: number;
  /** How long the endpoint remembers an idempotency key; past it, an unknown outcome cannot be retried blind. */
  readonly dedupWindowMs: number | null;
  /** How old a record's timestamp may be and still be accepted. */
  readonly timestampWindowMs: number | null;
  /** A reason to reject a record without sending it (outside the vendor's window), or null. */
  precheck(record: SyncRecord, now: number): string | null;
  /** Adapters with short-lived sessions (Stripe's meter event stream). */
  readonly session?: {
    request(): HttpRequest;
    read(res: HttpResponse, now: number): Session | Outcome;
  };
  request(records: readonly SyncRecord[], session: Session | null): HttpRequest;
  classify(res: HttpResponse, records: readonly SyncRecord[]): Outcome;
}
