// One writer per database file: a lock file beside the file's REAL path names the holder (pid,
// host, command, since, and the file's device and inode). The lock follows the file's identity,
// not the name it was opened by: a symlink resolves to the same lock, and a hard-linked database
// (two names, one inode: SQLite's -wal and -shm files follow the name, so two writers would
// corrupt it) is refused, naming the holder when one is found. A lock left by a process that is
// gone (crash, kill -9, reboot) is taken over; a holder that is stopping is waited for briefly.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { invalid, TallyError } from '../core/errors';
import { pathProblem } from '../files/atomic';

export interface LockHolder {
  readonly pid: number;
  readonly hostname: string;
  readonly command: string;
  readonly since: string;
  readonly bootId: string | null;
  /** The database file's identity when the lock was taken (absent in locks written by older versions). */
  readonly dev?: number;
  readonly ino?: number;
  readonly realPath?: string;
  /** Set by a holder that is shutting down: a new writer waits for it instead of failing. */
  readonly stopping?: boolean;
}

export interface WriterLock {
  readonly path: string;
  /** Tells would-be writers this holder is exiting, so they wait for it (see acquireWriterLock). */
  markStopping(): void;
  release(): void;
}

export interface LockOptions {
  /** How long to wait for a holder that is stopping (or a zombie) before refusing. */
  readonly waitMs?: number;
}

const DEFAULT_WAIT_MS = 5_000;

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

/** A zombie has exited (its files are closed) but still answers kill(pid, 0) until reaped. */
function zombie(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state === 'Z' || state === 'X';
  } catch {
    return false;
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
  return alive(holder.pid) && !zombie(holder.pid);
}

/** The file's real path: symlinks resolved (for a file not created yet, its folder's). */
export function realDbPath(dbPath: string): string {
  const abs = path.resolve(dbPath);
  try {
    return fs.realpathSync(abs);
  } catch {
    try {
      return path.join(fs.realpathSync(path.dirname(abs)), path.basename(abs));
    } catch {
      return abs;
    }
  }
}

export function lockPathFor(dbPath: string): string {
  return `${realDbPath(dbPath)}.lock`;
}

function describeHolder(h: LockHolder): string {
  return `pid ${h.pid} on ${h.hostname} (${h.command || 'unknown command'}), since ${h.since}`;
}

function sameFileAs(dbPath: string, real: string): string {
  return path.resolve(dbPath) === real ? '' : ` (the same file as ${real})`;
}

/** A live holder of the same inode under another name in the file's folder (a hard link's lock). */
function holderOfInode(real: string, st: fs.Stats): LockHolder | null {
  const dir = path.dirname(real);
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return null;
  }
  for (const name of names) {
    if (!name.endsWith('.lock') || path.join(dir, name) === `${real}.lock`) continue;
    const h = readLockHolder(path.join(dir, name));
    if (h && h.dev === st.dev && h.ino === st.ino && holderIsAlive(h)) return h;
  }
  return null;
}

