// A file the user names that cannot be written (or read) is a user error: exit 1, one line on
// stderr naming the option and the path, and nothing half-done — no .partial file left, no record
// archived away, no folder replaced, no device touched. Measured on main: each was exit 2
// "internal error" (an archive of 2000 records died of an unhandled rejection with a stack trace).
// The tests run as root, so every path here fails for root too: /sys (EACCES), /proc (no new
// files), a path under a regular file, a directory, a device; the first test checks that.
import fs from 'node:fs';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { beforeAll, describe, expect, it } from 'vitest';
import { tally, type CliResult } from '../helpers/cli';
import { tempDir } from '../helpers/db';

const dir = tempDir('tally-output-errors-');
const db = path.join(dir, 't.db');
const env = { TALLY_DB: db, TALLY_NO_AGENT: '1', TALLY_NOW: '2026-11-15T12:00:00Z' };
const event = ['record', 'api', '1', '{"endpoint":"/a","method":"GET"}'];

function count(file = db): number {
  const sqlite = new BetterSqlite3(file, { readonly: true });
  try {
    return (sqlite.prepare('SELECT count(*) AS n FROM usage_records').get() as { n: number }).n;
  } finally {
    sqlite.close();
  }
}

/** Exit 1 and a single line of stderr that starts with the option's name (and no stack trace). */
function refused(r: CliResult, option: string): string {
  expect(r.code, r.stderr).toBe(1);
  expect(r.stderr.trim().split('\n'), r.stderr).toHaveLength(1);
  expect(r.stderr).toMatch(new RegExp(`^tally: ${option}: `));
  expect(r.stderr).not.toMatch(/internal error|at .*\.m?js:\d+/);
  return r.stderr.trim();
}

/** Files a failed write may have left beside its target (a .partial, a probe, a backup's temp). */
function leftovers(folder: string, base: string): string[] {
  return fs.readdirSync(folder).filter((f) => f.startsWith(`.${base}.`) || f.startsWith(`${base}.partial`));
}

