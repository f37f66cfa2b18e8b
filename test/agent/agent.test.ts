// `tally agent` as a user runs it: the bundled CLI in a child process, a temp database, real
// /proc, real loopback HTTP. Covers --once (what cron users run), the long-running agent with
// its schedules, metrics and dashboard address, SIGTERM, the one-writer lock, and the service
// command where systemd is not running.
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/db';

const ROOT = path.resolve(__dirname, '../..');
const BIN = path.join(ROOT, 'bin/tally.mjs');

beforeAll(() => {
  execFileSync(process.execPath, ['scripts/build-cli.mjs'], { cwd: ROOT, stdio: 'inherit' });
});

interface Setup {
  dir: string;
  db: string;
  config: string;
  data: string;
}

function setup(extra: Record<string, unknown> = {}): Setup {
  const dir = tempDir('tally-agent-');
  const data = path.join(dir, 'data');
  fs.mkdirSync(path.join(data, 'sub'), { recursive: true });
  fs.writeFileSync(path.join(data, 'a.bin'), Buffer.alloc(300_000, 7));
  fs.writeFileSync(path.join(data, 'sub/b.txt'), 'usage\n'.repeat(1000));
  fs.linkSync(path.join(data, 'a.bin'), path.join(data, 'sub/a-link.bin'));
  const config = path.join(dir, 'config.json');
  fs.writeFileSync(
    config,
    JSON.stringify({
      collectors: {
        storage: { paths: [data], volumes: [] },
        // Loopback is the one interface whose traffic this test can cause.
        bandwidth: { include: ['lo'], exclude: [] },
      },
      ...extra,
    }),
  );
  return { dir, db: path.join(dir, 'tally.db'), config, data };
}

function tally(s: Setup, args: string[], env: NodeJS.ProcessEnv = {}) {
  return spawnSync(process.execPath, [BIN, '--db', s.db, '--config', s.config, ...args], {
    encoding: 'utf8',
    env: { ...process.env, TALLY_HOME: s.dir, ...env },
    timeout: 60_000,
  });
}

function rows(db: string, sql: string): Array<Record<string, unknown>> {
  const d = new BetterSqlite3(db, { readonly: true });
  try {
    return d.prepare(sql).all() as Array<Record<string, unknown>>;
  } finally {
    d.close();
  }
}

function du(p: string): number {
  return Number(execFileSync('du', ['-B1', '-s', p], { encoding: 'utf8' }).split('\t')[0]);
}

/** Some loopback traffic: a request to a throwaway server on 127.0.0.1. */
async function loopbackTraffic(bytes: number): Promise<void> {
  const server = http.createServer((req, res) => req.resume().on('end', () => res.end('x'.repeat(bytes))));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  await fetch(`http://127.0.0.1:${port}/`, { method: 'POST', body: 'y'.repeat(bytes) }).then((r) => r.text());
  await new Promise((r) => server.close(r));
}

