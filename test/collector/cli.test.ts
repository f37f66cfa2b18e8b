// The collector and sync commands as an admin uses them: a token issued once, an agent pointed
// at an HTTPS collector (`tally collector serve --tls-cert --tls-key`), `tally sync --once`,
// the org-wide report equal to the agent's own, forwarding to OpenMeter, and tokens never printed.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOpenMeterFake, type OpenMeterFake } from '../fakes/openmeter';
import { tally, tallyJson } from '../helpers/cli';
import { tempDir } from '../helpers/db';
import { startPostgres, type TestPostgres } from '../helpers/postgres';

let pgServer: TestPostgres;
let pgUrl: string;
let serve: ChildProcess;
let collectorUrl: string;
let om: OpenMeterFake;
const dir = tempDir('tally-collector-cli-');
const cert = path.join(dir, 'cert.pem');
const key = path.join(dir, 'key.pem');

beforeAll(async () => {
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
      '-days',
      '2',
      '-keyout',
      key,
      '-out',
      cert,
    ],
    { stdio: 'ignore' },
  );
  pgServer = await startPostgres();
  pgUrl = await pgServer.createDatabase('collector_cli');
  om = await startOpenMeterFake('om_key');
  serve = spawn(
    process.execPath,
    [path.resolve('bin/tally.mjs'), 'collector', 'serve', '--pg', pgUrl, '--port', '0', '--tls-cert', cert, '--tls-key', key],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  collectorUrl = await new Promise<string>((resolve, reject) => {
    let out = '';
    serve.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening on (\S+)/.exec(out);
      if (m) resolve(m[1]!);
    });
    serve.once('exit', (code) => reject(new Error(`collector serve exited ${code}`)));
  });
});

afterAll(async () => {
  if (serve && serve.exitCode === null) {
    serve.kill('SIGTERM');
    await new Promise((r) => serve.once('exit', r));
  }
  await om?.close();
  await pgServer?.stop();
});

/** Like `tally`, but without blocking this process: the OpenMeter fake here must keep answering. */
function tallyAsync(args: readonly string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.resolve('bin/tally.mjs'), ...args], {
      env: { PATH: process.env.PATH ?? '', HOME: dir, TALLY_CONFIG: '/nonexistent/tally-test-config.json' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('tally collector / tally sync', () => {
  it('an agent syncs to an HTTPS collector with an issued token; the reports agree; nothing prints the token', async () => {
    expect(collectorUrl).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const issued = tally(['collector', 'token', 'issue', 'cli-host', '--pg', pgUrl]);
    expect(issued.code).toBe(0);
    const token = issued.stdout.trim();
    expect(token).toMatch(/^tly_/);
    fs.writeFileSync(path.join(dir, 'token'), token, { mode: 0o600 });
    const listed = tally(['collector', 'token', 'list', '--pg', pgUrl]);
    expect(listed.stdout).toContain('cli-host');
    expect(listed.stdout).not.toContain(token);

    const env = { TALLY_DB: path.join(dir, 'agent.db'), TALLY_HOST_ID: 'cli-host', NODE_EXTRA_CA_CERTS: cert };
    expect(tally(['demo', '--days', '3', '--scale', '0.05'], env).code).toBe(0);
    const added = tally(
      ['sync', 'target', 'add', 'central', '--kind', 'tally', '--url', collectorUrl, '--token-file', path.join(dir, 'token')],
      env,
    );
    expect(added.code).toBe(0);
    expect(added.stdout + added.stderr).not.toContain(token);
    expect(JSON.stringify(tallyJson(['sync', 'target', 'list'], env))).not.toContain(token);

    const before = tallyJson<Array<{ pending: number }>>(['sync', 'status'], env);
    expect(before[0]!.pending).toBeGreaterThan(0);
    const once = tally(['sync', '--once'], env);
    expect(once.code, once.stderr).toBe(0);
    expect(once.stdout).toMatch(/central: idle, \d+ delivered, 0 rejected/);
    const after = tallyJson<Array<{ pending: number; lastSuccess: string | null }>>(['sync', 'status'], env);
    expect(after[0]).toMatchObject({ pending: 0, lastSuccess: expect.any(String) });

    const mine = tallyJson<{ totalEvents: number; totalCost: string }>(['report', '--from', '2000-01', '--to', '2100-01'], env);
    const org = tallyJson<{ totalEvents: number; totalCost: string }>([
      'collector',
      'report',
      '--pg',
      pgUrl,
      '--from',
      '2000-01',
      '--to',
      '2100-01',
    ]);
    expect(org.totalEvents).toBe(mine.totalEvents);
    expect(org.totalCost).toBe(mine.totalCost);

    const csv = tally(['collector', 'export', '--pg', pgUrl, '--from', '2000-01', '--to', '2100-01']);
    expect(csv.code).toBe(0);
    expect(csv.stdout.trim().split('\n')).toHaveLength(mine.totalEvents + 1);
  });

  it('refuses a target over plain http to another machine, naming the field', () => {
    const r = tally(['sync', 'target', 'add', 'far', '--kind', 'tally', '--url', 'http://billing.example.com', '--token', 'x'], {
      TALLY_DB: path.join(dir, 'other.db'),
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/target\.url: must use https:\/\//);
  });

  it('forwards every collected record to OpenMeter once', async () => {
    const cfg = path.join(dir, 'forward.json');
    fs.writeFileSync(cfg, JSON.stringify({ sync: { targets: [{ name: 'openmeter', kind: 'openmeter', url: om.url, token: 'om_key' }] } }), {
      mode: 0o600,
    });
    const first = await tallyAsync(['collector', 'forward', '--pg', pgUrl, '--forward-config', cfg]);
    expect(first.code, first.stderr).toBe(0);
    const org = tallyJson<{ totalEvents: number }>(['collector', 'report', '--pg', pgUrl, '--from', '2000-01', '--to', '2100-01']);
    expect(om.events.size).toBe(org.totalEvents);
    const again = await tallyAsync(['collector', 'forward', '--pg', pgUrl, '--forward-config', cfg]);
    expect(again.stdout).toMatch(/openmeter: idle, 0 delivered/);
    expect([...om.events.values()].every((e) => e.source === 'cli-host')).toBe(true);
  });
});
