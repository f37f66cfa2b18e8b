// One writer per database FILE: the lock follows the file's identity. A symlink and a hard link
// to a held database are refused naming the holder (measured on main: `tally agent --db link.db`
// ran as a second writer and stored every interval twice); a stopping holder is waited for.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { TallyError } from '../../src/core/errors';
import { acquireWriterLock, lockPathFor, readLockHolder } from '../../src/storage/lock';
import { tally } from '../helpers/cli';
import { tempDir, testDb } from '../helpers/db';

function refusal(fn: () => unknown): TallyError {
  try {
    fn();
  } catch (err) {
    return err as TallyError;
  }
  throw new Error('expected a refusal');
}

async function heldDatabase(): Promise<{ dir: string; db: string; release: () => void }> {
  const dir = tempDir('tally-lock-');
  const db = path.join(dir, 'tally.db');
  await (await testDb(db)).close();
  const lock = acquireWriterLock(db, 'tally agent');
  return { dir, db, release: () => lock.release() };
}

describe('writer lock follows the file, not the name', () => {
  it('a symlink to a held database is refused, naming the holder and the real file', async () => {
    const { dir, db, release } = await heldDatabase();
    const link = path.join(tempDir('tally-lock-e-'), 'link.db');
    fs.symlinkSync(db, link);
    const err = refusal(() => acquireWriterLock(link, 'tally agent --db link.db'));
    expect(err.code).toBe('locked');
    expect(err.message).toContain(`pid ${process.pid}`);
    expect(err.message).toContain('tally agent');
    expect(err.message).toContain(`the same file as ${fs.realpathSync(db)}`);
    expect(lockPathFor(link)).toBe(lockPathFor(db));
    // A symlinked folder too.
    const dirLink = path.join(tempDir('tally-lock-d-'), 'data');
    fs.symlinkSync(dir, dirLink);
    expect(refusal(() => acquireWriterLock(path.join(dirLink, 'tally.db'))).code).toBe('locked');
    release();
    acquireWriterLock(link).release();
  });

  it('a hard link to a held database is refused, naming the holder', async () => {
    const { dir, db, release } = await heldDatabase();
    const hard = path.join(dir, 'other-name.db');
    fs.linkSync(db, hard);
    const err = refusal(() => acquireWriterLock(hard, 'tally agent --db other-name.db'));
    expect(err.code).toBe('locked');
    expect(err.message).toContain(`pid ${process.pid}`);
    expect(err.message).toContain(`as ${fs.realpathSync(db)}`);
    release();
    // Even with nobody holding it, two names for one SQLite file are refused: -wal follows the name.
    expect(refusal(() => acquireWriterLock(hard)).message).toMatch(/has 2 hard links/);
  });

  it('a holder that is stopping is waited for; one that stays is refused after the wait', async () => {
    const db = path.join(tempDir('tally-lock-w-'), 'tally.db');
    const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 800)'], { stdio: 'ignore' });
    const holder = { pid: child.pid!, hostname: (await import('node:os')).hostname(), command: 'tally agent', since: '', bootId: null };
    fs.writeFileSync(lockPathFor(db), JSON.stringify({ ...holder, stopping: true }));
    const lock = acquireWriterLock(db, 'tally agent', { waitMs: 10_000 });
    expect(readLockHolder(lock.path)?.pid).toBe(process.pid);
    lock.release();

    const stays = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
    try {
      fs.writeFileSync(lockPathFor(db), JSON.stringify({ ...holder, pid: stays.pid, stopping: true }));
      expect(refusal(() => acquireWriterLock(db, 'x', { waitMs: 300 })).message).toContain(`pid ${stays.pid}`);
      fs.writeFileSync(lockPathFor(db), JSON.stringify({ ...holder, pid: stays.pid }));
      expect(refusal(() => acquireWriterLock(db, 'x')).code).toBe('locked');
    } finally {
      process.kill(stays.pid!);
    }
  });

  it('markStopping tells others, release removes only our own lock', () => {
    const db = path.join(tempDir('tally-lock-m-'), 'tally.db');
    const lock = acquireWriterLock(db, 'tally agent');
    lock.markStopping();
    expect(readLockHolder(lock.path)).toMatchObject({ pid: process.pid, stopping: true });
    lock.release();
    expect(fs.existsSync(lock.path)).toBe(false);
  });

  it('tally agent --once through a symlink to a database an agent holds exits 1 naming the holder', async () => {
    const { db, release } = await heldDatabase();
    const link = path.join(tempDir('tally-lock-cli-'), 'link.db');
    fs.symlinkSync(db, link);
    try {
      const r = tally(['agent', '--once', '--db', link]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`pid ${process.pid}`);
      expect(r.stderr).toContain('in use by another writer');
    } finally {
      release();
    }
  });
});