describe.skipIf(process.platform !== 'linux')('output files that cannot be written', () => {
  const folder = path.join(dir, 'folder');
  const regular = path.join(dir, 'notes.txt');

  beforeAll(() => {
    // Creating a file fails here even for root: what every case below relies on.
    for (const f of ['/sys/.tally-probe', '/proc/.tally-probe']) expect(() => fs.writeFileSync(f, '')).toThrow();
    fs.mkdirSync(folder);
    fs.writeFileSync(regular, 'a file, not a folder\n');
    const old = Array.from({ length: 2000 }, () =>
      JSON.stringify({ service: 'api', quantity: 1, metadata: { endpoint: '/a', method: 'GET' }, recordedAt: '2026-10-01T00:00:00Z' }),
    );
    fs.writeFileSync(path.join(dir, 'old.jsonl'), old.join('\n') + '\n');
    expect(tally(['import', path.join(dir, 'old.jsonl')], env).code).toBe(0);
    expect(tally(event, env).code).toBe(0);
  });

  it('archive --out in /sys or /proc is refused naming --out, and no record is archived away', () => {
    expect(refused(tally(['archive', '--older-than', '30d', '--out', '/sys/x.jsonl.gz'], env), 'out')).toBe(
      'tally: out: /sys/x.jsonl.gz: permission denied',
    );
    expect(refused(tally(['archive', '--older-than', '30d', '--out', '/proc/x.jsonl.gz'], env), 'out')).toContain('/proc/x.jsonl.gz');
    expect(count()).toBe(2001);
    expect(JSON.parse(tally(['archive', 'list', '--json'], env).stdout)).toEqual([]);
    expect(leftovers('/sys', 'x.jsonl.gz')).toEqual([]);
  });

  it('export and statement files in /sys or /proc are refused naming --out, leaving no partial file', () => {
    const cases = [
      ['export', 'csv', '--out', '/sys/x.csv'],
      ['export', 'csv', '--out', '/proc/x.csv'],
      ['statement', '--format', 'pdf', '--out', '/sys/x.pdf'],
      ['statement', '--format', 'xlsx', '--out', '/proc/x.xlsx'],
    ];
    for (const args of cases) {
      const out = args.at(-1)!;
      expect(refused(tally(args, env), 'out')).toContain(out);
      expect(leftovers(path.dirname(out), path.basename(out))).toEqual([]);
    }
    expect(refused(tally(['export', 'csv', '--out', '/sys/x.csv'], env), 'out')).toMatch(/permission denied$/);
  });

  it('backup --out in /sys, on a folder or under a file is refused naming --out; a folder is never replaced', () => {
    expect(refused(tally(['backup', '--out', '/sys/x.db'], env), 'out')).toMatch(/\/sys\/x\.db: permission denied$/);
    for (const args of [
      ['backup', '--out', folder, '--force'],
      ['backup', '--out', `${folder}/`],
    ]) {
      // Not "exists; add --force": no flag makes a folder a file.
      expect(refused(tally(args, env), 'out')).toBe(`tally: out: ${folder} is a directory; name a file`);
    }
    expect(fs.statSync(folder).isDirectory()).toBe(true);
    expect(fs.readdirSync(folder)).toEqual([]);
    expect(refused(tally(['backup', '--out', path.join(regular, 'x.db')], env), 'out')).toBe(
      `tally: out: ${regular} is a file, not a folder`,
    );
    expect(fs.readdirSync(dir).filter((f) => /partial|probe/.test(f))).toEqual([]);
  });

  it('restore from a folder is refused naming the file, and the database stays as it was', () => {
    expect(refused(tally(['restore', folder], env), 'file')).toBe(`tally: file: ${folder} is a directory; name a file`);
    expect(count()).toBe(2001);
    expect(fs.readdirSync(dir).filter((f) => f.includes('.restore-') || f.includes('.before-restore-'))).toEqual([]);
  });

  it('an empty --out is refused as not a file path', () => {
    for (const args of [
      ['export', 'csv', '--out', ''],
      ['statement', '--format', 'pdf', '--out', ''],
      ['backup', '--out', ''],
    ]) {
      expect(refused(tally(args, env), 'out')).toBe('tally: out: must be a file path');
    }
  });
});

describe.skipIf(process.platform !== 'linux')('a --db that cannot be a database file', () => {
  const dir2 = tempDir('tally-bad-db-');
  const regular = path.join(dir2, 'c.json');
  const folder = path.join(dir2, 'd');

  beforeAll(() => {
    fs.writeFileSync(regular, '{}\n');
    fs.mkdirSync(folder);
  });

  it('a path under a regular file names the file in the way, and creates nothing', () => {
    expect(refused(tally([...event, '--db', path.join(regular, 'x.db')], env), 'db')).toBe(`tally: db: ${regular} is a file, not a folder`);
    expect(fs.readFileSync(regular, 'utf8')).toBe('{}\n');
  });

  it('a database in /proc is refused naming --db', () => {
    expect(refused(tally([...event, '--db', '/proc/t.db'], env), 'db')).toContain('/proc/t.db');
  });

  it('a device is refused as not a regular file and left as it was', () => {
    const before = fs.statSync('/dev/null');
    expect(refused(tally([...event, '--db', '/dev/null'], env), 'db')).toBe('tally: db: /dev/null is not a regular file');
    expect(fs.statSync('/dev/null').mode).toBe(before.mode);
    expect(fs.existsSync('/dev/null.lock')).toBe(false);
  });

  it('a directory is named as a directory (not as a file with hard links), and nothing is written in it', () => {
    const message = refused(tally([...event, '--db', folder], env), 'db');
    expect(message).toMatch(/is a directory/);
    expect(message).not.toMatch(/hard link/);
    expect(fs.readdirSync(folder)).toEqual([]);
    expect(fs.existsSync(`${folder}.lock`)).toBe(false);
  });
});
