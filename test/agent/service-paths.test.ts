// The service runs the agent on the database and config `tally service` was given, with every
// path escaped for the unit file, and `service status` looks at that same database.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { planService } from '../../src/agent/service/install';
import { TallyError } from '../../src/core/errors';
import { acquireWriterLock } from '../../src/storage/lock';
import { tally } from '../helpers/cli';
import { tempDir } from '../helpers/db';

const hasAnalyze = spawnSync('systemd-analyze', ['--version']).status === 0;

function lines(content: string, key: string): string[] {
  return content.split('\n').filter((l) => l.startsWith(`${key}=`));
}

function refusal(fn: () => unknown): TallyError {
  try {
    fn();
  } catch (err) {
    if (err instanceof TallyError) return err;
    throw err;
  }
  throw new Error('expected a refusal');
}

describe('systemd unit: database and config', () => {
  it('runs the agent on the --db and --config given, their folders writable, % and spaces escaped', () => {
    const plan = planService({
      scope: 'user',
      platform: 'linux',
      env: {},
      dir: tempDir(),
      db: '/srv/sp ace/50% $HOME/my db.db',
      configFile: '/etc/tally conf/cfg.json',
    });
    expect(lines(plan.content, 'Environment')).toEqual([
      // In Environment= "$" is literal: it stays single; "%" is a specifier everywhere.
      'Environment="TALLY_HOME=/srv/sp ace/50%% $HOME"',
      'Environment="TALLY_DB=/srv/sp ace/50%% $HOME/my db.db"',
      'Environment="TALLY_CONFIG=/etc/tally conf/cfg.json"',
      'Environment=MALLOC_ARENA_MAX=2',
    ]);
    expect(lines(plan.content, 'ReadWritePaths')).toEqual(['ReadWritePaths="/srv/sp ace/50%% $HOME" "/etc/tally conf"']);
    expect(plan.spec.db).toBe('/srv/sp ace/50% $HOME/my db.db');
  });

  it('escapes % in a path without spaces too', () => {
    const plan = planService({ scope: 'system', platform: 'linux', env: {}, dir: tempDir(), db: '/srv/100%/t.db' });
    expect(plan.content).toContain('\nReadWritePaths="/srv/100%%" /etc/tally\n');
    expect(plan.content).toContain('\nEnvironment="TALLY_DB=/srv/100%%/t.db"\n');
  });

  it('doubles $ and % in ExecStart=, where systemd expands both', () => {
    const plan = planService({
      scope: 'user',
      platform: 'linux',
      env: {},
      dir: tempDir(),
      tallyBin: '/opt/t$lly 5%/bin/tally.mjs',
      db: '/srv/tally/t.db',
    });
    expect(lines(plan.content, 'ExecStart')).toEqual([`ExecStart=${process.execPath} "/opt/t$$lly 5%%/bin/tally.mjs" agent`]);
  });

  it('takes the database and config from TALLY_DB / TALLY_CONFIG, made absolute', () => {
    const plan = planService({
      scope: 'user',
      platform: 'linux',
      env: { TALLY_DB: 'rel dir/env.db', TALLY_CONFIG: '/srv/conf/c.json' },
      dir: tempDir(),
      // Described, not installed: the checkout (the current folder) may itself be under /tmp.
      describeOnly: true,
    });
    const db = path.resolve('rel dir/env.db');
    expect(plan.spec.db).toBe(db);
    expect(plan.content).toContain(`\nEnvironment="TALLY_DB=${db}"\n`);
    expect(plan.content).toContain('\nEnvironment=TALLY_CONFIG=/srv/conf/c.json\n');
    expect(lines(plan.content, 'ReadWritePaths')).toEqual([`ReadWritePaths="${path.dirname(db)}" /srv/conf`]);
  });

  it('the --db flag wins over TALLY_DB', () => {
    const plan = planService({
      scope: 'user',
      platform: 'linux',
      env: { TALLY_DB: '/srv/tally/env.db' },
      dir: tempDir(),
      db: '/srv/tally/flag.db',
    });
    expect(plan.spec.db).toBe('/srv/tally/flag.db');
    expect(plan.content).not.toContain('env.db');
  });

  it('refuses a database or config under /tmp or /var/tmp, which PrivateTmp would hide', () => {
    for (const db of ['/tmp/x/sp ace/my db.db', '/var/tmp/t.db']) {
      const err = refusal(() => planService({ scope: 'user', platform: 'linux', env: {}, dir: tempDir(), db }));
      expect(err.field).toBe('db');
      expect(err.message).toContain(db);
    }
    const err = refusal(() =>
      planService({ scope: 'user', platform: 'linux', env: {}, dir: tempDir(), db: '/srv/tally/t.db', configFile: '/tmp/cfg.json' }),
    );
    expect(err.field).toBe('config');
  });

  it('refuses a database or config directly in a system folder, which the unit would make writable whole', () => {
    for (const [db, configFile, field] of [
      ['/var/t.db', undefined, 'db'],
      ['/srv/tally/t.db', '/etc/tally.json', 'config'],
    ] as const) {
      const err = refusal(() => planService({ scope: 'system', platform: 'linux', env: {}, dir: tempDir(), db, configFile }));
      expect(err.field).toBe(field);
      expect(err.message).toMatch(/writable whole: put it in a folder of its own/);
    }
  });

  it.skipIf(!hasAnalyze)('a unit with spaces, % and $ in its paths passes systemd-analyze verify', () => {
    const plan = planService({ scope: 'user', platform: 'linux', env: {}, dir: tempDir(), db: '/srv/sp ace/50% $x/my db.db' });
    const file = path.join(tempDir(), 'tally.service');
    fs.writeFileSync(file, plan.content);
    const runtime = tempDir('tally-rt-');
    fs.chmodSync(runtime, 0o700);
    const r = spawnSync('systemd-analyze', ['--user', 'verify', file], {
      encoding: 'utf8',
      env: { ...process.env, XDG_RUNTIME_DIR: runtime },
      timeout: 30_000,
    });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });
});

