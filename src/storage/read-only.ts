// Read-only access. The writer slot of a read-only context: a CLI that runs a read-only call on a read-only
// connection has no writer. A handler that reached for one would be a bug in the contract's
// READ_ONLY_CALLS list, so it fails loudly instead of opening the database for writing.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { TallyError } from '../core/errors';
import { openDatabase, type TallyDb } from './open';
import type { BatchedWriter } from './writer';

export function readOnlyWriter(call: string): BatchedWriter {
  return new Proxy({} as BatchedWriter, {
    get(_target, prop) {
      throw new TallyError('internal', `${call} is listed as read-only but used the writer (${String(prop)})`);
    },
  });
}

/**
 * Opens a database read-only, also where SQLite cannot: a WAL database in a folder this user
 * may not write (read-only media, another user's data) has no shared-memory file to read
 * through, so it is read from a private copy (the file and its WAL), removed on close.
 */
export function openReadOnly(file: string): TallyDb {
  let tdb: TallyDb | undefined;
  try {
    tdb = openDatabase(file, { readonly: true });
    tdb.sqlite.prepare('SELECT count(*) FROM sqlite_master').get();
    return tdb;
  } catch (err) {
    void tdb?.close();
    if (!cannotReadInPlace(err) || folderWritable(file)) throw err;
    return openCopy(file);
  }
}

function cannotReadInPlace(err: unknown): boolean {
  const codes = [err, (err as { cause?: unknown })?.cause].map((e) => String((e as { code?: unknown })?.code ?? ''));
  return codes.some((c) => /^SQLITE_(READONLY|CANTOPEN)/.test(c));
}

function folderWritable(file: string): boolean {
  try {
    fs.accessSync(path.dirname(path.resolve(file)), fs.constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

function openCopy(file: string): TallyDb {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tally-readonly-'));
  const copy = path.join(dir, path.basename(file));
  fs.copyFileSync(file, copy);
  if (fs.existsSync(`${file}-wal`)) fs.copyFileSync(`${file}-wal`, `${copy}-wal`);
  const tdb = openDatabase(copy, { readonly: true });
  return {
    ...tdb,
    path: file,
    async close() {
      await tdb.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
