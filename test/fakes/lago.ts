// A strict fake of Lago's batch events endpoint: POST /api/v1/events/batch with a Bearer API key
// and {events: [1…100]}; each event needs transaction_id, external_subscription_id and the code of
// a billable metric that exists; timestamp is Unix seconds (number or numeric string); properties
// an object. One invalid event refuses the whole batch with 422 validation_errors and
// error_details per index; a transaction_id seen before is "value_already_exist". 200 echoes events.
import { randomUUID } from 'node:crypto';
import { bearer, startFake, type FakeServer } from './server';

export interface LagoFake extends FakeServer {
  /** Stored events by transaction_id. */
  readonly events: Map<string, Record<string, unknown>>;
  readonly metrics: Set<string>;
}

const ALLOWED = new Set([
  'transaction_id',
  'external_subscription_id',
  'external_customer_id',
  'code',
  'timestamp',
  'properties',
  'precise_total_amount_cents',
]);

function unprocessable(details: Record<string, unknown>) {
  return { status: 422, body: { status: 422, error: 'Unprocessable Entity', code: 'validation_errors', error_details: details } };
}

export async function startLagoFake(
  apiKey = 'lago_test_key',
  metrics: readonly string[] = ['api', 'storage', 'bandwidth', 'compute', 'database', 'functions'],
): Promise<LagoFake> {
  const events = new Map<string, Record<string, unknown>>();
  const known = new Set(metrics);
  const server = await startFake((req) => {
    if (req.method !== 'POST' || req.path !== '/api/v1/events/batch')
      return { status: 404, body: { status: 404, error: 'Not Found', code: 'route_not_found' } };
    if (bearer(req) !== apiKey) return { status: 401, body: { status: 401, error: 'Unauthorized' } };
    if (!String(req.headers['content-type'] ?? '').startsWith('application/json'))
      return { status: 400, body: { status: 400, error: 'Bad Request', code: 'bad_request' } };
    let body: { events?: unknown };
    try {
      body = JSON.parse(req.body) as { events?: unknown };
    } catch {
      return { status: 400, body: { status: 400, error: 'Bad Request', code: 'bad_request' } };
    }
    if (!Array.isArray(body.events) || body.events.length === 0) return unprocessable({ events: ['invalid_value'] });
    if (body.events.length > 100) return unprocessable({ events: ['too_many_events'] });
    const details: Record<string, Record<string, string[]>> = {};
    const seen = new Set<string>();
    body.events.forEach((e: unknown, i: number) => {
      const errs: Record<string, string[]> = {};
      const ev = (typeof e === 'object' && e !== null ? e : {}) as Record<string, unknown>;
      for (const k of Object.keys(ev)) if (!ALLOWED.has(k)) errs[k] = ['unknown_field'];
      if (typeof ev.transaction_id !== 'string' || ev.transaction_id === '') errs.transaction_id = ['value_is_mandatory'];
      else if (events.has(ev.transaction_id) || seen.has(ev.transaction_id)) errs.transaction_id = ['value_already_exist'];
      else seen.add(ev.transaction_id);
      if (typeof ev.external_subscription_id !== 'string' || ev.external_subscription_id === '')
        errs.external_subscription_id = ['value_is_mandatory'];
      if (typeof ev.code !== 'string' || !known.has(ev.code)) errs.code = ['billable_metric_not_found'];
      if (
        ev.timestamp !== undefined &&
        !(typeof ev.timestamp === 'number' || (typeof ev.timestamp === 'string' && /^\d+(\.\d+)?$/.test(ev.timestamp)))
      )
        errs.timestamp = ['invalid_timestamp'];
      if (ev.properties !== undefined && (typeof ev.properties !== 'object' || ev.properties === null || Array.isArray(ev.properties)))
        errs.properties = ['invalid_value'];
      if (Object.keys(errs).length) details[String(i)] = errs;
    });
    if (Object.keys(details).length) return unprocessable(details);
    const out = (body.events as Record<string, unknown>[]).map((e) => {
      events.set(e.transaction_id as string, e);
      return {
        lago_id: randomUUID(),
        lago_subscription_id: randomUUID(),
        lago_customer_id: randomUUID(),
        ...e,
        created_at: new Date().toISOString(),
      };
    });
    return { status: 200, body: { events: out } };
  });
  return Object.assign(server, { events, metrics: known });
}
