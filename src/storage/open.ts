// Opens a Tally database: the SQLite version check, pragmas, migrations, and a kysely handle
// for the repositories. The writer uses the same better-sqlite3 handle for its prepared
// statements; readers open their own read-only handle and read WAL snapshots.
import fs from 'node:fs';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import { databaseProblem, TallyError } from '../core/errors';
import type { Database } from './schema';
import { migrate, refuseForeign, schemaState } from './migrate';

/** SQLite before 3.51.3 can corrupt a WAL database when writers and checkpointers race. */
export const MIN_SQLITE = '3.51.3';

export type Durability = 'normal' | 'full';

export interface OpenOptions {
  readonly readonly?: boolean;
  /** normal: a committed record survives a crash of the process; full: also a power loss. */
  readonly durability?: Durability;
  readonly busyTimeoutMs?: number;
  /** Apply pending migrations (writers do; read-only opens only check). */
  readonly migrate?: boolean;
  /** Run PRAGMA quick_check first and refuse a damaged file (the agent does, at start). */
  readonly quickCheck?: boolean;
}

export interface TallyDb {
  readonly sqlite: BetterSqlite3.Database;
  readonly db: Kysely<Database>;
  readonly path: string;
  close(): Promise<void>;
}

export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return Math.sign(d);
  }
  return 0;
}

export function sqliteVersion(sqlite: BetterSqlite3.Database): string {
  return (sqlite.prepare('SELECT sqlite_version() AS v').get() as { v: string }).v;
}

/** PRAGMA quick_check: "ok", or the first problems found; a damaged file is refused. */
export function quickCheck(sqlite: BetterSqlite3.Database, file: string): void {
  const lines = sqlite.pragma('quick_check(5)', { simple: false }) as Array<{ quick_check: string }>;
  const problems = lines.flatMap((l) => l.quick_check.split('\n')).filter((l) => l !== 'ok' && l !== '');
  if (problems.length > 0) {
    throw databaseProblem(Object.assign(new Error(`quick_check: ${problems.join('; ')}`), { code: 'SQLITE_CORRUPT' }), file)!;
  }
}

/**
 * Usage data is private: a folder Tally creates is 0700, and the database is 0600 before SQLite
 * first opens it (its -wal and -shm files take the database's mode); a wider one is tightened.
 */
function createPrivate(file: string): void {
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true, mode: 0o700 });
  if (process.platform !== 'win32' && !fs.existsSync(file)) fs.closeSync(fs.openSync(file, 'a', 0o600));
}

/** Tightens an existing database's files (once it is known to be Tally's). */
function tightenMode(file: string): void {
  if (process.platform === 'win32') return;
  for (const f of [file, `${file}-wal`, `${file}-shm`]) {
    const st = fs.statSync(f, { throwIfNoEntry: false });
    if (st && (st.mode & 0o077) !== 0 && st.uid === process.getuid?.()) fs.chmodSync(f, st.mode & 0o700);
  }
}

export function openDatabase(file: string, options: OpenOptions = {}): TallyDb {
  const readonly = options.readonly ?? false;
  if (file !== ':memory:' && !readonly) createPrivate(file);
  if (readonly && file !== ':memory:' && !fs.existsSync(file)) {
    throw new TallyError('not_found', `no database at ${file}: record something first, or run \`tally demo\``);
  }
  let sqlite: BetterSqlite3.Database;
  try {
    sqlite = new BetterSqlite3(file, { readonly, fileMustExist: readonly });
  } catch (cause) {
    throw new TallyError('unavailable', `cannot open database ${file}: ${(cause as Error).message}`, { cause });
  }
  try {
    const version = sqliteVersion(sqlite);
    if (compareVersions(version, MIN_SQLITE) < 0) {
      throw new TallyError(
        'unsupported',
        `SQLite ${version} is too old: Tally needs ${MIN_SQLITE} or newer (older versions can corrupt WAL databases). Reinstall better-sqlite3 ≥ 12.8.`,
      );
    }
    sqlite.pragma(`busy_timeout = ${options.busyTimeoutMs ?? 5000}`);
    // Before anything changes the file (its mode, WAL mode, tables): another program's database is left alone.
    refuseForeign(sqlite);
    if (file !== ':memory:' && !readonly) tightenMode(file);
    // Before anything writes: a damaged file is neither migrated nor written to.
    if (options.quickCheck) quickCheck(sqlite, file);
    if (!readonly) {
      // 8 KiB pages. 16 KiB made a bare insert loop ~10 % faster, but every commit writes each page
      // it touched to the WAL whole: a small commit (36 events of 20 customers) spent 116-125 µs
      // in COMMIT with 16 KiB pages and 60-63 µs with 8 KiB, and the writer's bulk throughput no
      // longer depends on the page size since checkpoints left its thread (storage/checkpointer.ts).
      // Takes effect only on a new, empty database; an existing one keeps its page size.
      sqlite.pragma('page_size = 8192');
      sqlite.pragma('journal_mode = WAL');
      sqlite.pragma(`synchronous = ${options.durability === 'full' ? 'FULL' : 'NORMAL'}`);
      // Keep the WAL file from staying large after a burst; checkpoints still run as usual.
      sqlite.pragma('journal_size_limit = 67108864');
      sqlite.pragma('foreign_keys = ON');
      sqlite.pragma('temp_store = MEMORY');
      sqlite.pragma('cache_size = -32000');
      if (options.migrate ?? true) migrate(sqlite);
    } else {
      sqlite.pragma('query_only = ON');
      // Readers (export, reports) refuse a database from a newer Tally as writers do.
      schemaState(sqlite);
    }
  } catch (err) {
    sqlite.close();
    throw databaseProblem(err, file) ?? err;
  }
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: sqlite }) });
  let closed = false;
  return {
    sqlite,
    db,
    path: file,
    async close() {
      if (closed) return;
      closed = true;
      await db.destroy(); // closes the better-sqlite3 handle too
    },
  };
}