describe('launchd plist: database and config', () => {
  it('carries the db set in the config file, which TALLY_DB would otherwise override', () => {
    const dir = tempDir();
    const config = path.join(dir, 'my cfg.json');
    fs.writeFileSync(config, JSON.stringify({ db: '/Users/someone/meter & co/t.db' }));
    const plan = planService({ scope: 'user', platform: 'darwin', env: { HOME: '/Users/someone' }, uid: 501, configFile: config });
    expect(plan.content).toContain('<key>TALLY_DB</key><string>/Users/someone/meter &amp; co/t.db</string>');
    expect(plan.content).toContain(`<key>TALLY_CONFIG</key><string>${config}</string>`);
    expect(plan.content).toContain('<key>WorkingDirectory</key><string>/Users/someone/meter &amp; co</string>');
  });
});

describe('tally service (CLI)', () => {
  it('install --dry-run puts --db and --config into the unit', () => {
    const r = tally([
      '--db',
      '/srv/sp ace/my db.db',
      '--config',
      '/srv/conf/cfg.json',
      'service',
      'install',
      '--user',
      '--dry-run',
      '--dir',
      tempDir(),
    ]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('\nEnvironment="TALLY_DB=/srv/sp ace/my db.db"\n');
    expect(r.stdout).toContain('\nReadWritePaths="/srv/sp ace" /srv/conf\n');
  });

  it('install refuses a database under /tmp with exit 1, naming db', () => {
    const r = tally(['--db', '/tmp/x/sp ace/my db.db', 'service', 'install', '--user', '--dry-run', '--dir', tempDir()]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/db: \/tmp\/x\/sp ace\/my db\.db is under \/tmp/);
  });

  it('status reports on the database from TALLY_DB, and sees the agent holding it', () => {
    const dir = tempDir();
    const db = path.join(dir, 'sp ace', 'my db.db');
    fs.mkdirSync(path.dirname(db));
    const args = ['service', 'status', '--user', '--dir', dir, '--json'];
    const before = tally(args, { TALLY_DB: db });
    expect(before.code).toBe(0);
    expect(JSON.parse(before.stdout)).toMatchObject({ db, agent: null });
    const lock = acquireWriterLock(db, 'tally agent');
    try {
      const r = tally(args, { TALLY_DB: db });
      expect(JSON.parse(r.stdout)).toMatchObject({ db, agent: { pid: process.pid } });
    } finally {
      lock.release();
    }
  });
});
