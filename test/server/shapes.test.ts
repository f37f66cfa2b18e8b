// Other callers' shapes on a real agent: the second seed's curl examples (LLM event with an
// X-API-Key, service registration with per-model rates), its document event, a CloudEvent in
// binary mode from the official `cloudevents` SDK, and OpenMeter's own SDK pointed at the agent.
import { OpenMeter } from '@openmeter/sdk';
import { CloudEvent, HTTP } from 'cloudevents';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { raw, startAgent, type TestAgent } from './agent';

let agent: TestAgent;
let key: string;

const admin = () => ({ authorization: `Bearer ${agent.server.token}`, 'content-type': 'application/json' });

async function post(path: string, body: unknown, headers: Record<string, string> = admin()) {
  return raw(agent.server.url, 'POST', path, { headers, body: JSON.stringify(body) });
}

function rows(sql: string, ...args: unknown[]) {
  return agent.tdb.sqlite.prepare(sql).all(...args) as Array<Record<string, unknown>>;
}

// The second seed's README, unchanged but for the URL and key.
const seedLlmEvent = {
  tenant_id: 'tenant-123',
  user_id: 'user-456',
  service_type: 'llm_service',
  service_provider: 'openai',
  event_type: 'completion',
  metadata: { model: 'gpt-4', temperature: 0.7 },
  metrics: { input_tokens: 150, output_tokens: 75, latency_ms: 2500 },
};
const seedRegistration = {
  service_type: 'custom_ml_service',
  service_name: 'Custom ML Service',
  providers: ['provider_a', 'provider_b'],
  required_fields: ['model_version', 'predictions'],
  billing_config: { unit: 'predictions', calculation_method: 'multiply', rates: { standard: 0.001 } },
};

beforeAll(async () => {
  agent = await startAgent();
  const res = await post('/api/call/keys.create', { customer: 'tenant-123', scope: 'ingest' });
  key = res.json<{ data: { key: string } }>().data.key;
});
afterAll(() => agent.stop());

describe('the second seed', () => {
  it("the README's LLM event with X-API-Key becomes llm_input and llm_output records", async () => {
    const res = await post('/v1/events', seedLlmEvent, { 'x-api-key': key, 'content-type': 'application/json' });
    expect(res.status).toBe(201);
    const stored = rows(
      "SELECT service, quantity, customer_id, user_id, metadata FROM usage_records WHERE customer_id = 'tenant-123' ORDER BY service",
    );
    expect(stored.map((r) => [r.service, Number(r.quantity), r.customer_id, r.user_id])).toEqual([
      ['llm_input', 150, 'tenant-123', 'user-456'],
      ['llm_output', 75, 'tenant-123', 'user-456'],
    ]);
    expect(JSON.parse(stored[0]!.metadata as string)).toMatchObject({
      model: 'gpt-4',
      provider: 'openai',
      event_type: 'completion',
      latency_ms: 2500,
    });
  });

  it("the README's service registration succeeds and its service takes events", async () => {
    const res = await post('/v1/services', seedRegistration, { 'x-api-key': agent.server.token, 'content-type': 'application/json' });
    expect(res.status).toBe(201);
    const event = {
      tenant_id: 't2',
      service_type: 'custom_ml_service',
      service_provider: 'provider_a',
      metadata: { model_version: 'v3', predictions: 'batch' },
      metrics: { quantity: 40 },
    };
    expect((await post('/v1/events', event)).status).toBe(201);
    const [row] = rows("SELECT cost_nanos FROM usage_records WHERE service = 'custom_ml_service'");
    expect(Number(row!.cost_nanos)).toBe(40_000_000); // 40 × 0.001
    const log = await raw(agent.server.url, 'GET', '/v1/events?service=custom_ml_service', { headers: admin() });
    expect(log.json<{ events: Array<{ quantity: number; metadata: Record<string, unknown> }> }>().events[0]).toMatchObject({
      quantity: 40,
      metadata: { provider: 'provider_a', model_version: 'v3' },
    });
  });

  it('rates per model price each LLM call by its model', async () => {
    const registration = {
      service_type: 'llm_service',
      service_name: 'LLM',
      providers: ['openai'],
      billing_config: { unit: 'tokens', calculation_method: 'multiply', rates: { 'gpt-4': 0.00003, 'gpt-3.5': 0.000002 } },
    };
    expect((await post('/v1/services', registration)).status).toBe(201);
    for (const model of ['gpt-4', 'gpt-3.5'])
      expect((await post('/v1/events', { ...seedLlmEvent, tenant_id: 'priced', metadata: { model } })).status).toBe(201);
    const costs = rows(
      "SELECT json_extract(metadata, '$.model') AS model, service, cost_nanos FROM usage_records WHERE customer_id = 'priced' ORDER BY model, service",
    );
    expect(costs.map((r) => [r.model, r.service, Number(r.cost_nanos)])).toEqual([
      ['gpt-3.5', 'llm_input', 300_000], // 150 × 0.000002
      ['gpt-3.5', 'llm_output', 150_000], // 75 × 0.000002
      ['gpt-4', 'llm_input', 4_500_000], // 150 × 0.00003
      ['gpt-4', 'llm_output', 2_250_000], // 75 × 0.00003
    ]);
  });

  it('a document event becomes document pages; a missing metric is refused naming it', async () => {
    const doc = {
      tenant_id: 'docs',
      user_id: 'user-123',
      service_type: 'document_service',
      service_provider: 'document_ai',
      document_type: 'invoice',
      processing_type: 'data_extraction',
      metadata: { accuracy: 0.98 },
      metrics: { pages_processed: 5 },
    };
    expect((await post('/v1/events', doc)).status).toBe(201);
    const [row] = rows("SELECT service, quantity, metadata FROM usage_records WHERE customer_id = 'docs'");
    expect([row!.service, Number(row!.quantity)]).toEqual(['document', 5]);
    expect(JSON.parse(row!.metadata as string)).toMatchObject({ document_type: 'invoice', processing_type: 'data_extraction' });
    const bad = await post('/v1/events', { ...doc, metrics: {} });
    expect(bad.status).toBe(400);
    expect(bad.json<{ error: { field: string } }>().error.field).toBe('metrics.pages_processed');
  });
});

