// Test databases: real SQLite files in a temp folder, with the real migrations.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ensureBuiltins } from '../../src/storage/repos/services';
import { openDatabase, type TallyDb } from '../../src/storage/open';
import { BatchedWriter, type WriterOptions } from '../../src/storage/writer';

export function tempDir(prefix = 'tally-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** A migrated database with the built-in services, in a fresh temp folder (or :memory:). */
export async function testDb(file?: string): Promise<TallyDb> {
  const tdb = openDatabase(file ?? path.join(tempDir(), 'tally.db'));
  await ensureBuiltins(tdb.db, Date.UTC(2026, 0, 1));
  return tdb;
}

export async function testWriter(tdb: TallyDb, options: Partial<WriterOptions> = {}): Promise<BatchedWriter> {
  return BatchedWriter.open(tdb, { hostId: 'test-host', defaultCustomerId: 'default', ...options });
}

/** A clock fixed at `start` that tests move by hand. */
export function fixedClock(start = Date.UTC(2026, 10, 15, 12)): { now: () => number; set(ms: number): void; advance(ms: number): void } {
  let t = start;
  return { now: () => t, set: (ms) => void (t = ms), advance: (ms) => void (t += ms) };
}