describe('tally agent --once', () => {
  it('a baseline first, then storage, bandwidth and compute records since the previous run', async () => {
    const s = setup();
    const first = tally(s, ['agent', '--once']);
    expect(first.stderr).toBe('');
    expect(first.status).toBe(0);
    expect(rows(s.db, 'SELECT count(*) AS n FROM usage_records')[0]!.n).toBe(0);

    await loopbackTraffic(200_000);
    const second = tally(s, ['agent', '--once']);
    expect(second.status).toBe(0);
    const lines = second.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.every((l) => typeof l.level === 'string' && typeof l.msg === 'string')).toBe(true);

    const recs = rows(s.db, 'SELECT service, quantity, metadata, source FROM usage_records ORDER BY seq');
    const by = (service: string) =>
      recs
        .filter((r) => r.service === service)
        .map((r) => ({
          quantity: r.quantity as number,
          source: r.source as string,
          metadata: JSON.parse(r.metadata as string) as Record<string, unknown>,
        }));
    const [storage] = by('storage');
    expect(storage!.metadata.path).toBe(s.data);
    expect(storage!.metadata.bytes).toBe(du(s.data));
    expect(storage!.quantity).toBeGreaterThan(0);
    expect(storage!.source).toBe('collector:storage');
    const bw = by('bandwidth');
    expect(bw.map((r) => `${r.metadata.interface} ${r.metadata.direction}`).sort()).toEqual(['lo egress', 'lo ingress']);
    for (const r of bw) expect(r.quantity).toBeGreaterThanOrEqual(400_000); // both directions of both bodies cross lo
    const [compute] = by('compute');
    expect(compute!.metadata).toEqual({ instance: 'host' });
    expect(compute!.quantity).toBeGreaterThan(0);
    // The lock is released at exit.
    expect(fs.existsSync(`${s.db}.lock`)).toBe(false);
  });

  it('a bad collector setting is refused naming the field', () => {
    const s = setup({ collectors: { bandwidth: { schedule: 'every minute' } } });
    const r = tally(s, ['agent', '--once']);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/collectors\.bandwidth\.schedule: must be a cron expression/);
  });

  const isRoot = process.getuid?.() === 0;
  const hasSetpriv = spawnSync('setpriv', ['--version']).status === 0;
  it.skipIf(!isRoot || !hasSetpriv)('as an unprivileged user, a folder it cannot read is counted and logged, the rest measured', () => {
    const s = setup();
    const secret = path.join(s.data, 'secret');
    fs.mkdirSync(secret);
    fs.writeFileSync(path.join(secret, 'hidden.bin'), Buffer.alloc(500_000, 1));
    fs.chmodSync(secret, 0o000);
    const home = path.join(s.dir, 'home');
    fs.mkdirSync(home);
    for (const p of [s.dir, home]) fs.chownSync(p, 65534, 65534);
    fs.chmodSync(s.config, 0o644);
    const asNobody = () =>
      spawnSync(
        'setpriv',
        ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, BIN, '--db', s.db, '--config', s.config, 'agent', '--once'],
        {
          encoding: 'utf8',
          env: { ...process.env, HOME: home, TALLY_HOME: home },
          timeout: 60_000,
        },
      );
    expect(asNobody().status).toBe(0);
    const r = asNobody();
    expect(r.status).toBe(0);
    const warn = r.stdout.split('\n').find((l) => l.includes('entries could not be read'));
    expect(JSON.parse(warn!)).toMatchObject({ level: 'warn', path: s.data, unreadable: 1, examples: [{ path: secret, code: 'EACCES' }] });
    const [storage] = rows(s.db, `SELECT metadata FROM usage_records WHERE service = 'storage'`);
    // Everything but the secret folder's contents (its own block still counts, as du does).
    const expected = du(s.data) - du(secret) + fs.lstatSync(secret).blocks * 512;
    expect((JSON.parse(storage!.metadata as string) as { bytes: number }).bytes).toBe(expected);
  });
});

/** Everything the child writes to stdout, kept whole so no line is missed between waits. */
function stdoutOf(child: ChildProcess): { waitFor(pattern: RegExp, timeoutMs?: number): Promise<string> } {
  let buf = '';
  const waiters = new Set<() => void>();
  child.stdout!.on('data', (d: Buffer) => {
    buf += d.toString();
    for (const w of waiters) w();
  });
  return {
    waitFor(pattern, timeoutMs = 30_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const line = buf.split('\n').find((l) => pattern.test(l));
          if (line === undefined) return;
          cleanup();
          resolve(line);
        };
        const onExit = (code: number | null) => {
          cleanup();
          reject(new Error(`agent exited (${code}) before ${pattern}: ${buf.slice(-2000)}`));
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`no line matching ${pattern} within ${timeoutMs} ms; got: ${buf.slice(-2000)}`));
        }, timeoutMs);
        const cleanup = () => {
          clearTimeout(timer);
          waiters.delete(check);
          child.off('exit', onExit);
        };
        waiters.add(check);
        child.once('exit', onExit);
        check();
      });
    },
  };
}