describe('CloudEvents binary mode (the official SDK)', () => {
  it('is accepted: attributes from ce-* headers, data from the body', async () => {
    const ce = new CloudEvent({
      type: 'api',
      source: '/checkout',
      subject: 'binary-co',
      data: { quantity: 2, metadata: { endpoint: '/pay', method: 'POST' } },
    });
    const message = HTTP.binary(ce);
    const res = await raw(agent.server.url, 'POST', '/v1/events', {
      headers: { ...(message.headers as Record<string, string>), authorization: `Bearer ${agent.server.token}` },
      body: message.body as string,
    });
    expect(res.status).toBe(201);
    const [row] = rows("SELECT service, quantity, metadata, source FROM usage_records WHERE customer_id = 'binary-co'");
    expect([row!.service, Number(row!.quantity), row!.source]).toEqual(['api', 2, 'cloudevents']);
    expect(JSON.parse(row!.metadata as string)).toMatchObject({ endpoint: '/pay', ce_id: ce.id, ce_source: '/checkout' });
  });
});

describe("OpenMeter's SDK pointed at the agent", () => {
  it('ingests a batch and lists it back', async () => {
    const om = new OpenMeter({ baseUrl: agent.server.url, apiKey: agent.server.token });
    await om.events.ingest([
      { type: 'api', subject: 'om-customer', data: { value: 3, endpoint: '/om', method: 'GET' } },
      { type: 'api', subject: 'om-customer', data: { value: 1, endpoint: '/om2', method: 'POST' } },
    ]);
    const listed = await om.events.list({ subject: 'om-customer' });
    expect(listed?.map((e) => [e.event.type, e.event.subject, (e.event.data as { value: number }).value]).sort()).toEqual([
      ['api', 'om-customer', 1],
      ['api', 'om-customer', 3],
    ]);
    expect(listed?.[0]?.ingestedAt).toBeInstanceOf(Date);
  });

  it('an event sent again with the same source and id (a retry) is stored once', async () => {
    const om = new OpenMeter({ baseUrl: agent.server.url, apiKey: agent.server.token });
    const event = {
      id: 'b6f8d0b4-5c1e-4a57-9d6e-0f1f2a3b4c5d',
      source: 'checkout',
      type: 'api',
      subject: 'om-retry',
      data: { value: 1, endpoint: '/r', method: 'GET' },
    };
    await om.events.ingest(event);
    await om.events.ingest(event);
    await om.events.ingest({ ...event, source: 'other-service' });
    expect(rows("SELECT id FROM usage_records WHERE customer_id = 'om-retry'")).toHaveLength(2);
  });
});
