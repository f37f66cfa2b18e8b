// A strict fake of Stripe's meter events, v1 and v2, and their adjustments (cancel):
//   POST /v2/billing/meter_event_session   (secret key, Stripe-Version) → a session token
//   POST /v2/billing/meter_event_stream    (session token) {events: [1…100]} → 200 {}
//   POST /v1/billing/meter_events          (secret key, form: event_name, payload[stripe_customer_id],
//        payload[value], identifier, timestamp in Unix seconds) → the billing.meter_event; a
//        duplicate identifier within 24 h → 400 resource_already_exists
//   POST /v1/billing/meter_event_adjustments (form: event_name, type=cancel, cancel[identifier])
//   POST /v2/billing/meter_event_adjustments (JSON {event_name, type: "cancel", cancel: {identifier}})
//        → pending adjustment; only events Stripe received in the last 24 h can be cancelled.
// POSTs honour Idempotency-Key (the same key within 24 h replays the first answer).
// Each event: event_name of an existing meter, identifier (≤ 100 chars), timestamp (RFC 3339,
// within the last 35 days and at most 5 minutes ahead), payload {stripe_customer_id, value: a
// numeric string of at most 15 significant digits}. Unknown fields are refused. Errors are
// {error: {type, code, message}}; an expired session gets 401 billing_meter_event_session_expired.
// Identifiers are deduplicated for 24 hours only, like Stripe's.
import { randomBytes } from 'node:crypto';
import { bearer, startFake, type FakeReply, type FakeRequest, type FakeServer } from './server';

export interface StripeFake extends FakeServer {
  /** Accepted events by identifier (a duplicate within 24 h is not stored twice). */
  readonly events: Map<string, { event: Record<string, unknown>; at: number }>;
  /** Identifiers of cancelled events (each cancelled once). */
  readonly cancelled: Set<string>;
  /** Cancellations processed (an Idempotency-Key replay does not count): what Stripe would apply. */
  readonly cancels: number;
  /** From the (n+1)th cancellation on, apply it but never answer (a reply lost); null: answer again. */
  stallAfter(n: number | null): void;
  readonly meters: Set<string>;
  /** Expire every session now (the next stream call gets 401). */
  expireSessions(): void;
  /** Accepted events, counting duplicates past the dedup window (what Stripe would bill). */
  readonly billed: number;
}

