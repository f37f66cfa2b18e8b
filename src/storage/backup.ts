// Backups and restores of a whole database file. A backup uses SQLite's online backup API from a
// read-only connection, so it is safe while the agent writes (one step copies every page inside
// one read transaction: a WAL snapshot, never restarted by the agent's commits), is verified with
// integrity_check before it is reported, and is one self-contained file (rollback journal mode).
// A restore installs a verified copy under the writer lock and keeps the database it replaces.
import fs from 'node:fs';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { databaseProblem, invalid, TallyError } from '../core/errors';
import { appliedMigrations, schemaState } from './migrate';
import { realDbPath } from './lock';
import { outputTarget, pathProblem, refuseNonFile } from '../files/atomic';

export interface BackupResult {
  readonly file: string;
  readonly bytes: number;
  readonly records: number;
  /** The newest migration applied in the copy. */
  readonly schema: number | null;
  readonly integrity: 'ok';
}

export interface RestoreResult {
  readonly db: string;
  readonly from: string;
  readonly records: number;
  readonly schema: number | null;
  /** Where the replaced database was kept (null when there was none). */
  readonly previous: string | null;
}

/**
 * integrity_check, the schema (a newer Tally's is refused) and the record count of a database file.
 * With `restoring` (the path the user gave), a file without Tally's schema is refused as `file`.
 */
function verify(file: string, what: string, restoring?: string): { records: number; schema: number | null } {
  let db: BetterSqlite3.Database | undefined;
  try {
    db = new BetterSqlite3(file, { fileMustExist: true });
    // One self-contained file: no -wal beside it to lose when it is copied around.
    db.pragma('journal_mode = DELETE');
    const problems = (db.pragma('integrity_check(5)', { simple: false }) as Array<{ integrity_check: string }>)
      .map((r) => r.integrity_check)
      .filter((r) => r !== 'ok');
    if (problems.length > 0) {
      throw new TallyError('unavailable', `${what} ${file} failed integrity_check: ${problems.join('; ').replace(/\n/g, '; ')}`);
    }
    // An empty file or another program's database opens fine, but installing it would lose every record.
    if (restoring !== undefined && appliedMigrations(db).length === 0) {
      throw invalid('file', `${restoring} is not a Tally backup (it has no Tally schema)`);
    }
    schemaState(db);
    const hasRecords = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'usage_records'").get();
    const records = hasRecords ? (db.prepare('SELECT count(*) AS n FROM usage_records').get() as { n: number }).n : 0;
    return { records, schema: appliedMigrations(db).at(-1)?.id ?? null };
  } catch (err) {
    if (err instanceof TallyError) throw err;
    throw databaseProblem(err, file) ?? new TallyError('unavailable', `${what} ${file} cannot be read: ${(err as Error).message}`);
  } finally {
    db?.close();
  }
}

function removeQuietly(file: string): void {
  for (const f of [file, `${file}-wal`, `${file}-shm`, `${file}-journal`]) fs.rmSync(f, { force: true });
}

/** Copies `dbPath` to `out` while writers go on; verified before it is renamed into place. */
export async function backupDatabase(dbPath: string, out: string, o: { force?: boolean } = {}): Promise<BackupResult> {
  if (!fs.existsSync(dbPath)) throw new TallyError('not_found', `no database at ${dbPath}`);
  const target = path.resolve(out);
  if (realDbPath(target) === realDbPath(dbPath)) throw invalid('out', 'is the database itself; choose another file');
  // A folder is never replaced, and /sys or /proc are refused before SQLite says "unable to open database file".
  outputTarget(out, 'out', { force: o.force ?? false, exists: (abs) => invalid('out', `${abs} exists; add --force to replace it`) });
  const tmp = `${target}.partial-${process.pid}`;
  removeQuietly(tmp);
  const source = new BetterSqlite3(dbPath, { readonly: true, fileMustExist: true });
  try {
    source.pragma('busy_timeout = 5000');
    // After the first step, every remaining page in one step: one snapshot, no restarts.
    await source.backup(tmp, { progress: () => 0x7fffffff });
  } catch (err) {
    removeQuietly(tmp);
    throw databaseProblem(err, dbPath) ?? err;
  } finally {
    source.close();
  }
  try {
    const v = verify(tmp, 'the backup');
    fs.chmodSync(tmp, 0o600);
    fs.renameSync(tmp, target);
    return { file: target, bytes: fs.statSync(target).size, records: v.records, schema: v.schema, integrity: 'ok' };
  } catch (err) {
    removeQuietly(tmp);
    throw err;
  }
}

/** Folds the WAL into the file so the kept copy is complete on its own. */
function checkpoint(dbPath: string): void {
  try {
    const db = new BetterSqlite3(dbPath, { fileMustExist: true });
    try {
      db.pragma('wal_checkpoint(TRUNCATE)');
    } finally {
      db.close();
    }
  } catch {
    // A damaged database is kept as it is (with its -wal): that may be why it is being replaced.
  }
}

/**
 * Installs a verified copy of `from` as `dbPath`. The caller holds the writer lock (no agent
 * runs); the replaced database is kept beside it as `<db>.before-restore-<time>`.
 */
export function restoreDatabase(givenPath: string, from: string, now: number): RestoreResult {
  // The real file: restoring through a symlink replaces what it points to, not the link.
  const dbPath = realDbPath(givenPath);
  const source = path.resolve(from);
  if (!fs.existsSync(source)) throw invalid('file', `${source} does not exist`);
  refuseNonFile(from, 'file');
  if (realDbPath(source) === realDbPath(dbPath)) throw invalid('file', 'is the database itself');
  const incoming = `${dbPath}.restore-${process.pid}`;
  removeQuietly(incoming);
  try {
    fs.copyFileSync(source, incoming);
  } catch (err) {
    removeQuietly(incoming);
    // The copy lands beside the database we hold the lock for: what fails here is reading the file.
    throw pathProblem(err, 'file', source) ?? err;
  }
  let v: { records: number; schema: number | null };
  try {
    v = verify(incoming, 'the file to restore', source);
  } catch (err) {
    removeQuietly(incoming);
    throw err;
  }
  let previous: string | null = null;
  if (fs.existsSync(dbPath)) {
    checkpoint(dbPath);
    previous = `${dbPath}.before-restore-${new Date(now).toISOString().replace(/[:.]/g, '-')}`;
    fs.renameSync(dbPath, previous);
    for (const side of ['-wal', '-shm']) if (fs.existsSync(dbPath + side)) fs.renameSync(dbPath + side, previous + side);
  }
  fs.chmodSync(incoming, 0o600);
  fs.renameSync(incoming, dbPath);
  return { db: path.resolve(dbPath), from: source, records: v.records, schema: v.schema, previous };
}
