// A strict fake of Stripe's v2 meter event stream:
//   POST /v2/billing/meter_event_session   (secret key, Stripe-Version) → a session token
//   POST /v2/billing/meter_event_stream    (session token) {events: [1…100]} → 200 {}
// Each event: event_name of an existing meter, identifier (≤ 100 chars), timestamp (RFC 3339,
// within the last 35 days and at most 5 minutes ahead), payload {stripe_customer_id, value: a
// numeric string of at most 15 significant digits}. Unknown fields are refused. Errors are
// {error: {type, code, message}}; an expired session gets 401 billing_meter_event_session_expired.
// Identifiers are deduplicated for 24 hours only, like Stripe's.
import { randomBytes } from 'node:crypto';
import { bearer, startFake, type FakeServer } from './server';

export interface StripeFake extends FakeServer {
  /** Accepted events by identifier (a duplicate within 24 h is not stored twice). */
  readonly events: Map<string, { event: Record<string, unknown>; at: number }>;
  readonly meters: Set<string>;
  /** Expire every session now (the next stream call gets 401). */
  expireSessions(): void;
  /** Accepted events, counting duplicates past the dedup window (what Stripe would bill). */
  readonly billed: number;
}

const EVENT_KEYS = new Set(['event_name', 'identifier', 'timestamp', 'payload']);
const PAYLOAD_KEYS = new Set(['stripe_customer_id', 'value']);

function error(status: number, code: string, message: string) {
  return { status, body: { error: { type: 'invalid_request_error', code, message } } };
}

export function significantDigits(value: string): number {
  const digits = value.replace('.', '').replace(/^0+/, '');
  const trimmed = value.includes('.') ? digits : digits.replace(/0+$/, '');
  return Math.max(trimmed.length, 1);
}

export async function startStripeFake(
  options: { secretKey?: string; meters?: readonly string[]; now?: () => number } = {},
): Promise<StripeFake> {
  const secretKey = options.secretKey ?? 'sk_test_tally';
  const now = options.now ?? Date.now;
  const sessions = new Map<string, number>();
  const events = new Map<string, { event: Record<string, unknown>; at: number }>();
  const meters = new Set(options.meters ?? ['api', 'storage', 'bandwidth', 'compute', 'database', 'functions']);
  const state = { billed: 0 };
  const server = await startFake((req) => {
    if (!/^\d{4}-\d{2}-\d{2}(\.[a-z]+)?$/.test(String(req.headers['stripe-version'] ?? '')))
      return error(400, 'stripe_version_required', 'Stripe-Version header is required for v2');
    if (req.method === 'POST' && req.path === '/v2/billing/meter_event_session') {
      if (bearer(req) !== secretKey)
        return {
          status: 401,
          body: { error: { type: 'invalid_request_error', code: 'api_key_invalid', message: 'Invalid API Key provided' } },
        };
      const token = `mes_tok_${randomBytes(12).toString('hex')}`;
      const expiresAt = now() + 15 * 60_000;
      sessions.set(token, expiresAt);
      return {
        status: 200,
        body: {
          id: `mes_${randomBytes(8).toString('hex')}`,
          object: 'v2.billing.meter_event_session',
          authentication_token: token,
          created: new Date(now()).toISOString(),
          expires_at: new Date(expiresAt).toISOString(),
          livemode: false,
        },
      };
    }
    if (req.method === 'POST' && req.path === '/v2/billing/meter_event_stream') {
      const token = bearer(req);
      const exp = token === null ? undefined : sessions.get(token);
      if (exp === undefined || exp <= now())
        return error(401, 'billing_meter_event_session_expired', 'The meter event session has expired');
      let body: { events?: unknown } & Record<string, unknown>;
      try {
        body = JSON.parse(req.body) as typeof body;
      } catch {
        return error(400, 'parameter_invalid', 'body is not JSON');
      }
      if (Object.keys(body).some((k) => k !== 'events')) return error(400, 'parameter_unknown', 'unknown top-level parameter');
      if (!Array.isArray(body.events) || body.events.length < 1 || body.events.length > 100)
        return error(400, 'parameter_invalid', 'events: 1 to 100 events');
      for (const [i, e] of (body.events as unknown[]).entries()) {
        const ev = (typeof e === 'object' && e !== null ? e : {}) as Record<string, unknown>;
        const bad = (m: string) => error(400, 'parameter_invalid', `events[${i}].${m}`);
        for (const k of Object.keys(ev)) if (!EVENT_KEYS.has(k)) return error(400, 'parameter_unknown', `events[${i}].${k}`);
        if (typeof ev.event_name !== 'string' || !meters.has(ev.event_name)) return bad('event_name: no active meter with this event name');
        if (typeof ev.identifier !== 'string' || ev.identifier.length < 1 || ev.identifier.length > 100) return bad('identifier');
        if (typeof ev.timestamp !== 'string' || !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(ev.timestamp))
          return bad('timestamp: RFC 3339');
        const at = Date.parse(ev.timestamp);
        if (at < now() - 35 * 86_400_000) return bad('timestamp: must be within the past 35 days');
        if (at > now() + 5 * 60_000) return bad('timestamp: must not be more than 5 minutes in the future');
        const p = (typeof ev.payload === 'object' && ev.payload !== null ? ev.payload : null) as Record<string, unknown> | null;
        if (!p) return bad('payload');
        for (const k of Object.keys(p)) if (!PAYLOAD_KEYS.has(k)) return bad(`payload.${k}: unknown`);
        if (typeof p.stripe_customer_id !== 'string' || p.stripe_customer_id === '') return bad('payload.stripe_customer_id');
        if (typeof p.value !== 'string' || !/^\d+(\.\d+)?$/.test(p.value)) return bad('payload.value: a numeric string');
        if (significantDigits(p.value) > 15) return bad('payload.value: at most 15 significant digits');
      }
      for (const ev of body.events as Record<string, unknown>[]) {
        const id = ev.identifier as string;
        const prev = events.get(id);
        if (prev && now() - prev.at < 24 * 3_600_000) continue; // deduplicated
        events.set(id, { event: ev, at: now() });
        state.billed++;
      }
      return { status: 200, body: {} };
    }
    return error(404, 'resource_missing', `${req.method} ${req.path}`);
  });
  const fake = Object.assign(server, { events, meters, expireSessions: () => sessions.clear() });
  Object.defineProperty(fake, 'billed', { get: () => state.billed });
  return fake as StripeFake;
}