const EVENT_KEYS = new Set(['event_name', 'identifier', 'timestamp', 'payload']);
const PAYLOAD_KEYS = new Set(['stripe_customer_id', 'value']);
const V1_KEYS = new Set(['event_name', 'identifier', 'timestamp', 'payload[stripe_customer_id]', 'payload[value]']);

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
  const state = { billed: 0, cancels: 0 };
  const cancelled = new Set<string>();
  const stall: { after: number | null } = { after: null };
  const replays = new Map<string, { reply: FakeReply; at: number }>();
  /** An event's checks shared by v1 and v2; null when it is fine. */
  const checkEvent = (ev: Record<string, unknown>, path: string): FakeReply | null => {
    const bad = (m: string) => error(400, 'parameter_invalid', `${path}${m}`);
    if (typeof ev.event_name !== 'string' || !meters.has(ev.event_name)) return bad('event_name: no active meter with this event name');
    if (typeof ev.identifier !== 'string' || ev.identifier.length < 1 || ev.identifier.length > 100) return bad('identifier');
    const p = (typeof ev.payload === 'object' && ev.payload !== null ? ev.payload : null) as Record<string, unknown> | null;
    if (!p) return bad('payload');
    for (const k of Object.keys(p)) if (!PAYLOAD_KEYS.has(k)) return bad(`payload.${k}: unknown`);
    if (typeof p.stripe_customer_id !== 'string' || p.stripe_customer_id === '') return bad('payload.stripe_customer_id');
    if (typeof p.value !== 'string' || !/^\d+(\.\d+)?$/.test(p.value)) return bad('payload.value: a numeric string');
    if (significantDigits(p.value) > 15) return bad('payload.value: at most 15 significant digits');
    return null;
  };
  const cancel = (eventName: unknown, identifier: unknown): FakeReply => {
    if (typeof identifier !== 'string' || identifier === '') return error(400, 'parameter_missing', 'cancel[identifier]');
    const ev = events.get(identifier);
    if (!ev || ev.event.event_name !== eventName)
      return error(400, 'resource_missing', `no meter event ${identifier} for ${String(eventName)}`);
    if (now() - ev.at > 24 * 3_600_000)
      return error(400, 'parameter_invalid', 'cancel[identifier]: events can be cancelled only within 24 hours of Stripe receiving them');
    cancelled.add(identifier);
    state.cancels++;
    return { status: 200, body: { status: 'pending', event_name: eventName, type: 'cancel', cancel: { identifier }, livemode: false } };
  };
  const v1 = (req: FakeRequest): FakeReply | null => {
    if (req.method !== 'POST' || !req.path.startsWith('/v1/')) return null;
    if (bearer(req) !== secretKey) return error(401, 'api_key_invalid', 'Invalid API Key provided');
    if (!String(req.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded'))
      return error(400, 'parameter_invalid', 'v1 takes form-encoded bodies');
    const form = new URLSearchParams(req.body);
    const keys = [...form.keys()];
    if (req.path === '/v1/billing/meter_event_adjustments') {
      for (const k of keys) if (!['event_name', 'type', 'cancel[identifier]'].includes(k)) return error(400, 'parameter_unknown', k);
      if (form.get('type') !== 'cancel') return error(400, 'parameter_invalid', 'type: cancel');
      const r = cancel(form.get('event_name'), form.get('cancel[identifier]'));
      return r.status === 200 ? { status: 200, body: { object: 'billing.meter_event_adjustment', ...(r.body as object) } } : r;
    }
    if (req.path !== '/v1/billing/meter_events') return error(404, 'resource_missing', `POST ${req.path}`);
    for (const k of keys) if (!V1_KEYS.has(k)) return error(400, 'parameter_unknown', k);
    if (keys.length !== new Set(keys).size) return error(400, 'parameter_invalid', 'a parameter is repeated');
    const ts = form.get('timestamp');
    if (ts !== null && !/^\d{1,12}$/.test(ts)) return error(400, 'parameter_invalid', 'timestamp: Unix seconds');
    const at = ts === null ? now() : Number(ts) * 1000;
    if (at < now() - 35 * 86_400_000) return error(400, 'parameter_invalid', 'timestamp: must be within the past 35 days');
    if (at > now() + 5 * 60_000) return error(400, 'parameter_invalid', 'timestamp: must not be more than 5 minutes in the future');
    const ev = {
      event_name: form.get('event_name'),
      identifier: form.get('identifier') ?? `gen_${randomBytes(8).toString('hex')}`,
      timestamp: new Date(Math.floor(at / 1000) * 1000).toISOString(),
      payload: { stripe_customer_id: form.get('payload[stripe_customer_id]'), value: form.get('payload[value]') },
    };
    const bad = checkEvent(ev, '');
    if (bad) return bad;
    const prev = events.get(ev.identifier);
    if (prev && now() - prev.at < 24 * 3_600_000)
      return error(400, 'resource_already_exists', `An event already exists with identifier ${ev.identifier}.`);
    events.set(ev.identifier, { event: ev, at: now() });
    state.billed++;
    return {
      status: 200,
      body: { object: 'billing.meter_event', ...ev, timestamp: Math.floor(at / 1000), created: Math.floor(now() / 1000), livemode: false },
    };
  };
  const server = await startFake((req) => {
    const key = req.headers['idempotency-key'];
    const replay = typeof key === 'string' ? replays.get(`${req.path} ${key}`) : undefined;
    if (replay && now() - replay.at < 24 * 3_600_000) return replay.reply;
    const reply = handle(req);
    if (typeof key === 'string' && reply.status < 500) replays.set(`${req.path} ${key}`, { reply, at: now() });
    if (stall.after !== null && req.path.endsWith('/meter_event_adjustments') && state.cancels > stall.after) return 'hang';
    return reply;
  });
  function handle(req: FakeRequest): FakeReply {
    const first = v1(req);
    if (first) return first;
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
    if (req.method === 'POST' && req.path === '/v2/billing/meter_event_adjustments') {
      if (bearer(req) !== secretKey) return error(401, 'api_key_invalid', 'Invalid API Key provided');
      let body: Record<string, unknown>;
      try {
        body = JSON.parse(req.body) as Record<string, unknown>;
      } catch {
        return error(400, 'parameter_invalid', 'body is not JSON');
      }
      for (const k of Object.keys(body)) if (!['event_name', 'type', 'cancel'].includes(k)) return error(400, 'parameter_unknown', k);
      if (body.type !== 'cancel') return error(400, 'parameter_invalid', 'type: cancel');
      const c = (typeof body.cancel === 'object' && body.cancel !== null ? body.cancel : {}) as Record<string, unknown>;
      const r = cancel(body.event_name, c.identifier);
      if (r.status !== 200) return r;
      return {
        status: 200,
        body: {
          object: 'v2.billing.meter_event_adjustment',
          id: `mtr_event_adj_${randomBytes(6).toString('hex')}`,
          created: new Date(now()).toISOString(),
          ...(r.body as object),
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
  }
  const fake = Object.assign(server, {
    events,
    cancelled,
    meters,
    expireSessions: () => sessions.clear(),
    stallAfter: (n: number | null) => void (stall.after = n),
  });
  Object.defineProperty(fake, 'billed', { get: () => state.billed });
  Object.defineProperty(fake, 'cancels', { get: () => state.cancels });
  return fake as StripeFake;
}
