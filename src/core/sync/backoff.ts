// Exponential backoff with full jitter (a random delay in [0, min(cap, base·2^attempt)]):
// many agents failing together spread their retries instead of returning in lockstep.
// A Retry-After from the endpoint is a floor: never come back sooner than asked.

export interface BackoffPolicy {
  readonly baseMs: number;
  readonly maxMs: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { baseMs: 1000, maxMs: 5 * 60_000 };
/** Longest Retry-After honoured: a broken endpoint must not park a target for days. */
export const MAX_RETRY_AFTER_MS = 60 * 60_000;

export function backoffDelay(attempt: number, policy: BackoffPolicy, random: () => number = Math.random, retryAfterMs?: number): number {
  const ceiling = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.min(Math.max(attempt, 0), 30));
  const jittered = Math.floor(random() * ceiling);
  if (retryAfterMs === undefined) return jittered;
  return Math.max(Math.min(retryAfterMs, MAX_RETRY_AFTER_MS), jittered);
}

/** Retry-After as delay-seconds or an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | undefined, now: number): number | undefined {
  if (value === undefined) return undefined;
  const t = value.trim();
  if (/^\d+$/.test(t)) return Number(t) * 1000;
  const at = Date.parse(t);
  if (Number.isNaN(at) || !/[A-Za-z]/.test(t)) return undefined;
  return Math.max(0, at - now);
}
