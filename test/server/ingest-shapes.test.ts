// What POST /v1/events and GET /api/v1/events take and refuse, on a real agent: quantities past
// 2^53 as decimal strings (plain events and CloudEvents), unknown fields refused by name, seed
// events' ids as idempotency keys, a refused request that installs nothing, errors naming the
// field the caller sent, and OpenMeter's list filters honoured or refused (never ignored).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixedClock } from '../helpers/db';
import { apiEvent, postEvents, raw, startAgent, type TestAgent } from './agent';

const clock = fixedClock(Date.UTC(2026, 10, 15, 12));
let agent: TestAgent;

const admin = () => ({ authorization: `Bearer ${agent.server.token}`, 'content-type': 'application/json' });
const get = (path: string) => raw(agent.server.url, 'GET', path, { headers: admin() });
const call = (name: string, args: unknown) =>
  raw(agent.server.url, 'POST', `/api/call/${name}`, { headers: admin(), body: JSON.stringify(args) });

interface ErrorBody {
  error: { code: string; message: string; field?: string };
}
interface Event {
  id: string;
  customer: string;
  service: string;
  quantity: number | string;
}

async function eventsOf(query: string): Promise<Event[]> {
  const res = await get(`/v1/events?${query}`);
  expect(res.status, res.text).toBe(200);
  return res.json<{ events: Event[] }>().events;
}

async function services(): Promise<string[]> {
  return (await call('services.list', {})).json<{ data: Array<{ name: string }> }>().data.map((s) => s.name);
}

beforeAll(async () => {
  agent = await startAgent({ writer: { clock: clock.now } });
});
afterAll(() => agent.stop());

describe('quantities past 2^53', () => {
  it('a decimal string is stored exactly, as the error for a JSON number says to send it', async () => {
    const tooBig = await postEvents(agent, { service: 'storage', quantity: 9007199254740992, customerId: 'big' });
    expect(tooBig.status).toBe(400);
    expect(tooBig.json<ErrorBody>().error.message).toMatch(/send it as a decimal string/);

    const res = await postEvents(agent, { service: 'storage', quantity: '9007199254740993', customerId: 'big' });
    expect(res.status, res.text).toBe(201);
    expect((await eventsOf('customer=big')).map((e) => e.quantity)).toEqual(['9007199254740993']);
  });

  it('a CloudEvent carries one as data.value (OpenMeter) or data.quantity', async () => {
    const ce = (id: string, data: Record<string, unknown>) => ({
      specversion: '1.0',
      id,
      source: '/s',
      type: 'storage',
      subject: 'ce-big',
      data,
    });
    const res = await postEvents(
      agent,
      [ce('a', { value: '9007199254740995' }), ce('b', { quantity: '18014398509481985' })],
      'application/cloudevents-batch+json',
    );
    expect(res.status, res.text).toBe(201);
    expect((await eventsOf('customer=ce-big')).map((e) => e.quantity).sort()).toEqual(['18014398509481985', '9007199254740995']);
  });

  it('"Infinity" is still refused as not a quantity, naming the field', async () => {
    const res = await postEvents(agent, { specversion: '1.0', id: 'x', source: '/s', type: 'storage', data: { value: 'Infinity' } });
    expect(res.status).toBe(400);
    expect(res.json<ErrorBody>().error).toMatchObject({
      field: 'data.value',
      message: expect.stringMatching(/NaN and Infinity are not quantities/),
    });
  });
});

