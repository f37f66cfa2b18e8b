// `tally track` goes through the running agent (which holds the writer lock), and writes
// directly when no agent runs. The CLI runs as a real child process (bin/tally.mjs).
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acquireWriterLock, type WriterLock } from '../../src/storage/lock';
import { openDatabase } from '../../src/storage/open';
import { tempDir } from '../helpers/db';
import { raw, startAgent, type TestAgent } from '../server/agent';

const run = promisify(execFile);
const root = path.resolve(__dirname, '../..');

function tally(args: string[], home: string) {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    HOME: home,
    XDG_CONFIG_HOME: path.join(home, '.config'),
    XDG_DATA_HOME: path.join(home, '.data'),
  };
  delete env.TALLY_DB;
  delete env.TALLY_CONFIG;
  delete env.VITEST;
  return run(process.execPath, [path.join(root, 'bin/tally.mjs'), ...args], { cwd: root, env, timeout: 30_000 });
}

describe('tally track with a running agent', () => {
  let agent: TestAgent;
  let lock: WriterLock;
  const home = tempDir('tally-cli-home-');

  beforeAll(async () => {
    await run('npm', ['run', 'build:cli'], { cwd: root, timeout: 120_000 });
    agent = await startAgent();
    // As the real agent does: while it runs, nobody else may write this database.
    lock = acquireWriterLock(agent.dbFile);
  });
  afterAll(async () => {
    lock?.release();
    await agent?.stop();
  });

  it('lands in the agent’s database through the HTTP API', async () => {
    const { stdout } = await tally(['--db', agent.dbFile, '--json', '--customer', 'acme', 'track', 'api', '/orders', 'POST', '201'], home);
    const out = JSON.parse(stdout) as { id: string; inserted: boolean; costNanos: number };
    expect(out).toMatchObject({ inserted: true, costNanos: 100_000 });
    const row = agent.tdb.sqlite.prepare('SELECT customer_id, service, source FROM usage_records WHERE id = ?').get(out.id);
    expect(row).toEqual({ customer_id: 'acme', service: 'api', source: 'cli' });
    expect(agent.server.metrics.render()).toMatch(/tally_http_requests_total\{route="\/v1\/events",status="201"\} 1/);

    const bad = await tally(['--db', agent.dbFile, 'record', 'api', '1', '{"method":"GET"}'], home).catch(
      (e: { code: number; stderr: string }) => e,
    );
    expect(bad).toMatchObject({ code: 1 });
    expect((bad as { stderr: string }).stderr).toMatch(/metadata\.endpoint: is required/);
    expect(agent.rows()).toBe(1);
  });

  it('GET /v1/report is what `tally report --json` prints', async () => {
    await tally(['--db', agent.dbFile, 'track', 'compute', '5400'], home);
    const { stdout } = await tally(['--db', agent.dbFile, '--json', 'report', '--detailed'], home);
    const api = await raw(agent.server.url, 'GET', '/v1/report?detailed=true', {
      headers: { authorization: `Bearer ${agent.server.token}` },
    });
    expect(api.json()).toEqual(JSON.parse(stdout));
  });

  it('writes directly once the agent has stopped', async () => {
    lock.release();
    await agent.stop();
    expect(fs.existsSync(path.join(agent.dir, 'agent.json'))).toBe(false);
    const { stdout } = await tally(['--db', agent.dbFile, '--json', 'track', 'database', 'SELECT', '12'], home);
    const out = JSON.parse(stdout) as { id: string };
    const tdb = openDatabase(agent.dbFile, { readonly: true });
    try {
      expect(tdb.sqlite.prepare('SELECT count(*) AS n FROM usage_records').get()).toEqual({ n: 3 });
      expect(tdb.sqlite.prepare('SELECT service FROM usage_records WHERE id = ?').get(out.id)).toEqual({ service: 'database' });
    } finally {
      await tdb.close();
    }
    agent = null as unknown as TestAgent;
  });
});
