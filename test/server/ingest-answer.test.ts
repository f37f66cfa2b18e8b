// The answer of POST /v1/events: {accepted, duplicates, ids, records: [{id, inserted, costNanos}]},
// the documented shape the clients read, written as text by the route.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { storedBody } from '../../src/server/routes/ingest';
import { apiEvent, postEvents, startAgent, type TestAgent } from './agent';

describe('POST /v1/events answer', () => {
  let agent: TestAgent;
  beforeAll(async () => {
    agent = await startAgent();
  });
  afterAll(() => agent.stop());

  it('is JSON with the ids and per-record results, duplicates counted, in the order sent', async () => {
    const first = await postEvents(agent, apiEvent());
    expect(first.status).toBe(201);
    expect(first.headers['content-type']).toBe('application/json; charset=utf-8');
    const [id] = first.json<{ ids: string[] }>().ids;
    const mixed = await postEvents(agent, [apiEvent(), apiEvent({ id }), apiEvent()]);
    expect(mixed.status).toBe(201);
    const body = mixed.json<{ accepted: number; duplicates: number; ids: string[]; records: Array<Record<string, unknown>> }>();
    expect(body.accepted).toBe(3);
    expect(body.duplicates).toBe(1);
    expect(body.ids).toHaveLength(3);
    expect(body.ids[1]).toBe(id);
    expect(body.records.map((r) => [r.id, r.inserted])).toEqual([
      [body.ids[0], true],
      [id, false],
      [body.ids[2], true],
    ]);
    for (const r of body.records) expect(Object.keys(r)).toEqual(['id', 'inserted', 'costNanos']);
    // Only duplicates: 200, nothing stored again.
    const again = await postEvents(agent, apiEvent({ id }));
    expect(again.status).toBe(200);
    expect(again.json()).toEqual({ accepted: 1, duplicates: 1, ids: [id], records: [{ id, inserted: false, costNanos: 0 }] });
  });

  it('writes the same bytes as JSON.stringify, escaping an id that needs it', () => {
    const stored = [
      { id: '01J0000000000000000000000A', inserted: true, costNanos: 2_000_000 },
      { id: 'odd "id"\\', inserted: false, costNanos: 0 },
      { id: '01J0000000000000000000000B', inserted: true, costNanos: 12.5 },
    ];
    const ids = stored.map((s) => s.id);
    expect(storedBody(stored)).toEqual({
      body: JSON.stringify({ accepted: 3, duplicates: 1, ids, records: stored }),
      duplicates: 1,
    });
    expect(storedBody([]).body).toBe(JSON.stringify({ accepted: 0, duplicates: 0, ids: [], records: [] }));
    const plain = [
      { id: '01J0000000000000000000000C', inserted: false, costNanos: 0 },
      { id: '01J0000000000000000000000D', inserted: true, costNanos: 1e21 },
      { id: '01J0000000000000000000000E', inserted: true, costNanos: Number.NaN },
    ];
    expect(storedBody(plain)).toEqual({
      body: JSON.stringify({ accepted: 3, duplicates: 1, ids: plain.map((s) => s.id), records: plain }),
      duplicates: 1,
    });
  });
});