describe('a refused request changes nothing', () => {
  it('a batch with a seed document event and a bad record installs no template and no price', async () => {
    expect(await services()).not.toContain('document');
    const doc = {
      tenant_id: 'docs',
      service_type: 'document_service',
      document_type: 'invoice',
      metrics: { pages_processed: 5 },
    };
    const res = await postEvents(agent, [doc, apiEvent({ quantity: -1 })]);
    expect(res.status).toBe(400);
    expect(res.json<ErrorBody>().error.field).toBe('events[1].quantity');
    expect(await services()).not.toContain('document');
    expect((await call('prices.list', { service: 'document' })).json<{ ok: boolean; data?: unknown[] }>().data ?? []).toEqual([]);

    // The same event alone is taken, and its template installed then.
    expect((await postEvents(agent, doc)).status).toBe(201);
    expect(await services()).toContain('document');
  });

  it('an LLM record that fails validation installs no llm template', async () => {
    expect(await services()).not.toContain('llm_input');
    const res = await postEvents(agent, { service: 'llm_input', quantity: 1.5, metadata: { model: 'gpt-4', provider: 'openai' } });
    expect(res.status).toBe(400);
    expect(res.json<ErrorBody>().error.field).toBe('quantity');
    expect(await services()).not.toContain('llm_input');
  });
});

describe('field names', () => {
  it('an unknown field is refused naming it and what it likely meant, storing nothing of the batch', async () => {
    const before = agent.rows();
    const res = await postEvents(agent, [apiEvent({ customerId: 'typo' }), apiEvent({ customer: 'typo' })]);
    expect(res.status).toBe(400);
    expect(res.json<ErrorBody>().error).toMatchObject({
      field: 'events[1].customer',
      message: 'events[1].customer: unknown field; did you mean customerId?',
    });
    expect(agent.rows()).toBe(before);
  });

  it("a bad value at a service's value property is named where it was sent, not as quantity", async () => {
    const service = { name: 'chat', baseUnit: 'tokens', valueProperty: '$.tokens', integerOnly: true };
    expect((await call('services.add', { service })).json<{ ok: boolean }>().ok).toBe(true);
    const plain = await postEvents(agent, { service: 'chat', metadata: { tokens: -5 } });
    expect(plain.status).toBe(400);
    expect(plain.json<ErrorBody>().error.field).toBe('metadata.tokens');
    const cloud = await postEvents(agent, [{ specversion: '1.0', id: 'c1', source: '/s', type: 'chat', data: { tokens: -5 } }]);
    expect(cloud.status).toBe(400);
    expect(cloud.json<ErrorBody>().error.field).toBe('events[0].data.tokens');
  });

  it("a seed event's fields are named as sent: the metric of the quantity, its customer spelling, its place in the batch", async () => {
    const seed = (extra: Record<string, unknown>) => ({
      service_type: 'api_service',
      metadata: { endpoint: '/x', method: 'GET' },
      ...extra,
    });
    const fraction = await postEvents(agent, seed({ tenant_id: 't', metrics: { requests: 1.5 } }));
    expect(fraction.json<ErrorBody>().error.field).toBe('metrics.requests');
    const spelled = await postEvents(agent, seed({ customer_id: 'no spaces' }));
    expect(spelled.json<ErrorBody>().error.field).toBe('customer_id');
    const conflict = await postEvents(agent, seed({ tenant_id: 'a', customer_id: 'b' }));
    expect(conflict.json<ErrorBody>().error).toMatchObject({
      field: 'customer_id',
      message: expect.stringMatching(/conflicts with tenant_id/),
    });
    // An LLM event is two records: the event after it is still events[1].
    const llm = { service_type: 'llm_service', metadata: { model: 'gpt-4' }, metrics: { input_tokens: 1, output_tokens: 2 } };
    const batch = await postEvents(agent, [llm, apiEvent({ quantity: -1 })]);
    expect(batch.json<ErrorBody>().error.field).toBe('events[1].quantity');
    const one = await postEvents(agent, { ...llm, user_id: 'no spaces' });
    expect(one.json<ErrorBody>().error.field).toBe('user_id');
  });
});

