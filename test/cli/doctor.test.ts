// tally doctor on a healthy install (a running agent, a reachable sync target with good
// credentials), with a token file readable by others, with an unreachable target, and on a
// damaged database: the right lines and exit codes.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CliResult } from '../helpers/cli';
import { tempDir } from '../helpers/db';

const GOOD = 'good-token-0123456789';
const baseEnv = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', TALLY_CONFIG: '/nonexistent/config.json' };

function tally(args: string[], env: Record<string, string>): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [path.resolve('bin/tally.mjs'), ...args],
      { env: { ...baseEnv, ...env }, timeout: 60_000 },
      (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? -1) : 0, stdout, stderr }),
    );
  });
}

interface Report {
  ok: boolean;
  checks: Array<{ check: string; ok: boolean; detail: string }>;
}

async function doctor(env: Record<string, string>): Promise<{ code: number; report: Report; text: string }> {
  const json = await tally(['doctor', '--json'], env);
  const text = await tally(['doctor'], env);
  expect(text.code).toBe(json.code);
  return { code: json.code, report: JSON.parse(json.stdout) as Report, text: text.stdout };
}

const failing = (r: Report) => r.checks.filter((c) => !c.ok).map((c) => c.check);

describe('tally doctor', () => {
  const data = path.join(tempDir('tally-doctor-'), 'data');
  const db = path.join(data, 'tally.db');
  const env = { TALLY_DB: db };
  let agent: ChildProcess;
  let endpoint: http.Server;
  let endpointUrl: string;

  beforeAll(async () => {
    endpoint = http.createServer((req, res) => {
      req.resume();
      const good = req.headers.authorization === `Bearer ${GOOD}`;
      req.on('end', () => res.writeHead(good ? 200 : 401, { 'content-type': 'application/json' }).end('{}'));
    });
    await new Promise<void>((r) => endpoint.listen(0, '127.0.0.1', r));
    endpointUrl = `http://127.0.0.1:${(endpoint.address() as { port: number }).port}/v1/ingest`;
    agent = spawn(process.execPath, [path.resolve('bin/tally.mjs'), 'agent', '--port', '0', '--db', db], { env: baseEnv, stdio: 'ignore' });
    for (let i = 0; i < 300 && !fs.existsSync(path.join(data, 'agent.json')); i++) await new Promise((r) => setTimeout(r, 50));
    const add = await tally(['sync', 'target', 'add', 'billing', '--kind', 'tally', '--url', endpointUrl, '--token', GOOD], env);
    expect(add.code, add.stderr).toBe(0);
  });

  afterAll(async () => {
    if (agent.exitCode === null) agent.kill('SIGTERM');
    await new Promise((r) => endpoint.close(r));
  });

  it('a healthy install: every line ok, exit 0', async () => {
    const { code, report, text } = await doctor(env);
    expect(failing(report)).toEqual([]);
    expect(code).toBe(0);
    expect(report.checks.map((c) => c.check)).toEqual(
      expect.arrayContaining([
        'database',
        'schema',
        'lock',
        'agent',
        'data folder',
        'token file',
        'disk',
        'wal',
        'sync target billing',
        'collectors',
      ]),
    );
    expect(text).toMatch(/^ok {4}database: .* opens, quick_check ok$/m);
    expect(text).toMatch(/^ok {4}sync target billing: 127\.0\.0\.1:\d+ reachable, credentials accepted/m);
  });

  it('a token file readable by others: that line says what to do, exit 1', async () => {
    const token = path.join(data, 'agent.token');
    fs.chmodSync(token, 0o644);
    try {
      const { code, report, text } = await doctor(env);
      expect(code).toBe(1);
      expect(failing(report)).toEqual(['token file']);
      expect(text).toContain(`FAIL  token file: ${token} is 644, readable by others: run \`chmod 600 ${token}\``);
    } finally {
      fs.chmodSync(token, 0o600);
    }
  });

  it('an unreachable target and refused credentials: named lines, exit 1', async () => {
    expect(
      (await tally(['sync', 'target', 'add', 'far', '--kind', 'tally', '--url', 'http://127.0.0.1:9/v1/ingest', '--token', 'x'], env)).code,
    ).toBe(0);
    expect((await tally(['sync', 'target', 'add', 'wrong', '--kind', 'tally', '--url', endpointUrl, '--token', 'bad'], env)).code).toBe(0);
    try {
      const { code, report, text } = await doctor(env);
      expect(code).toBe(1);
      expect(failing(report).sort()).toEqual(['sync target far', 'sync target wrong']);
      expect(text).toMatch(/^FAIL {2}sync target far: cannot reach 127\.0\.0\.1:9/m);
      expect(text).toMatch(/^FAIL {2}sync target wrong: .* refused the credentials \(401\)/m);
    } finally {
      await tally(['sync', 'target', 'remove', 'far'], env);
      await tally(['sync', 'target', 'remove', 'wrong'], env);
    }
  });

  it('a damaged database: the database line says what to do, exit 1', async () => {
    const copy = path.join(tempDir('tally-doctor-bad-'), 'tally.db');
    fs.copyFileSync(db, copy);
    const fd = fs.openSync(copy, 'r+');
    fs.writeSync(fd, Buffer.alloc(100, 0x41), 0, 100, 0);
    fs.closeSync(fd);
    const { code, report, text } = await doctor({ TALLY_DB: copy });
    expect(code).toBe(1);
    expect(report.checks.find((c) => c.check === 'database')).toMatchObject({ ok: false });
    expect(text).toMatch(/^FAIL {2}database: the database .* is damaged .* restore it from a backup/m);
  });
});
