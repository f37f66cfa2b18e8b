// The TypeScript client as its own package: built from src/client, installed into a fresh
// project with `npm install <folder>`, imported by name, and used against a real agent with a
// scoped key (record, then read back through events.list / events.get).
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { tempDir } from '../helpers/db';
import { raw, startAgent, type TestAgent } from '../server/agent';

let agent: TestAgent;
beforeAll(async () => {
  agent = await startAgent();
  execFileSync(process.execPath, ['clients/typescript/build.mjs'], { stdio: 'inherit' });
}, 120_000);
afterAll(() => agent.stop());

it('installs with npm install ./clients/typescript and records and lists through the agent', async () => {
  const keyReply = await raw(agent.server.url, 'POST', '/api/call/keys.create', {
    headers: { authorization: `Bearer ${agent.server.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ customer: 'pkg-co', scope: 'ingest' }),
  });
  const ingestKey = keyReply.json<{ data: { key: string } }>().data.key;
  const project = tempDir('tally-client-pkg-');
  fs.writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', type: 'module' }));
  execFileSync('npm', ['install', '--offline', '--no-audit', '--no-fund', path.resolve('clients/typescript')], {
    cwd: project,
    stdio: 'pipe',
  });
  const script = `
    import { createClient } from '@tally/client';
    const writer = createClient({ url: process.env.URL, token: process.env.KEY });
    const ref = await writer.record({ service: 'api', quantity: 1, metadata: { endpoint: '/pkg', method: 'GET' } });
    const admin = createClient({ url: process.env.URL, token: process.env.TOKEN });
    const page = await admin.events.list({ customer: 'pkg-co', limit: 10 });
    const one = await admin.events.get(ref.id);
    console.log(JSON.stringify({ id: ref.id, listed: page.events.map((e) => e.id), customer: one.customer, total: page.total_count }));
  `;
  fs.writeFileSync(path.join(project, 'app.mjs'), script);
  // Not execFileSync: the agent answers from this process's event loop.
  const { stdout: out } = await promisify(execFile)(process.execPath, ['app.mjs'], {
    cwd: project,
    env: { ...process.env, URL: agent.server.url, KEY: ingestKey, TOKEN: agent.server.token },
    encoding: 'utf8',
  });
  const result = JSON.parse(out) as { id: string; listed: string[]; customer: string; total: number };
  expect(result.listed).toEqual([result.id]);
  expect(result.customer).toBe('pkg-co');
  expect(result.total).toBe(1);
}, 120_000);
