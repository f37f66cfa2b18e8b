// WAL checkpoints on the worker thread: what they copy reaches the database file itself (a copy of
// the file without its WAL holds the records), the writer goes on committing meanwhile, and the
// worker is stopped with the writer.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { build } from '../../src/core/tracking';
import { BackgroundCheckpointer, type CheckpointReply } from '../../src/storage/checkpointer';
import { tempDir, testDb, testWriter } from '../helpers/db';

/** Records in the database file alone, as a reader would find it if the WAL were lost. */
function recordsInMainFile(dbFile: string): number {
  const copy = path.join(tempDir(), 'main-only.db');
  fs.copyFileSync(dbFile, copy);
  const db = new Database(copy, { readonly: true });
  try {
    // Before any checkpoint even the schema may still be only in the WAL.
    if (!db.prepare("SELECT 1 FROM sqlite_master WHERE name = 'usage_records'").get()) return 0;
    return (db.prepare('SELECT count(*) AS n FROM usage_records').get() as { n: number }).n;
  } finally {
    db.close();
  }
}

const until = async (ok: () => boolean): Promise<void> => {
  while (!ok()) await new Promise((r) => setTimeout(r, 10));
};

describe('background checkpoints', () => {
  it('copies committed pages into the database file while the writer keeps its WAL', async () => {
    const tdb = await testDb();
    const w = await testWriter(tdb, { backgroundCheckpoint: false, batchTimeoutMs: 60_000 });
    tdb.sqlite.pragma('wal_autocheckpoint = 0'); // only the worker checkpoints here
    for (let i = 0; i < 3000; i++) w.add(build.api('/users', 'GET', 200));
    await w.flush();
    expect(recordsInMainFile(tdb.path)).toBe(0);

    const replies: CheckpointReply[] = [];
    const cp = new BackgroundCheckpointer(tdb.path, { everyCommits: 1, onReply: (r) => replies.push(r) });
    cp.committed(3000);
    await until(() => replies.length === 1);
    expect(replies[0]).toMatchObject({ ok: true, busy: false });
    expect(replies[0]!.checkpointed).toBe(replies[0]!.log);
    expect(replies[0]!.log).toBeGreaterThan(0);
    expect(recordsInMainFile(tdb.path)).toBe(3000);
    await cp.close();
    await w.close();
  });

  it('the writer asks for them as it commits, and every record stays readable', async () => {
    const tdb = await testDb();
    const w = await testWriter(tdb, { batchSize: 100, batchTimeoutMs: 60_000 });
    // 120 commits of 250: past the worker's 100 commits / 20 000 records.
    for (let c = 0; c < 120; c++) await w.recordMany(Array.from({ length: 250 }, () => build.api('/users', 'GET', 200)));
    // A copy taken while the worker is writing the file can be torn: that is "not yet", not an answer.
    await until(() => {
      try {
        return recordsInMainFile(tdb.path) >= 20_000;
      } catch {
        return false;
      }
    });
    await w.close();
    expect(recordsInMainFile(tdb.path)).toBe(30_000);
    expect(tdb.sqlite.pragma('wal_autocheckpoint', { simple: true })).toBe(1000);
    expect((tdb.sqlite.prepare('SELECT count(*) AS n FROM usage_records').get() as { n: number }).n).toBe(30_000);
  });
});

describe('a process that ends with closing its writer', () => {
  it('waits for the checkpoint under way and goes on past close (the worker is unref’d)', async () => {
    const { build: bundle } = await import('esbuild');
    const dir = tempDir('tally-close-');
    const src = (m: string) => JSON.stringify(path.resolve('src', m));
    const entry = path.join(dir, 'close.ts');
    // Its last work is the close: nothing else keeps the event loop alive meanwhile.
    fs.writeFileSync(
      entry,
      `import { openDatabase } from ${src('storage/open')};
       import { BatchedWriter } from ${src('storage/writer')};
       import { ensureBuiltins } from ${src('storage/repos/services')};
       const tdb = openDatabase(process.argv[2]);
       await ensureBuiltins(tdb.db, Date.now());
       const w = await BatchedWriter.open(tdb, { hostId: 'host', defaultCustomerId: 'acme', batchSize: 1000 });
       // Past 20 000 records a checkpoint is asked for: the first starts the worker, the second
       // finds it running (unref'd) and is still under way when the writer closes.
       for (let round = 0; round < 2; round++) {
         for (let i = 0; i < 25000; i++) w.add({ service: 'api', quantity: 1, metadata: { endpoint: '/', method: 'GET' } });
         await w.flush();
         if (round === 0) await new Promise((r) => setTimeout(r, 500));
       }
       await w.close();
       await tdb.close();
       console.log('closed');`,
    );
    // In dist/ so that its packages resolve from the project's node_modules.
    const out = path.resolve('dist', `test-close-${process.pid}.mjs`);
    await bundle({
      entryPoints: [entry],
      outfile: out,
      bundle: true,
      platform: 'node',
      format: 'esm',
      packages: 'external',
      loader: { '.sql': 'text' },
      logLevel: 'error',
    });
    try {
      const r = spawnSync(process.execPath, [out, path.join(dir, 'tally.db')], { encoding: 'utf8', timeout: 60_000 });
      expect(r.stderr).toBe('');
      expect({ status: r.status, stdout: r.stdout.trim() }).toEqual({ status: 0, stdout: 'closed' });
    } finally {
      fs.rmSync(out, { force: true });
    }
  });
});
