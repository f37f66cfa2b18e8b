// A user's mistakes with files and folders, as the CLI meets them: each is exit 1 with one line
// that says what to do, never an internal error, and nothing is created where it should not be.
// Permission cases run as an unprivileged user (root reads and writes everything).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { beforeAll, describe, expect, it } from 'vitest';
import { acquireWriterLock } from '../../src/storage/lock';
import { tally } from '../helpers/cli';
import { tempDir } from '../helpers/db';

const NOBODY = 65534;
const SETPRIV = '/usr/bin/setpriv';
const asRoot = process.getuid?.() === 0 && fs.existsSync(SETPRIV);

/** `tally` as the unprivileged user `nobody`. */
function tallyAsNobody(args: string[], home: string) {
  const r = spawnSync(
    SETPRIV,
    [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', process.execPath, path.resolve('bin/tally.mjs'), ...args],
    { encoding: 'utf8', env: { PATH: process.env.PATH ?? '', HOME: home, TALLY_CONFIG: '/nonexistent/config.json' }, timeout: 60_000 },
  );
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

const oneLine = (stderr: string) => stderr.trim().split('\n');

describe('CLI user errors', () => {
  const dir = tempDir('tally-user-errors-');
  const good = path.join(dir, 'good.db');

  beforeAll(() => {
    expect(tally(['record', 'database', '3', '{"type":"SELECT"}'], { TALLY_DB: good }).code).toBe(0);
  });

  it('a read command on a missing database is refused, naming the path, and creates nothing', () => {
    const missing = path.join(dir, 'typo', 'dir', 't.db');
    for (const args of [['report'], ['services', 'list'], ['quota', 'list'], ['alerts', 'list']]) {
      const r = tally([...args, '--db', missing]);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(1);
      expect(oneLine(r.stderr)).toHaveLength(1);
      expect(r.stderr).toContain(`no database at ${missing}`);
      expect(r.stderr).toMatch(/--db/);
    }
    expect(fs.existsSync(path.join(dir, 'typo'))).toBe(false);
  });

  it('a file that is not a database is named as such', () => {
    const notDb = path.join(dir, 'notes.txt');
    fs.writeFileSync(notDb, 'root:x:0:0:root:/root:/bin/bash\n'.repeat(200));
    for (const args of [['report'], ['record', 'database', '1', '{"type":"SELECT"}']]) {
      const r = tally([...args, '--db', notDb]);
      expect(r.code, r.stderr).toBe(1);
      expect(oneLine(r.stderr)).toHaveLength(1);
      expect(r.stderr).toMatch(/not a database|damaged/);
      expect(r.stderr).not.toMatch(/internal error/);
    }
  });

  it("another program's SQLite database is refused by reading and writing commands, and left as it was", () => {
    const foreign = path.join(dir, 'people.db');
    const other = new BetterSqlite3(foreign);
    other.exec('CREATE TABLE people (id INTEGER); INSERT INTO people VALUES (1)');
    other.close();
    fs.chmodSync(foreign, 0o644);
    const before = fs.readFileSync(foreign);
    for (const args of [['report'], ['record', 'database', '1', '{"type":"SELECT"}'], ['services', 'list']]) {
      const r = tally([...args, '--db', foreign]);
      expect(r.code, r.stderr).toBe(1);
      expect(oneLine(r.stderr)).toEqual([`tally: db: ${foreign} is not a Tally database (it holds tables people): check --db or TALLY_DB`]);
    }
    expect(fs.readFileSync(foreign).equals(before)).toBe(true);
    expect(fs.statSync(foreign).mode & 0o777).toBe(0o644);
    expect(fs.readdirSync(dir).filter((f) => f.startsWith('people.db'))).toEqual(['people.db']);
  });

  it('an option given empty is refused, never read as not given', () => {
    const db = path.join(dir, 'empty-options.db');
    for (const [args, field] of [
      [['--db', '', 'record', 'database', '1', '{"type":"SELECT"}'], 'db'],
      [['--customer', '', 'record', 'database', '1', '{"type":"SELECT"}', '--db', db], 'customerId'],
      [['report', '--from', '', '--db', good], 'from'],
      [['report', '--to', '', '--db', good], 'to'],
      [['report', '--month', '2026-10', '--from', '2026-10-02', '--db', good], 'from'],
    ] as const) {
      const r = tally(args, { XDG_DATA_HOME: path.join(dir, 'xdg') });
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(1);
      expect(r.stderr).toContain(`${field}: `);
    }
    expect(fs.existsSync(path.join(dir, 'xdg'))).toBe(false);
    expect(fs.existsSync(db)).toBe(false);
  });

  it('a sync subcommand reads its own --target (sync has one too)', () => {
    const db = path.join(dir, 'sync-target.db');
    expect(tally(['sync', 'target', 'add', 'central', '--kind', 'tally', '--url', 'https://collector.example.com', '--db', db]).code).toBe(
      0,
    );
    const retry = tally(['sync', 'retry-rejected', '--target', 'central', '--db', db]);
    expect(retry.code, retry.stderr).toBe(0);
    expect(retry.stdout).toContain('0 delivered, 0 still rejected');
    const missing = tally(['sync', 'retry-rejected', '--db', db]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('target: is required');
    for (const args of [
      ['sync', 'rejected', '--target', 'nope'],
      ['sync', 'corrections', '--target', 'nope'],
    ]) {
      const r = tally([...args, '--db', db]);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(1);
      expect(r.stderr).toContain('no sync target named "nope"');
    }
    const done = tally(['sync', 'corrections', 'done', '5', '--target', 'central', '--db', db]);
    expect(done.code).toBe(1);
    expect(done.stderr).toContain('seq: no correction 5 waiting for a manual adjustment at target "central"');
  });

  it('a second writer is refused, naming the holder', () => {
    const lock = acquireWriterLock(good, 'tally agent (test)');
    try {
      const r = tally(['quota', 'set', 'api', '10', '--db', good, '--json'], { TALLY_NO_AGENT: '1' });
      expect(r.code).toBe(1);
      expect(oneLine(r.stderr)).toHaveLength(1);
      expect(r.stderr).toMatch(/in use by another writer: pid \d+.*tally agent \(test\)/);
      // Reading is fine while another process writes.
      expect(tally(['report', '--db', good, '--json']).code).toBe(0);
    } finally {
      lock.release();
    }
  });

  describe.skipIf(!asRoot)('as an unprivileged user (needs root and setpriv to switch user; skipped otherwise)', () => {
    const ro = path.join(dir, 'readonly');
    const home = path.join(dir, 'home');

    beforeAll(() => {
      fs.chmodSync(dir, 0o755);
      fs.mkdirSync(home, { mode: 0o777 });
      fs.chmodSync(home, 0o777);
      fs.mkdirSync(ro);
      fs.copyFileSync(good, path.join(ro, 't.db'));
      fs.chmodSync(path.join(ro, 't.db'), 0o444);
      fs.chmodSync(ro, 0o555);
    });

    it('a read-only database in a read-only folder can be read', () => {
      const r = tallyAsNobody(['report', '--db', path.join(ro, 't.db'), '--json'], home);
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject({ totalEvents: 1 });
      expect(tallyAsNobody(['services', 'list', '--db', path.join(ro, 't.db')], home).code).toBe(0);
    });

    it('a writing command in a folder without write permission says so', () => {
      for (const db of [path.join(ro, 't.db'), path.join(ro, 'new.db')]) {
        const r = tallyAsNobody(['record', 'database', '1', '{"type":"SELECT"}', '--db', db], home);
        expect(r.code, r.stderr).toBe(1);
        expect(oneLine(r.stderr)).toHaveLength(1);
        expect(r.stderr).toMatch(/cannot write in .*readonly.*permission denied/);
      }
      expect(fs.readdirSync(ro)).toEqual(['t.db']);
    });
  });
});