function refuseHardLink(dbPath: string, real: string, st: fs.Stats): never {
  const holder = holderOfInode(real, st);
  throw new TallyError(
    'locked',
    holder
      ? `database ${dbPath} is a hard link to a database in use by another writer: ${describeHolder(holder)}${holder.realPath ? ` as ${holder.realPath}` : ''}. ` +
          'Send records through that agent, or stop it first; then keep one name for the file.'
      : `database ${dbPath} has ${st.nlink} hard links: SQLite keeps its -wal and -shm files by name, so two names can corrupt it. ` +
          'Keep one name (remove the other links, or copy the file with `tally backup`).',
  );
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Waits (bounded) while a stopping holder finishes; returns the holder still there, if any. */
function waitForStoppingHolder(lockPath: string, waitMs: number): LockHolder | null {
  const until = Date.now() + waitMs;
  let holder = readLockHolder(lockPath);
  while (holder && holder.stopping === true && holderIsAlive(holder) && Date.now() < until) {
    sleepSync(100);
    holder = readLockHolder(lockPath);
  }
  return holder;
}

function writeHolder(lockPath: string, holder: LockHolder, flag: 'wx' | 'w'): void {
  // Readable by others: the desktop app and `tally service status` look for a running agent.
  const fd = fs.openSync(lockPath, flag, 0o644);
  try {
    fs.writeSync(fd, JSON.stringify(holder));
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** A folder this user may not write: a user's mistake (wrong user, read-only mount), said plainly. */
function notWritable(err: unknown, dir: string): TallyError | null {
  const code = (err as NodeJS.ErrnoException).code;
  if (code !== 'EACCES' && code !== 'EPERM' && code !== 'EROFS') return null;
  return new TallyError(
    'forbidden',
    `cannot write in ${dir} (${code === 'EROFS' ? 'read-only file system' : 'permission denied'}): this command changes the database. ` +
      'Run it as the user that owns the data folder, or pass --db a writable place.',
    { cause: err },
  );
}

export function acquireWriterLock(dbPath: string, command = process.argv.slice(1).join(' '), o: LockOptions = {}): WriterLock {
  try {
    return acquire(dbPath, command, o);
  } catch (err) {
    if (err instanceof TallyError) throw err;
    // Any other mistake in the path (a file where a folder should be, /proc) names --db.
    throw notWritable(err, path.dirname(path.resolve(dbPath))) ?? pathProblem(err, 'db', dbPath) ?? err;
  }
}

/** The database file as it is now: a folder or a device is refused before a lock file is made beside it. */
function databaseFile(dbPath: string, real: string): fs.Stats | undefined {
  const st = fs.statSync(real, { throwIfNoEntry: false });
  if (st?.isDirectory()) throw invalid('db', `${dbPath} is a directory; name the database file (such as ${path.join(dbPath, 'tally.db')})`);
  if (st && !st.isFile()) throw invalid('db', `${dbPath} is not a regular file`);
  return st;
}

function acquire(dbPath: string, command: string, o: LockOptions): WriterLock {
  const real = realDbPath(dbPath);
  const lockPath = `${real}.lock`;
  const st = databaseFile(dbPath, real);
  fs.mkdirSync(path.dirname(lockPath), { recursive: true, mode: 0o700 }); // usage data is private
  if (st && st.nlink > 1) refuseHardLink(dbPath, real, st);
  const me: LockHolder = {
    pid: process.pid,
    hostname: os.hostname(),
    command,
    since: new Date().toISOString(),
    bootId: bootId(),
    realPath: real,
    ...(st ? { dev: st.dev, ino: st.ino } : {}),
  };
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      writeHolder(lockPath, me, 'wx');
      return heldLock(lockPath, me);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const holder = waitForStoppingHolder(lockPath, o.waitMs ?? DEFAULT_WAIT_MS);
      if (holder && holderIsAlive(holder)) {
        throw new TallyError(
          'locked',
          `database ${dbPath}${sameFileAs(dbPath, real)} is in use by another writer: ${describeHolder(holder)}. ` +
            'Send records through that agent (tally track uses it automatically), or stop it first.',
        );
      }
      // The holder is gone (or the file is half-written by a crash): take the lock over.
      fs.rmSync(lockPath, { force: true });
    }
  }
  throw new TallyError('locked', `could not take the writer lock ${lockPath}`);
}

function heldLock(lockPath: string, me: LockHolder): WriterLock {
  let released = false;
  const mine = () => !released && readLockHolder(lockPath)?.pid === process.pid;
  return {
    path: lockPath,
    markStopping() {
      if (!mine()) return;
      // Renamed over the lock: a reader sees the old JSON or the new one, never half of it.
      const tmp = `${lockPath}.${process.pid}.tmp`;
      writeHolder(tmp, { ...me, stopping: true }, 'w');
      fs.renameSync(tmp, lockPath);
    },
    release() {
      if (released) return;
      const own = mine();
      released = true;
      if (own) fs.rmSync(lockPath, { force: true });
    },
  };
}
