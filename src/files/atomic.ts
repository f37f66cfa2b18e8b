// One home for writing a small file atomically: a temp file beside the target, written, fsynced,
// made 0600 (or the mode asked for), then renamed over it. A reader or a crash never sees half
// a file, and a secret is never readable by others, not even for a moment.
//
// Also where a path the user named (--out, --db, a file argument) meets the file system: a
// mistake in it is a user error naming the option and the path, never an internal error.
import fs from 'node:fs';
import path from 'node:path';
import { invalid, type TallyError } from '../core/errors';

export function writeFileAtomic(file: string, data: string | Uint8Array, mode = 0o600): void {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${Date.now()}.tmp`);
  try {
    const fd = fs.openSync(tmp, 'wx', mode);
    try {
      fs.writeFileSync(fd, data);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.chmodSync(tmp, mode); // the umask may have narrowed or widened it
    fs.renameSync(tmp, file);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw err;
  }
}

/** The first folder on the way to `abs` that is a file instead (mkdir says EEXIST, open says ENOTDIR). */
function fileInTheWay(abs: string): string | null {
  const { root } = path.parse(abs);
  let dir = root;
  for (const part of path.dirname(abs).slice(root.length).split(path.sep).filter(Boolean)) {
    dir = path.join(dir, part);
    let st: fs.Stats | undefined;
    try {
      st = fs.statSync(dir, { throwIfNoEntry: false });
    } catch {
      return null;
    }
    if (!st) return null;
    if (!st.isDirectory()) return dir;
  }
  return null;
}

function missingReason(abs: string): string {
  const dir = path.dirname(abs);
  // The folder is there but the file cannot be made: a file system such as /proc that takes no new files.
  return fs.existsSync(dir) ? `cannot create a file in ${dir}` : `folder ${dir} does not exist`;
}

/**
 * A file-system error on a path the user named, as an input error naming `field` and the path in
 * words; null for anything else. A full disk (ENOSPC) and I/O errors are not the path's fault and
 * keep their own handling (the writer waits out a full disk: storage/writer.ts).
 */
export function pathProblem(err: unknown, field: string, file: string): TallyError | null {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  const abs = path.resolve(file);
  const say = (problem: string) => invalid(field, problem, err);
  switch (code) {
    case 'EACCES':
    case 'EPERM':
      return say(`${abs}: permission denied`);
    case 'EROFS':
      return say(`${abs}: read-only file system`);
    case 'ENOENT':
      return say(`${abs}: ${missingReason(abs)}`);
    case 'ENOTDIR':
    case 'EEXIST': {
      const blocker = fileInTheWay(abs);
      if (blocker) return say(`${blocker} is a file, not a folder`);
      return say(code === 'EEXIST' ? `${abs} already exists` : `${abs}: a part of the path is not a folder`);
    }
    case 'EISDIR':
      return say(`${abs} is a directory; name a file`);
    case 'ELOOP':
      return say(`${abs}: too many levels of symbolic links`);
    case 'ENAMETOOLONG':
      return say(`${abs}: the name is too long`);
    default:
      return null;
  }
}

function statOf(abs: string, field: string): fs.Stats | undefined {
  try {
    return fs.statSync(abs, { throwIfNoEntry: false });
  } catch (err) {
    throw pathProblem(err, field, abs) ?? err;
  }
}

/**
 * Refuses a path that is there but cannot be used as a file: a directory (never replaced) or a
 * device, pipe or socket (renaming over /dev/null would remove it). Returns what stat saw.
 */
export function refuseNonFile(file: string, field: string): fs.Stats | undefined {
  if (file.trim() === '') throw invalid(field, 'must be a file path');
  const abs = path.resolve(file);
  const st = statOf(abs, field);
  if (st?.isDirectory()) throw invalid(field, `${abs} is a directory; name a file`);
  if (st && !st.isFile()) throw invalid(field, `${abs} is not a regular file`);
  if (!st && /[\\/]$/.test(file)) throw invalid(field, `${file} names a folder; name a file`);
  return st;
}

/**
 * Where a command will write the file the user named: refused before anything is written when it
 * cannot become that file. `exists` says what to answer when it is there and --force was not given.
 */
export function outputTarget(file: string, field: string, o: { force: boolean; exists: (abs: string) => TallyError }): string {
  const st = refuseNonFile(file, field);
  const abs = path.resolve(file);
  if (st && !o.force) throw o.exists(abs);
  const dir = path.dirname(abs);
  const folder = statOf(dir, field);
  if (!folder) throw invalid(field, `folder ${dir} does not exist`);
  if (!folder.isDirectory()) throw invalid(field, `${dir} is a file, not a folder`);
  // Only creating a file tells: root passes every permission check, yet not in /sys, /proc or on a read-only mount.
  const probe = path.join(dir, `.${path.basename(abs)}.${process.pid}.probe`);
  try {
    fs.closeSync(fs.openSync(probe, 'w', 0o600));
  } catch (err) {
    throw pathProblem(err, field, abs) ?? err;
  }
  fs.rmSync(probe, { force: true });
  return abs;
}
