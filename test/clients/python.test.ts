// The Python client's unittest suite against a real agent: python3 -m unittest in
// clients/python, with the agent's URL and admin token in its environment.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startAgent, type TestAgent } from '../server/agent';

let agent: TestAgent;
beforeAll(async () => {
  agent = await startAgent();
});
afterAll(() => agent.stop());

it('python3 -m unittest passes against the agent', async () => {
  // Not spawnSync: the agent answers from this process's event loop.
  const child = spawn('python3', ['-m', 'unittest', '-v'], {
    cwd: path.resolve('clients/python'),
    env: { PATH: process.env.PATH ?? '', TALLY_URL: agent.server.url, TALLY_TOKEN: agent.server.token, PYTHONDONTWRITEBYTECODE: '1' },
  });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const code = await new Promise<number>((resolve) => child.on('exit', (c) => resolve(c ?? -1)));
  expect(output).toMatch(/Ran \d+ tests/);
  expect(code, output).toBe(0);
}, 120_000);
