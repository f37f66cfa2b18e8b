// One writer per database: a lock file beside it names the holder (pid, host, command, since).
// A lock left by a process that is gone (crash, kill -9, reboot) is taken over.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { TallyError } from '../core/errors';

export interface LockHolder {
  readonly pid: number;
  readonly hostname: string;
  readonly command: string;
  readonly since: string;
  readonly bootId: string | null;
}

export interface WriterLock {
  readonly path: string;
  release(): void;
}

function bootId(): string | null {
  try {
    return fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return null;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function readLockHolder(lockPath: string): LockHolder | null {
  try {
    return JSON.parse(fs.readFileSync(lockPath, 'utf8')) as LockHolder;
  } catch {
    return null;
  }
}

/** Whether the holder recorded in the lock file is a live process (on this boot of this host). */
export function holderIsAlive(holder: LockHolder): boolean {
  if (holder.hostname !== os.hostname()) return true; // a shared folder: we cannot tell, assume live
  const boot = bootId();
  if (boot && holder.bootId && boot !== holder.bootId) return false;
  return alive(holder.pid);
}

export function lockPathFor(dbPath: string): string {
  return `${dbPath}.lock`;
}

export function acquireWriterLock(dbPath: string, command = process.argv.slice(1).join(' ')): WriterLock {
  const lockPath = lockPathFor(dbPath);
  fs.mkdirSync(path.dirname(path.resolve(lockPath)), { recursive: true });
  const me: LockHolder = { pid: process.pid, hostname: os.hostname(), command, since: new Date().toISOString(), bootId: bootId() };
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = fs.openSync(lockPath, 'wx', 0o644);
      fs.writeSync(fd, JSON.stringify(me));
      fs.fsyncSync(fd);
      fs.closeSync(fd);
      let released = false;
      return {
        path: lockPath,
        release() {
          if (released) return;
          released = true;
          const holder = readLockHolder(lockPath);
          if (holder?.pid === process.pid) fs.rmSync(lockPath, { force: true });
        },
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const holder = readLockHolder(lockPath);
      if (holder && holderIsAlive(holder)) {
        throw new TallyError(
          'locked',
          `database ${dbPath} is in use by another writer: pid ${holder.pid} on ${holder.hostname} (${holder.command || 'unknown command'}), since ${holder.since}. ` +
            'Send records through that agent (tally track uses it automatically), or stop it first.',
        );
      }
      // The holder is gone (or the file is half-written by a crash): take the lock over.
      fs.rmSync(lockPath, { force: true });
    }
  }
  throw new TallyError('locked', `could not take the writer lock ${lockPath}`);
}
