// Void and amend over HTTP on a real agent: after each, the report, the statement and the
// rollups agree to the last digit with a recomputation from the live raw events; only the
// admin may correct (keys 403), unknown ids 404, a voided event cannot be amended (409).
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { toNanos } from '../../src/core/money';
import { raw, startAgent, type RawResponse, type TestAgent } from './agent';

let agent: TestAgent;
const admin = () => ({ authorization: `Bearer ${agent.server.token}`, 'content-type': 'application/json' });

async function call<T = Record<string, unknown>>(name: string, args: Record<string, unknown>): Promise<T> {
  const res = await raw(agent.server.url, 'POST', `/api/call/${name}`, { headers: admin(), body: JSON.stringify(args) });
  const body = res.json<{ ok: boolean; data: T; error?: unknown }>();
  expect(body.ok, JSON.stringify(body.error)).toBe(true);
  return body.data;
}

const post = (path: string, body: unknown, headers: Record<string, string> = admin()): Promise<RawResponse> =>
  raw(agent.server.url, 'POST', path, { headers, body: JSON.stringify(body) });

/** Sums the live raw events, the month rollups, the report and the statement: all must agree. */
async function figures() {
  const month = new Date().toISOString().slice(0, 7);
  const raws = agent.tdb.sqlite
    .prepare(
      "SELECT count(*) AS n, sum(quantity) AS q, sum(cost_nanos) AS c FROM usage_records WHERE voided_at IS NULL AND service = 'api'",
    )
    .get() as { n: number; q: number; c: number };
  const rollup = agent.tdb.sqlite
    .prepare(
      "SELECT sum(event_count) AS n, sum(sum_quantity_lo) AS q, sum(sum_cost_nanos) AS c FROM rollups WHERE period = 'month' AND service = 'api'",
    )
    .get() as { n: number; q: number; c: number };
  const hours = agent.tdb.sqlite
    .prepare(
      "SELECT sum(event_count) AS n, sum(sum_quantity_lo) AS q, sum(sum_cost_nanos) AS c FROM rollups WHERE period = 'hour' AND service = 'api'",
    )
    .get() as { n: number; q: number; c: number };
  const report = await call<{ totalEvents: number; totalCostNanos: number }>('report.usage', { month, service: 'api' });
  const statement = await call<{ totalNanos: string }>('statement.month', { month });
  const file = path.join(agent.dir, `export-${++exports}.json`);
  await call('export.file', { format: 'json', path: file, month, service: 'api' });
  const rows = (JSON.parse(fs.readFileSync(file, 'utf8')) as { usage_records: Array<{ total_cost_exact: string }> }).usage_records;
  const exported = { n: rows.length, c: Number(rows.reduce((t, r) => t + toNanos(r.total_cost_exact), 0n)) };
  return {
    raws,
    rollup,
    hours,
    report: { n: report.totalEvents, c: report.totalCostNanos },
    statement: Number(statement.totalNanos),
    exported,
  };
}

async function expectAgreement(): Promise<void> {
  const f = await figures();
  expect(f.rollup).toEqual(f.raws);
  expect(f.hours).toEqual(f.raws);
  expect(f.report).toEqual({ n: f.raws.n, c: f.raws.c });
  expect(f.statement).toBe(f.raws.c);
  expect(f.exported).toEqual({ n: f.raws.n, c: f.raws.c });
}

/** The exact cost each live event would have if priced now, in stored order: 1.00 up to 10 requests, then 0.50. */
function recomputed(): number[] {
  const qs = agent.tdb.sqlite
    .prepare("SELECT quantity FROM usage_records WHERE voided_at IS NULL AND service = 'api' ORDER BY seq")
    .pluck()
    .all() as number[];
  const F = (x: number) => Math.min(x, 10) * 1e9 + Math.max(0, x - 10) * 0.5e9;
  let before = 0;
  return qs.map((q) => F((before += q)) - F(before - q));
}
const stored = () =>
  agent.tdb.sqlite.prepare("SELECT cost_nanos FROM usage_records WHERE voided_at IS NULL AND service = 'api' ORDER BY seq").pluck().all();

let ids: string[] = [];
let exports = 0;

beforeAll(async () => {
  // The agent runs in this process: a fixed date mid-month keeps every event, rollup and
  // statement in one month whatever the machine's calendar (timers stay real).
  vi.useFakeTimers({ now: new Date('2026-11-15T12:00:00Z'), toFake: ['Date'] });
  agent = await startAgent();
  await call('prices.set', {
    service: 'api',
    spec: {
      model: 'tiered',
      tiers: [
        { upTo: 10, unitPrice: '1' },
        { upTo: null, unitPrice: '0.5' },
      ],
    },
    effectiveFrom: '2020-01-01',
  });
  const at = Date.now() - 60_000;
  const events = [4, 4, 4, 4].map((quantity, i) => ({
    service: 'api',
    quantity,
    customerId: 'acme',
    recordedAt: new Date(at + i).toISOString(),
    metadata: { endpoint: '/x', method: 'GET' },
  }));
  expect((await post('/v1/events', events)).status).toBe(201);
  ids = agent.tdb.sqlite.prepare('SELECT id FROM usage_records ORDER BY seq').pluck().all() as string[];
});
afterAll(async () => {
  await agent.stop();
  vi.useRealTimers();
});

