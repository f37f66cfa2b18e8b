// The main process's line to the agent, on a real agent (temp SQLite file, HTTP on loopback):
// every contract call the agent implements is reachable through the preload's list, calls and
// events arrive, and a desktop export lands where the save dialog said.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHandlers } from '../../src/handlers/handlers';
import { AgentLink } from '../../src/main/agent-link';
import { exportFileName, saveExport } from '../../src/main/export';
import { EVENT_NAMES, HANDLER_NAMES, isEventName, isHandlerName } from '../../src/preload/channels';
import { startAgent, type TestAgent } from '../server/agent';

describe('AgentLink on a real agent', () => {
  let agent: TestAgent;
  let link: AgentLink;

  beforeAll(async () => {
    agent = await startAgent();
    link = new AgentLink({ url: agent.server.url, token: agent.server.token });
  });

  afterAll(async () => {
    link?.close();
    await agent?.stop();
  });

  it('the preload lists exactly the calls the agent implements', () => {
    expect([...HANDLER_NAMES].sort()).toEqual(Object.keys(createHandlers(agent.ctx)).sort());
    for (const bad of ['__proto__', 'constructor', 'toString', 'report', '', 42, null]) expect(isHandlerName(bad)).toBe(false);
    expect(EVENT_NAMES).toContain('records.flushed');
    expect(isEventName('records.flushed')).toBe(true);
    expect(isEventName('hasOwnProperty')).toBe(false);
  });

  it('relays calls and their errors as ApiReply', async () => {
    const services = await link.call('services.list', {});
    expect(services.ok && services.data.map((s) => s.name)).toContain('bandwidth');
    const bad = await link.call('prices.set', { service: 'api', spec: { model: 'per_unit', unitPrice: 'free' } });
    expect(bad).toMatchObject({ ok: false, error: { code: 'invalid_input', field: 'price' } });
  });

  it('says so when the token is wrong or the agent is gone', async () => {
    const wrong = new AgentLink({ url: agent.server.url, token: 'x'.repeat(43) });
    expect(await wrong.call('services.list', {})).toMatchObject({ ok: false, error: { code: 'unauthorized' } });
    const gone = new AgentLink({ url: 'http://127.0.0.1:9', token: 't' });
    expect(await gone.call('services.list', {})).toMatchObject({ ok: false, error: { code: 'unavailable' } });
  });

  it('delivers the agent’s events', async () => {
    const connected = new Promise<void>((resolve) => link.onConnect(resolve));
    const got = new Promise<unknown>((resolve) => {
      const off = link.onEvent((event, payload) => {
        if (event === 'records.flushed') {
          off();
          resolve(payload);
        }
      });
    });
    // Once the stream is up, record through the API like any program would.
    await connected;
    const res = await fetch(`${agent.server.url}/v1/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${agent.server.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ service: 'api', quantity: 3, metadata: { endpoint: '/users', method: 'GET' } }),
    });
    expect(res.status).toBe(201);
    expect(await got).toMatchObject({ records: 1, services: ['api'] });
  });

  it('exports to the path the save dialog returns, and does nothing when it is cancelled', async () => {
    const target = path.join(agent.dir, 'chosen.json');
    let suggested = '';
    const saved = await saveExport(link, { format: 'json' }, async (name) => {
      suggested = name;
      return target;
    });
    expect(suggested).toMatch(/^tally-all-\d{4}-\d{2}\.json$/);
    expect(saved).toMatchObject({ ok: true, data: { path: target, records: 1, totalCost: '0.0003' } });
    expect(fs.existsSync(target)).toBe(true);

    expect(await saveExport(link, { format: 'csv' }, async () => null)).toEqual({ ok: true, data: null });
    expect(await saveExport(link, { format: 'exe' as never }, async () => target)).toMatchObject({ ok: false, error: { field: 'format' } });
  });

  it('names export files after what they hold', () => {
    expect(exportFileName({ format: 'xlsx', month: '2026-10', service: 'api' })).toBe('tally-api-2026-10.xlsx');
    expect(exportFileName({ format: 'csv', from: '2026-10-01', to: '2026-10-15' })).toBe('tally-all-2026-10-01_2026-10-15.csv');
    expect(exportFileName({ format: 'csv', service: '../../etc', month: '2026-10' })).toBe('tally-..-..-etc-2026-10.csv');
  });
});