describe('tally agent (long-running)', () => {
  it('serves metrics, refuses a second writer naming its pid, and on SIGTERM exits 0 with records flushed and the lock gone', async () => {
    const s = setup();
    const child = spawn(process.execPath, [BIN, '--db', s.db, '--config', s.config, 'agent', '--port', '0', '--schedule', '* * * * * *'], {
      env: { ...process.env, TALLY_HOME: s.dir },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out = stdoutOf(child);
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    try {
      const listening = JSON.parse(await out.waitFor(/"msg":"http api listening"/)) as { url: string; dashboard?: string };
      expect(listening.dashboard).toBeUndefined(); // the access token never goes to the log
      await out.waitFor(/"msg":"agent started"/);
      const token = fs.readFileSync(path.join(path.dirname(s.db), 'agent.token'), 'utf8').trim();
      // No terminal here (as under systemd): stderr says how to get the link, without the token.
      for (let i = 0; i < 100 && !stderr.includes('tally dashboard'); i++) await new Promise((r) => setTimeout(r, 50));
      expect(stderr).toContain('`tally dashboard` prints the dashboard link');
      expect(stderr).not.toContain(token);

      // Scheduled runs every second: the second one records deltas.
      const deadline = Date.now() + 40_000;
      while (rows(s.db, `SELECT count(*) AS n FROM usage_records WHERE service = 'compute'`)[0]!.n === 0) {
        if (Date.now() > deadline) throw new Error('no compute record from the scheduled collector');
        await new Promise((r) => setTimeout(r, 250));
      }
      const metrics = await fetch(`${listening.url}/metrics`, { headers: { authorization: `Bearer ${token}` } }).then((r) => r.text());
      expect(metrics).toMatch(/^tally_collector_runs_total\{collector="compute"\} [1-9]/m);
      expect(metrics).toMatch(/^# TYPE tally_collector_errors_total counter$/m);

      const second = tally(s, ['agent', '--once']);
      expect(second.status).toBe(1);
      expect(second.stderr).toContain(`pid ${child.pid}`);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
    expect(fs.existsSync(`${s.db}.lock`)).toBe(false);
    const services = rows(s.db, 'SELECT DISTINCT service FROM usage_records ORDER BY service').map((r) => r.service);
    expect(services).toEqual(expect.arrayContaining(['compute', 'storage']));
    // Nothing left in the WAL that is not in the database file: the writer closed cleanly.
    expect(fs.existsSync(`${s.db}-wal`) ? fs.statSync(`${s.db}-wal`).size : 0).toBe(0);
  });
});

describe('tally service', () => {
  const homeInTmp = /^\/(var\/)?tmp(\/|$)/.test(os.homedir());
  it.skipIf(homeInTmp)('without a running systemd: writes the unit, prints the commands to run, and uninstalls', () => {
    // The unit has a /tmp of its own (PrivateTmp): its database and config live outside /tmp
    // (the checkout itself may be under /tmp).
    const home = path.join(os.homedir(), `.tally-test-service-${process.pid}`);
    fs.mkdirSync(home, { recursive: true });
    fs.writeFileSync(path.join(home, 'config.json'), '{}');
    const s = { ...setup(), db: path.join(home, 't.db'), config: path.join(home, 'config.json') };
    const dir = path.join(s.dir, 'units');
    const install = tally(s, ['service', 'install', '--user', '--dir', dir]);
    expect(install.status).toBe(0);
    const unit = fs.readFileSync(path.join(dir, 'tally.service'), 'utf8');
    expect(unit).toContain(`ExecStart=${process.execPath} ${BIN} agent`);
    if (!fs.existsSync('/run/systemd/system')) expect(install.stdout).toContain('systemctl --user enable --now tally.service');
    const status = tally(s, ['--json', 'service', 'status', '--user', '--dir', dir]);
    expect(JSON.parse(status.stdout)).toMatchObject({ installed: true, outdated: false, agent: null });
    expect(tally(s, ['service', 'uninstall', '--user', '--dir', dir]).status).toBe(0);
    expect(fs.existsSync(path.join(dir, 'tally.service'))).toBe(false);
    const both = tally(s, ['service', 'install', '--user', '--system', '--dry-run']);
    expect(both.status).toBe(1);
    expect(both.stderr).toMatch(/scope: give --user or --system, not both/);
    fs.rmSync(home, { recursive: true, force: true });
  });
});
