// Archive: old records go to a gzip JSON Lines file (a header line, one line per record, a
// footer with the count and the sha256 of the record lines). The file is fsynced, renamed into
// place, its folder fsynced, read back and checked, and only then are exactly those records
// deleted, in one transaction. Rollups stay, so reports still cover archived months.
//
// A kill at any step leaves every selected record either still in the database or in a
// verified archive file (until the delete commits, they are all still in the database).
// TALLY_FAULT_ARCHIVE=<step> kills the process with SIGKILL at that step, for the crash test.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';
import { invalid, TallyError } from '../core/errors';
import { toIso } from '../core/time';
import type { RawRecord } from '../core/exports/shape';
import { openDatabase } from '../storage/open';
import type { ArchiveLogTable } from '../storage/schema';
import type { Selectable } from 'kysely';
import { BufferedWriter, checkTarget, fsyncDir, partialName } from '../exports/files';
import { pathProblem } from '../files/atomic';

export const ARCHIVE_STEPS = ['selected', 'writing', 'written', 'renamed', 'verified', 'deleting', 'committed'] as const;
export type ArchiveStep = (typeof ARCHIVE_STEPS)[number];

function step(name: ArchiveStep): void {
  if (process.env.TALLY_FAULT_ARCHIVE === name) process.kill(process.pid, 'SIGKILL');
}

export interface ArchiveOptions {
  readonly dbPath: string;
  /** Records recorded before this instant are archived. */
  readonly cutoff: number;
  /** Target file; default <db folder>/archive/tally-archive-before-<date>-<time>.jsonl.gz. */
  readonly out?: string | undefined;
  readonly includeUnsynced?: boolean | undefined;
  readonly force?: boolean | undefined;
  readonly now: number;
  readonly onProgress?: ((done: number, total: number) => void) | undefined;
}

export interface ArchiveResult {
  /** Null when nothing was old enough. */
  readonly file: string | null;
  readonly archived: number;
  readonly sha256: string | null;
  readonly cutoff: string;
  /** Old enough but not yet acknowledged by a sync target: kept. */
  readonly skippedUnsynced: number;
  /** The newest record is always kept so the local sequence never goes back (the sync cursor relies on it). */
  readonly keptNewest: boolean;
  readonly bytes: number;
}

interface Header {
  readonly format: 'tally-archive';
  /** 1: quantity is a REAL base quantity (before migration 0009); 2: exact integer units as text. */
  readonly version: 1 | 2;
  readonly created_at: string;
  readonly cutoff: string;
  readonly count: number;
  readonly max_seq: number;
}

interface Footer {
  readonly footer: true;
  readonly count: number;
  readonly sha256: string;
}

/** A version 1 archive's REAL base quantity → integer units, as migration 0009 converted stored ones. */
const V1_UNITS = `CAST(round(@quantity * coalesce(
  (SELECT CASE WHEN integer_only = 0 THEN 1000000 ELSE 1 END FROM services s WHERE s.name = @service), 1)) AS INTEGER)`;

const COLUMNS = 'seq, id, recorded_at, customer_id, user_id, host_id, service, quantity, unit_price, cost_nanos, metadata, source';

export function defaultArchiveName(dbPath: string, cutoff: number, now: number): string {
  const stamp = toIso(now)
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  return path.join(path.dirname(path.resolve(dbPath)), 'archive', `tally-archive-before-${toIso(cutoff).slice(0, 10)}-${stamp}.jsonl.gz`);
}