describe("the second seed's events", () => {
  const id = '01KB4000000000000000000001';
  const apiSeed = {
    id,
    tenant_id: 'seed',
    service_type: 'api_service',
    metadata: { endpoint: '/x', method: 'GET' },
    metrics: { requests: 5 },
  };

  it('a caller-chosen id makes a retry a duplicate', async () => {
    expect((await postEvents(agent, apiSeed)).status).toBe(201);
    const retry = await postEvents(agent, apiSeed);
    expect(retry.status).toBe(200);
    expect(retry.json<{ duplicates: number }>().duplicates).toBe(1);
    expect((await eventsOf('customer=seed')).map((e) => e.id)).toEqual([id]);
  });

  it('an LLM event with an id is two records with two stable ids: a retry stores neither again', async () => {
    const llm = {
      id: '01KB4000000000000000000002',
      tenant_id: 'seed-llm',
      service_type: 'llm_service',
      metadata: { model: 'gpt-4' },
      metrics: { input_tokens: 150, output_tokens: 75 },
    };
    const first = await postEvents(agent, llm);
    expect(first.status, first.text).toBe(201);
    const ids = first.json<{ ids: string[] }>().ids;
    expect(ids).toHaveLength(2);
    expect(ids[0]).toBe(llm.id);
    expect(ids[1]).not.toBe(llm.id);
    const retry = await postEvents(agent, llm);
    expect(retry.json<{ ids: string[]; duplicates: number }>()).toMatchObject({ ids, duplicates: 2 });
    expect(await eventsOf('customer=seed-llm')).toHaveLength(2);
  });

  it('an id that is not a ULID is refused naming id', async () => {
    const res = await postEvents(agent, { ...apiSeed, id: 'retry-1' });
    expect(res.status).toBe(400);
    expect(res.json<ErrorBody>().error.field).toBe('id');
  });
});

describe('GET /api/v1/events (OpenMeter)', () => {
  const openMeter = async (query: string) => {
    const res = await get(`/api/v1/events?${query}`);
    return { status: res.status, body: res.json<Array<{ customerId: string; event: { id: string } }> & ErrorBody>() };
  };

  it('customerId filters by customer (it named nothing before, and every customer answered)', async () => {
    await postEvents(agent, [apiEvent({ customerId: 'om-a' }), apiEvent({ customerId: 'om-a' }), apiEvent({ customerId: 'om-b' })]);
    const { status, body } = await openMeter('customerId=om-a');
    expect(status).toBe(200);
    expect(body.map((e) => e.customerId)).toEqual(['om-a', 'om-a']);
    expect((await openMeter('customerId=om-a&subject=om-a')).body).toHaveLength(2);
    const conflict = await openMeter('customerId=om-a&subject=om-b');
    expect([conflict.status, conflict.body.error.field]).toEqual([400, 'customerId']);
  });

  it('id answers that event only, within the other filters', async () => {
    const posted = await postEvents(agent, [apiEvent({ customerId: 'om-id' }), apiEvent({ customerId: 'om-id' })]);
    const [first] = posted.json<{ ids: string[] }>().ids;
    expect((await openMeter(`id=${first}`)).body.map((e) => e.event.id)).toEqual([first]);
    expect((await openMeter(`id=${first}&customerId=om-a`)).body).toEqual([]);
    expect((await openMeter(`id=${first}&from=2026-11-16`)).body).toEqual([]);
    expect((await openMeter(`id=${first}&from=2026-11-15&to=2026-11-15`)).body).toHaveLength(1);
    expect((await openMeter('id=01KB4ZZZZZZZZZZZZZZZZZZZZZ')).body).toEqual([]);
    const notUlid = await openMeter('id=retry-1');
    expect([notUlid.status, notUlid.body.error.field]).toEqual([400, 'id']);
  });

  it.each(['clientId=c1', 'ingestedAtFrom=2026-11-01T00:00:00Z', 'ingestedAtTo=2026-11-30T00:00:00Z'])(
    'refuses %s, which Tally cannot honour, naming it',
    async (query) => {
      const { status, body } = await openMeter(query);
      expect(status).toBe(400);
      expect(body.error.field).toBe(query.split('=')[0]);
      expect(body.error.message).toMatch(/not supported/);
    },
  );
});
