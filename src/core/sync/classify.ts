// What every protocol shares in reading an answer: 401/403 stop the target, 408/429/5xx come
// back later (honouring Retry-After), and a 2xx whose body is not what the vendor documents
// is an unknown outcome, not a success.
import { parseRetryAfter } from './backoff';
import type { HttpResponse, Outcome } from './types';
import { isObject } from '../objects';

/** The first 200 characters of a body, for error messages (bodies never carry our secrets). */
export function snippet(body: string): string {
  const flat = body.replace(/\s+/g, ' ').trim();
  return flat.length > 200 ? `${flat.slice(0, 200)}…` : flat;
}

/** Outcomes decided by the status alone, or null when the adapter must look at the body. */
export function classifyCommon(res: HttpResponse, now: number, vendor: string): Outcome | null {
  const s = res.status;
  if (s === 401 || s === 403) {
    return {
      kind: 'stop',
      reason: `${vendor} refused the credentials (HTTP ${s}): ${errorText(res.body)}; fix the token, then run \`tally sync target add\` again`,
    };
  }
  if (s === 404 || s === 405 || s === 406 || s === 415) {
    // Not a bad record: the URL or the protocol is wrong, and every record would fail the same way.
    return {
      kind: 'stop',
      reason: `${vendor} answered HTTP ${s} (${errorText(res.body)}): check the target's URL and kind, then run \`tally sync target add\` again`,
    };
  }
  if (s === 408 || s === 429 || s >= 500) {
    const retryAfterMs = parseRetryAfter(res.headers['retry-after'], now);
    // 429 means "not processed"; a 5xx or 408 may have happened after the endpoint stored the batch.
    const reason = `${vendor} answered HTTP ${s}${retryAfterMs !== undefined ? ` (retry after ${Math.ceil(retryAfterMs / 1000)} s)` : ''}`;
    return retryAfterMs === undefined
      ? { kind: 'retry', reason, unknown: s !== 429 }
      : { kind: 'retry', reason, unknown: s !== 429, retryAfterMs };
  }
  if (s < 200 || (s >= 300 && s < 400)) return { kind: 'retry', reason: `${vendor} answered HTTP ${s}`, unknown: true };
  return null;
}

/** The human part of an error body in the shapes vendors use ({error: {message}}, problem+json, {error, code}). */
export function errorText(body: string): string {
  const parsed = parseJson(body);
  if (parsed.ok && isObject(parsed.value)) {
    const v = parsed.value;
    if (isObject(v.error) && typeof v.error.message === 'string') return v.error.message;
    const parts = [v.title, v.detail, v.error, v.code, v.message].filter((x): x is string => typeof x === 'string');
    if (parts.length) return parts.join(': ');
  }
  return snippet(body) || 'no detail';
}

export function malformed(vendor: string, problem: string): Outcome {
  return { kind: 'retry', reason: `${vendor} answered 2xx with a malformed body: ${problem}`, unknown: true };
}

export function parseJson(body: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(body) };
  } catch {
    return { ok: false };
  }
}

export { isObject };

export function joinUrl(base: string, path: string): string {
  return base.replace(/\/+$/, '') + path;
}

export function metadataOf(text: string): Record<string, unknown> {
  const v = parseJson(text);
  return v.ok && isObject(v.value) ? v.value : {};
}

/** Request headers for a JSON endpoint, with the target's bearer token when it has one. */
export function jsonHeaders(
  token: string | null | undefined,
  contentType = 'application/json',
  accept = 'application/json',
): Record<string, string> {
  const headers: Record<string, string> = { 'content-type': contentType, accept };
  if (token) headers.authorization = `Bearer ${token}`;
  return headers;
}