export async function archiveRecords(o: ArchiveOptions): Promise<ArchiveResult> {
  if (!Number.isFinite(o.cutoff)) throw invalid('olderThan', 'must be a duration such as 90d');
  const target = o.out ?? defaultArchiveName(o.dbPath, o.cutoff, o.now);
  if (!target.endsWith('.jsonl.gz')) throw invalid('out', 'an archive file name ends in .jsonl.gz');
  if (o.out === undefined) fs.mkdirSync(path.dirname(target), { recursive: true });
  const file = checkTarget(target, o.force ?? false);

  // The writable handle deletes; a separate read-only handle streams the rows, so a long read
  // never holds the connection the agent's writer may need.
  const wdb = openDatabase(o.dbPath);
  const rdb = openDatabase(o.dbPath, { readonly: true });
  const tmp = partialName(file);
  try {
    const w = wdb.sqlite;
    const top = (w.prepare('SELECT max(seq) FROM usage_records').pluck().get() as number | null) ?? 0;
    const synced = w.prepare('SELECT count(*) AS n, min(acked_seq) AS acked FROM sync_state').get() as { n: number; acked: number | null };
    const syncLimit = synced.n > 0 && !o.includeUnsynced ? (synced.acked ?? 0) : Number.MAX_SAFE_INTEGER;
    // The predicate is fixed now (a seq bound), so the rows deleted are exactly the rows written,
    // even while the agent keeps inserting (new records get higher seqs).
    const bound = { cutoff: o.cutoff, maxSeq: Math.min(syncLimit, top - 1) };
    // Records a sync endpoint refused stay in the database, where the sync screen shows them.
    const hasRejections = w.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sync_rejections'").get() !== undefined;
    // Voided records stay: an archive line has no correction state, and a restore would bring them back live.
    const where = `recorded_at < @cutoff AND seq <= @maxSeq AND voided_at IS NULL${hasRejections ? ' AND NOT EXISTS (SELECT 1 FROM sync_rejections r WHERE r.seq = usage_records.seq)' : ''}`;
    const count = w.prepare(`SELECT count(*) FROM usage_records WHERE ${where}`).pluck().get(bound) as number;
    const skippedUnsynced =
      syncLimit === Number.MAX_SAFE_INTEGER
        ? 0
        : (w.prepare('SELECT count(*) FROM usage_records WHERE recorded_at < ? AND seq > ?').pluck().get(o.cutoff, syncLimit) as number);
    const keptNewest =
      ((w.prepare('SELECT recorded_at FROM usage_records WHERE seq = ?').pluck().get(top) as number | undefined) ?? Infinity) < o.cutoff;
    step('selected');
    const base = { cutoff: toIso(o.cutoff), skippedUnsynced, keptNewest };
    if (count === 0) return { file: null, archived: 0, sha256: null, bytes: 0, ...base };

    const header: Header = {
      format: 'tally-archive',
      version: 2,
      created_at: toIso(o.now),
      cutoff: toIso(o.cutoff),
      count,
      max_seq: bound.maxSeq,
    };
    const rows = () =>
      rdb.sqlite
        .prepare(
          `SELECT ${COLUMNS.replace('quantity', 'CAST(quantity AS TEXT) AS quantity')} FROM usage_records WHERE ${where} ORDER BY seq`,
        )
        .iterate(bound) as IterableIterator<RawRecord>;
    let written: Written;
    try {
      rdb.sqlite.exec('BEGIN');
      try {
        written = await writeArchive(tmp, header, rows, (n) => {
          if (n === Math.ceil(count / 2)) step('writing');
          if (o.onProgress && n % 5000 === 0) o.onProgress(n, count * 2);
        });
      } finally {
        rdb.sqlite.exec('COMMIT');
      }
      step('written');
      fs.renameSync(tmp, file);
    } catch (err) {
      // A target that checkTarget let through but that fails now (it changed meanwhile) is still the user's --out.
      throw pathProblem(err, 'out', file) ?? err;
    }
    const { sha256, minAt, maxAt } = written;
    fsyncDir(path.dirname(file));
    step('renamed');

    const check = await verifyArchive(file, (done) => o.onProgress?.(count + done, count * 2));
    if (check.count !== count || check.sha256 !== sha256) {
      throw new TallyError('internal', `archive ${file} did not read back intact (count ${check.count}/${count}); nothing was deleted`);
    }
    step('verified');

    const del = w.transaction(() => {
      // Remember the ids: a correction of an archived event is refused naming the archive (corrections.ts).
      w.prepare(`INSERT OR IGNORE INTO archived_ids (id, archive) SELECT id, @sha256 FROM usage_records WHERE ${where}`).run({
        ...bound,
        sha256,
      });
      const changes = w.prepare(`DELETE FROM usage_records WHERE ${where}`).run(bound).changes;
      if (changes !== count)
        throw new TallyError('conflict', `expected to delete ${count} records but matched ${changes}; nothing was deleted`);
      w.prepare(
        `INSERT INTO archive_log (file, sha256, record_count, min_recorded_at, max_recorded_at, cutoff, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
      ).run(file, sha256, count, minAt, maxAt, o.cutoff, o.now);
      step('deleting');
    });
    del.immediate();
    step('committed');
    return { file, archived: count, sha256, bytes: fs.statSync(file).size, ...base };
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw err;
  } finally {
    await rdb.close();
    await wdb.close();
  }
}

interface Written {
  readonly sha256: string;
  readonly minAt: number | null;
  readonly maxAt: number | null;
}

/** Writes header, records and footer to `tmp` through gzip, fsynced; `tick` sees the count after each record. */
async function writeArchive(tmp: string, header: Header, rows: () => Iterable<RawRecord>, tick: (n: number) => void): Promise<Written> {
  const hash = crypto.createHash('sha256');
  const gzip = zlib.createGzip({ level: 6 });
  // pipeline() destroys gzip when the file fails, so a pending write fails with it (not a wait for
  // 'drain' that never comes); until the last write the failure is the writes' to report.
  const piped = pipeline(gzip, fs.createWriteStream(tmp));
  piped.catch(() => undefined);
  const out = new BufferedWriter(gzip);
  await out.write(JSON.stringify(header) + '\n');
  let n = 0;
  let minAt: number | null = null;
  let maxAt: number | null = null;
  for (const r of rows()) {
    const line = JSON.stringify(r) + '\n';
    hash.update(line);
    await out.write(line);
    n++;
    if (minAt === null || r.recorded_at < minAt) minAt = r.recorded_at;
    if (maxAt === null || r.recorded_at > maxAt) maxAt = r.recorded_at;
    tick(n);
  }
  if (n !== header.count) throw new TallyError('internal', `archive read ${n} records, expected ${header.count}`);
  const sha256 = hash.digest('hex');
  await out.write(JSON.stringify({ footer: true, count: n, sha256 } satisfies Footer) + '\n');
  await out.end();
  await piped;
  const fd = fs.openSync(tmp, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  return { sha256, minAt, maxAt };
}

export interface VerifiedArchive {
  readonly header: Header;
  readonly count: number;
  readonly sha256: string;
}

function damaged(file: string, problem: string): TallyError {
  return new TallyError('invalid_input', `file: ${file} is not an intact Tally archive (${problem})`, { field: 'file' });
}

/** Reads an archive through and checks its header, count and checksum; `each` sees every record. */
export async function verifyArchive(
  file: string,
  onProgress?: (done: number) => void,
  each?: (r: RawRecord) => void,
): Promise<VerifiedArchive> {
  if (!fs.existsSync(file)) throw invalid('file', `${file} does not exist`);
  const gunzip = zlib.createGunzip();
  const input = fs.createReadStream(file).pipe(gunzip);
  const lines = readline.createInterface({ input, crlfDelay: Infinity });
  const hash = crypto.createHash('sha256');
  let header: Header | null = null;
  let footer: Footer | null = null;
  let count = 0;
  try {
    for await (const line of lines) {
      if (footer) throw damaged(file, 'data after the footer');
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch {
        throw damaged(file, `line ${count + 2} is not JSON`);
      }
      if (header === null) {
        header = value as Header;
        if (header.format !== 'tally-archive' || (header.version !== 1 && header.version !== 2)) throw damaged(file, 'no archive header');
        continue;
      }
      if ((value as Footer).footer === true) {
        footer = value as Footer;
        continue;
      }
      hash.update(line + '\n');
      count++;
      each?.(value as RawRecord);
      if (onProgress && count % 5000 === 0) onProgress(count);
    }
  } catch (err) {
    if (err instanceof TallyError) throw err;
    throw damaged(file, (err as Error).message);
  }
  if (!header) throw damaged(file, 'empty');
  if (!footer) throw damaged(file, 'no footer: the file is truncated');
  const sha256 = hash.digest('hex');
  if (footer.count !== count || header.count !== count) throw damaged(file, `it holds ${count} records, the footer says ${footer.count}`);
  if (footer.sha256 !== sha256) throw damaged(file, 'checksum mismatch');
  return { header, count, sha256 };
}

export interface RestoreResult {
  readonly file: string;
  readonly records: number;
  /** Records inserted now; the rest were already in the database. */
  readonly restored: number;
  readonly alreadyPresent: number;
}

/**
 * Brings an archive's records back, idempotent on id. Rollups are not touched: they were kept
 * when the records were archived. The whole file is checked first, then inserted in one
 * transaction on a connection of its own.
 */
export async function restoreArchive(o: { dbPath: string; file: string; now: number }): Promise<RestoreResult> {
  const file = path.resolve(o.file);
  const verified = await verifyArchive(file);
  const wdb = openDatabase(o.dbPath);
  try {
    const w = wdb.sqlite;
    // Keep the original seq when it is free: those records were synced under it.
    const insert = w.prepare(
      `INSERT INTO usage_records (${COLUMNS})
       SELECT CASE WHEN EXISTS (SELECT 1 FROM usage_records WHERE seq = @seq) THEN NULL ELSE @seq END,
              @id, @recorded_at, @customer_id, @user_id, @host_id, @service, ${verified.header.version === 1 ? V1_UNITS : '@quantity'},
              @unit_price, @cost_nanos, @metadata, @source
       WHERE true ON CONFLICT (id) DO NOTHING`,
    );
    const unarchive = w.prepare('DELETE FROM archived_ids WHERE id = ?');
    let restored = 0;
    w.exec('BEGIN IMMEDIATE');
    try {
      await verifyArchive(file, undefined, (r) => {
        restored += insert.run(r).changes;
        unarchive.run(r.id);
      });
      w.prepare('UPDATE archive_log SET restored_at = ? WHERE sha256 = ? AND restored_at IS NULL').run(o.now, verified.sha256);
      w.exec('COMMIT');
    } catch (err) {
      if (w.inTransaction) w.exec('ROLLBACK');
      throw err;
    }
    return { file, records: verified.count, restored, alreadyPresent: verified.count - restored };
  } finally {
    await wdb.close();
  }
}

export interface ArchiveLogEntry {
  readonly file: string;
  readonly sha256: string;
  readonly records: number;
  readonly from: string | null;
  readonly to: string | null;
  readonly cutoff: string;
  readonly createdAt: string;
  readonly restoredAt: string | null;
}

export function listArchives(sqlite: import('better-sqlite3').Database): ArchiveLogEntry[] {
  const rows = sqlite.prepare('SELECT * FROM archive_log ORDER BY created_at DESC, id DESC').all() as Selectable<ArchiveLogTable>[];
  return rows.map((r) => ({
    file: r.file,
    sha256: r.sha256,
    records: r.record_count,
    from: r.min_recorded_at === null ? null : toIso(r.min_recorded_at),
    to: r.max_recorded_at === null ? null : toIso(r.max_recorded_at),
    cutoff: toIso(r.cutoff),
    createdAt: toIso(r.created_at),
    restoredAt: r.restored_at === null ? null : toIso(r.restored_at),
  }));
}