describe('corrections over HTTP', () => {
  it('void: the original stays, marked with who, when and why; the later events are re-priced; everything agrees', async () => {
    await expectAgreement();
    const res = await post(`/v1/events/${ids[0]}/void`, { reason: 'test traffic' });
    expect(res.status).toBe(200);
    expect(res.json()).toMatchObject({
      kind: 'void',
      id: ids[0],
      voidedBy: 'admin',
      reason: 'test traffic',
      alreadyVoided: false,
      deltaCost: '-2.0000',
      repriced: 2,
    });
    expect(stored()).toEqual(recomputed());
    await expectAgreement();
    const event = await raw(agent.server.url, 'GET', `/v1/events/${ids[0]}`, { headers: admin() });
    expect(event.json().voidedAt).not.toBeNull();

    const again = await post(`/v1/events/${ids[0]}/void`, { reason: 'again' });
    expect(again.status).toBe(200);
    expect(again.json()).toMatchObject({ alreadyVoided: true, reason: 'test traffic' });
  });

  it('amend: a replacement pointing to the original, priced exactly; the audit trail lists both corrections', async () => {
    const res = await post(`/v1/events/${ids[1]}/amend`, { quantity: 9, reason: 'undercounted' });
    expect(res.status).toBe(200);
    const r = res.json<{ newId: string; kind: string }>();
    expect(r.kind).toBe('amend');
    expect(agent.tdb.sqlite.prepare('SELECT amends, quantity FROM usage_records WHERE id = ?').get(r.newId)).toEqual({
      amends: ids[1],
      quantity: 9,
    });
    expect(stored()).toEqual(recomputed());
    await expectAgreement();

    const trail = await raw(agent.server.url, 'GET', '/v1/corrections', { headers: admin() });
    expect(trail.json<unknown[]>()).toEqual([
      expect.objectContaining({ kind: 'amend', id: ids[1], newId: r.newId, by: 'admin', reason: 'undercounted' }),
      expect.objectContaining({ kind: 'void', id: ids[0], by: 'admin', reason: 'test traffic' }),
    ]);
  });

  it('refuses: unknown id 404, missing reason 400 naming it, amending a voided event 409, a caller-chosen `by` 400; nothing changes', async () => {
    const before = await figures();
    const unknown = await post('/v1/events/01JZZZZZZZZZZZZZZZZZZZZZZZ/void', { reason: 'x' });
    expect(unknown.status).toBe(404);
    const noReason = await post(`/v1/events/${ids[2]}/void`, {});
    expect([noReason.status, noReason.json<{ error: { field: string } }>().error.field]).toEqual([400, 'reason']);
    const badQuantity = await post(`/v1/events/${ids[2]}/amend`, { quantity: -1, reason: 'x' });
    expect([badQuantity.status, badQuantity.json<{ error: { field: string } }>().error.field]).toEqual([400, 'quantity']);
    expect((await post(`/v1/events/${ids[0]}/amend`, { quantity: 1, reason: 'x' })).status).toBe(409);
    const spoof = await post(`/v1/events/${ids[2]}/void`, { reason: 'x', by: 'someone-else' });
    expect([spoof.status, spoof.json<{ error: { field: string } }>().error.field]).toEqual([400, 'by']);
    expect(await figures()).toEqual(before);
  });

  it('an export with includeVoided shows the voided events with voided_at; its totals still count live events only', async () => {
    const month = new Date().toISOString().slice(0, 7);
    const file = path.join(agent.dir, 'with-voided.json');
    await call('export.file', { format: 'json', path: file, month, service: 'api', includeVoided: true });
    const body = JSON.parse(fs.readFileSync(file, 'utf8')) as {
      usage_records: Array<{ id: string; voided_at: string | null }>;
      summary: { total_events: number };
    };
    const voided = body.usage_records.filter((r) => r.voided_at !== null).map((r) => r.id);
    expect(voided.sort()).toEqual([ids[0], ids[1]].sort());
    expect(body.usage_records).toHaveLength(5);
    expect(body.summary.total_events).toBe((await figures()).raws.n);
  });

  it('a scoped key, read or ingest, cannot void (403) and changes nothing', async () => {
    for (const scope of ['read', 'ingest']) {
      const key = await call<{ key: string }>('keys.create', { customer: 'acme', scope });
      const res = await post(`/v1/events/${ids[2]}/void`, { reason: 'x' }, { 'x-api-key': key.key, 'content-type': 'application/json' });
      expect(res.status).toBe(403);
    }
    expect(agent.tdb.sqlite.prepare('SELECT voided_at FROM usage_records WHERE id = ?').pluck().get(ids[2])).toBeNull();
  });
});
