// Secrets at rest. Measured on main: a sync target's API key in plain text in the database, the
// database 0644 in a 0755 folder, and the dashboard token in the agent's JSON log line. Now: after
// adding a target with a key through a running agent, no file in the data folder but the 0600
// secrets file holds the key, the folder is 0700, the database files 0600, the logs carry neither
// the key nor the dashboard token, and `tally dashboard` prints the link on demand.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CliResult } from '../helpers/cli';
import { tempDir } from '../helpers/db';

const KEY = 'sk_live_TallySecretKey_0123456789abcdef';
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

async function until<T>(what: string, fn: () => T | null | undefined): Promise<T> {
  for (let i = 0; i < 300; i++) {
    const v = fn();
    if (v) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** Every file below `dir` whose bytes contain `needle`. */
function filesContaining(dir: string, needle: string): string[] {
  const out: string[] = [];
  for (const name of fs.readdirSync(dir, { recursive: true }) as string[]) {
    const f = path.join(dir, name);
    if (fs.statSync(f).isFile() && fs.readFileSync(f).includes(needle)) out.push(path.relative(dir, f));
  }
  return out.sort();
}

describe('secrets at rest', () => {
  const root = tempDir('tally-secrets-');
  const data = path.join(root, 'data');
  const db = path.join(data, 'tally.db');
  const logFile = path.join(root, 'agent.log');
  const env = { TALLY_DB: db };
  let agent: ChildProcess;
  let endpoint: http.Server;
  let seenAuth = '';

  beforeAll(async () => {
    endpoint = http.createServer((req, res) => {
      seenAuth = String(req.headers.authorization ?? '');
      req.resume();
      req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end('{"accepted":0}'));
    });
    await new Promise<void>((r) => endpoint.listen(0, '127.0.0.1', r));
    const log = fs.openSync(logFile, 'a');
    // stdout and stderr to a file, as under systemd: no terminal.
    agent = spawn(process.execPath, [path.resolve('bin/tally.mjs'), 'agent', '--port', '0', '--db', db], {
      env: { ...baseEnv },
      stdio: ['ignore', log, log],
    });
    fs.closeSync(log);
    await until('the agent', () => fs.existsSync(path.join(data, 'agent.json')));
  });

  afterAll(async () => {
    if (agent.exitCode === null) agent.kill('SIGTERM');
    await new Promise((r) => endpoint.close(r));
  });

  it('keeps the key in the 0600 secrets file only, the data folder private, and no token in any log', async () => {
    const url = `http://127.0.0.1:${(endpoint.address() as { port: number }).port}/v1/ingest`;
    const add = await tally(['sync', 'target', 'add', 'billing', '--kind', 'tally', '--url', url, '--token', KEY], env);
    expect(add.code, add.stderr).toBe(0);
    expect(add.stdout + add.stderr).not.toContain(KEY);
    const link = await tally(['dashboard'], env);
    expect(link.code, link.stderr).toBe(0);
    const token = fs.readFileSync(path.join(data, 'agent.token'), 'utf8').trim();
    expect(link.stdout.trim()).toMatch(new RegExp(`^http://127\\.0\\.0\\.1:\\d+/\\?token=${token}$`));

    agent.kill('SIGTERM');
    await until('the agent to stop', () => agent.exitCode !== null || agent.signalCode !== null);

    expect(filesContaining(data, KEY)).toEqual(['tally.db.secrets.json']);
    expect(fs.statSync(path.join(data, 'tally.db.secrets.json')).mode & 0o777).toBe(0o600);
    expect(fs.statSync(data).mode & 0o777).toBe(0o700);
    for (const f of ['tally.db', 'tally.db-wal', 'tally.db-shm']) {
      if (fs.existsSync(path.join(data, f))) expect(fs.statSync(path.join(data, f)).mode & 0o777, f).toBe(0o600);
    }
    const logs = fs.readFileSync(logFile, 'utf8');
    expect(logs).toMatch(/http api listening/);
    expect(logs).not.toContain(KEY);
    expect(logs).not.toContain(token);
    expect(logs).toMatch(/`tally dashboard` prints the dashboard link/);
  });

  it('the sync still sends the key from the secrets file', async () => {
    await tally(['record', 'api', '1', '{"endpoint":"/","method":"GET"}'], env);
    await tally(['sync', '--once', '--timeout', '5'], env);
    expect(seenAuth).toContain(KEY);
    expect(filesContaining(data, KEY)).toEqual(['tally.db.secrets.json']);
  });
});
