// Archive on real files: verify-then-delete, rollups kept, restore idempotent, unsynced records
// kept, and kill -9 of a real archive process at every step and at random moments.
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import zlib from 'node:zlib';
import fs from 'node:fs';
import path from 'node:path';
import { build } from 'esbuild';
import { beforeAll, describe, expect, it } from 'vitest';
import { usageReport } from '../../src/analytics/usage';
import { usageStats } from '../../src/analytics/stats';
import { ARCHIVE_STEPS, archiveRecords, restoreArchive, verifyArchive } from '../../src/archive/archive';
import { openDatabase } from '../../src/storage/open';
import { tempDir, testDb, testWriter } from '../helpers/db';

const DAY = 86_400_000;
const NOW = Date.UTC(2026, 10, 20, 12);
const OLD = Date.UTC(2026, 8, 1); // September: old
const ROOT = path.resolve(__dirname, '../..');
const CLI = path.join(ROOT, 'dist', 'test-archive', 'run.mjs');

/** A database with `old` September records and 5 recent ones. */
async function makeDb(file: string, old: number): Promise<string[]> {
  const tdb = await testDb(file);
  const writer = await testWriter(tdb, { clock: () => NOW, batchSize: 10_000 });
  const recs = [];
  for (let i = 0; i < old; i++) {
    recs.push({
      service: 'api',
      quantity: 1,
      customerId: 'acme',
      recordedAt: OLD + i * 1000,
      metadata: { endpoint: `/e${i % 7}`, method: 'GET', note: 'a "quoted", line\nbreak' },
    });
  }
  for (let i = 0; i < 5; i++)
    recs.push({
      service: 'api',
      quantity: 1,
      customerId: 'acme',
      recordedAt: NOW - i * 1000,
      metadata: { endpoint: '/new', method: 'GET' },
    });
  await writer.recordMany(recs);
  await writer.close();
  const ids = tdb.sqlite
    .prepare('SELECT id FROM usage_records WHERE recorded_at < ?')
    .pluck()
    .all(NOW - 30 * DAY) as string[];
  await tdb.close();
  return ids;
}

function countIds(file: string, ids: string[]): number {
  const tdb = openDatabase(file);
  try {
    const stmt = tdb.sqlite.prepare('SELECT count(*) FROM usage_records WHERE id = ?').pluck();
    return ids.reduce((n, id) => n + (stmt.get(id) as number), 0);
  } finally {
    void tdb.close();
  }
}

describe('archive', () => {
  it('archives old records to a verified file, deletes them, keeps rollups, and restores idempotently', async () => {
    const dir = tempDir('tally-archive-');
    const db = path.join(dir, 'tally.db');
    const ids = await makeDb(db, 300);
    const out = path.join(dir, 'old.jsonl.gz');
    const before = await (async () => {
      const t = openDatabase(db);
      const r = await usageReport(t.db, { from: Date.UTC(2026, 8, 1), to: Date.UTC(2026, 9, 1) });
      await t.close();
      return r;
    })();
    const r = await archiveRecords({ dbPath: db, cutoff: NOW - 30 * DAY, out, now: NOW });
    expect(r).toMatchObject({ archived: 300, file: out, skippedUnsynced: 0, keptNewest: false });
    expect(countIds(db, ids)).toBe(0);
    const v = await verifyArchive(out);
    expect(v.count).toBe(300);
    expect(v.sha256).toBe(r.sha256);

    const t = openDatabase(db);
    // The month report still covers September from the rollups; stats say records were archived.
    expect((await usageReport(t.db, { from: Date.UTC(2026, 8, 1), to: Date.UTC(2026, 9, 1) })).totalCost).toBe(before.totalCost);
    // So does a range whose edges fall inside an hour: its whole hours come from the rollups.
    const offHour = await usageReport(t.db, { from: Date.UTC(2026, 7, 31, 23, 30), to: Date.UTC(2026, 8, 2, 0, 30), detailed: true });
    expect(offHour.totalCost).toBe(before.totalCost);
    expect(offHour.totalEvents).toBe(300);
    expect(offHour.daily?.reduce((n, d) => n + d.events, 0)).toBe(300);
    // Stats over whole days still cover them (day rollups and the quantity histogram are kept),
    // also when an edge of the range inside a day holds none of them; when the day at an edge held
    // archived records, the raw records answer and say records were archived.
    expect((await usageStats(t.db, { service: 'api', from: Date.UTC(2026, 8, 1), to: Date.UTC(2026, 9, 1) })).totalEvents).toBe(300);
    expect((await usageStats(t.db, { service: 'api', from: Date.UTC(2026, 8, 1), to: Date.UTC(2026, 9, 1) - 1 })).totalEvents).toBe(300);
    const s = await usageStats(t.db, { service: 'api', from: Date.UTC(2026, 8, 1) + 1, to: Date.UTC(2026, 9, 1) });
    expect(s.archivedEvents).toBe(300);
    expect(s.note).toMatch(/archived/);
    expect(t.sqlite.prepare('SELECT record_count FROM archive_log').pluck().all()).toEqual([300]);
    await t.close();

    // Refuses to overwrite the archive; a second run finds nothing old.
    await expect(archiveRecords({ dbPath: db, cutoff: NOW - 30 * DAY, out, now: NOW })).rejects.toThrow(/already exists/);
    expect((await archiveRecords({ dbPath: db, cutoff: NOW - 30 * DAY, out: path.join(dir, 'none.jsonl.gz'), now: NOW })).archived).toBe(0);

    const restored = await restoreArchive({ dbPath: db, file: out, now: NOW });
    expect(restored).toMatchObject({ records: 300, restored: 300, alreadyPresent: 0 });
    expect(countIds(db, ids)).toBe(300);
    expect((await restoreArchive({ dbPath: db, file: out, now: NOW })).restored).toBe(0);
    const t2 = openDatabase(db);
    // Rollups untouched by the restore: the report is the same, not doubled.
    expect((await usageReport(t2.db, { from: Date.UTC(2026, 8, 1), to: Date.UTC(2026, 9, 1) })).totalCost).toBe(before.totalCost);
    const meta = JSON.parse(t2.sqlite.prepare('SELECT metadata FROM usage_records WHERE id = ?').pluck().get(ids[0]) as string);
    expect(meta.note).toBe('a "quoted", line\nbreak');
    await t2.close();
  });

  it('round-trips quantities exactly (past 2^53, CPU microseconds), and restores a version 1 archive of REAL quantities', async () => {
    const dir = tempDir('tally-archive-');
    const db = path.join(dir, 'tally.db');
    const tdb = await testDb(db);
    const writer = await testWriter(tdb, { clock: () => NOW, batchSize: 10_000 });
    await writer.recordMany([
      { service: 'storage', quantity: 2n ** 62n + 1n, customerId: 'acme', recordedAt: OLD },
      { service: 'compute', quantity: 1.234567, customerId: 'acme', recordedAt: OLD + 1 },
      // A recent record: the newest is never archived (it carries the sequence forward).
      { service: 'functions', quantity: 1, customerId: 'acme', recordedAt: NOW, metadata: { function: 'f' } },
    ]);
    await writer.close();
    const units = () =>
      tdb.sqlite
        .prepare("SELECT service, CAST(quantity AS TEXT) AS q FROM usage_records WHERE service <> 'functions' ORDER BY service")
        .all();
    const expected = [
      { service: 'compute', q: '1234567' },
      { service: 'storage', q: String(2n ** 62n + 1n) },
    ];
    expect(units()).toEqual(expected);
    const out = path.join(dir, 'old.jsonl.gz');
    await archiveRecords({ dbPath: db, cutoff: NOW - 30 * DAY, out, now: NOW });
    expect(units()).toEqual([]);
    expect((await restoreArchive({ dbPath: db, file: out, now: NOW })).restored).toBe(2);
    expect(units()).toEqual(expected);

    // An archive written before exact quantities: version 1, REAL base quantities (CPU-seconds).
    const v1 = path.join(dir, 'v1.jsonl.gz');
    const rec = { seq: 900, id: '01JD0000000000000000000000', recorded_at: OLD + 5, customer_id: 'acme', user_id: null, host_id: 'h' };
    const line =
      JSON.stringify({ ...rec, service: 'compute', quantity: 2.5, unit_price: '0.05', cost_nanos: 34722, metadata: '{}', source: 'api' }) +
      '\n';
    const sha = crypto.createHash('sha256').update(line).digest('hex');
    const header = {
      format: 'tally-archive',
      version: 1,
      created_at: new Date(NOW).toISOString(),
      cutoff: new Date(OLD + 10).toISOString(),
      count: 1,
      max_seq: 900,
    };
    fs.writeFileSync(
      v1,
      zlib.gzipSync(JSON.stringify(header) + '\n' + line + JSON.stringify({ footer: true, count: 1, sha256: sha }) + '\n'),
    );
    expect((await restoreArchive({ dbPath: db, file: v1, now: NOW })).restored).toBe(1);
    expect(tdb.sqlite.prepare('SELECT quantity FROM usage_records WHERE id = ?').pluck().get(rec.id)).toBe(2_500_000);
    await tdb.close();
  });

  it('keeps records no sync target has acknowledged, unless told to include them', async () => {
    const dir = tempDir('tally-archive-');
    const db = path.join(dir, 'tally.db');
    await makeDb(db, 100);
    const t = openDatabase(db);
    t.sqlite.prepare("INSERT INTO sync_state (target, acked_seq, updated_at) VALUES ('billing', 40, 0)").run();
    await t.close();
    const r = await archiveRecords({ dbPath: db, cutoff: NOW - 30 * DAY, out: path.join(dir, 'a.jsonl.gz'), now: NOW });
    expect(r).toMatchObject({ archived: 40, skippedUnsynced: 60 });
    const all = await archiveRecords({
      dbPath: db,
      cutoff: NOW - 30 * DAY,
      out: path.join(dir, 'b.jsonl.gz'),
      now: NOW,
      includeUnsynced: true,
    });
    expect(all.archived).toBe(60);
  });

  it('a damaged archive is refused whole and restores nothing', async () => {
    const dir = tempDir('tally-archive-');
    const db = path.join(dir, 'tally.db');
    await makeDb(db, 50);
    const out = path.join(dir, 'a.jsonl.gz');
    await archiveRecords({ dbPath: db, cutoff: NOW - 30 * DAY, out, now: NOW });
    const bytes = fs.readFileSync(out);
    fs.writeFileSync(path.join(dir, 'cut.jsonl.gz'), bytes.subarray(0, Math.floor(bytes.length * 0.7)));
    await expect(restoreArchive({ dbPath: db, file: path.join(dir, 'cut.jsonl.gz'), now: NOW })).rejects.toThrow(
      /not an intact Tally archive/,
    );
    const t = openDatabase(db);
    expect(t.sqlite.prepare('SELECT count(*) FROM usage_records').pluck().get()).toBe(5);
    await t.close();
  });
});

describe('archive under kill -9', () => {
  beforeAll(async () => {
    await build({
      entryPoints: { tally: path.join(ROOT, 'src/cli/main.ts') },
      outdir: path.dirname(CLI),
      outExtension: { '.js': '.mjs' },
      bundle: true,
      platform: 'node',
      format: 'esm',
      packages: 'external',
      loader: { '.sql': 'text' },
      logLevel: 'warning',
    });
    fs.writeFileSync(CLI, "import { run } from './tally.mjs';\nrun(process.argv.slice(2)).then((code) => { process.exitCode = code; });\n");
  });

  function runArchive(db: string, out: string, opts: { fault?: string; killAfterMs?: number }): Promise<number | string | null> {
    const env: NodeJS.ProcessEnv = { ...process.env, TALLY_CONFIG: path.join(path.dirname(db), 'none.json') };
    delete env.VITEST;
    if (opts.fault) env.TALLY_FAULT_ARCHIVE = opts.fault;
    const child = spawn(process.execPath, [CLI, '--db', db, 'archive', '--older-than', '30d', '--out', out], { env, stdio: 'ignore' });
    if (opts.killAfterMs !== undefined) setTimeout(() => child.kill('SIGKILL'), opts.killAfterMs);
    return new Promise((resolve) => child.on('exit', (code, signal) => resolve(signal ?? code)));
  }

  /** Either every selected record is in the database, or none is and the archive verifies with all of them. */
  async function holds(db: string, ids: string[], out: string): Promise<'db' | 'archive'> {
    const present = countIds(db, ids);
    if (present === ids.length) return 'db';
    expect(present).toBe(0);
    const seen = new Set<string>();
    const v = await verifyArchive(out, undefined, (r) => seen.add(r.id));
    expect(v.count).toBe(ids.length);
    expect(ids.every((id) => seen.has(id))).toBe(true);
    return 'archive';
  }

  it('at every named step, the records are all in the database or all in a verified archive', async () => {
    const outcomes: Record<string, string> = {};
    for (const fault of ARCHIVE_STEPS) {
      const dir = tempDir('tally-kill-');
      const db = path.join(dir, 'tally.db');
      const ids = await makeDb(db, 2000);
      const out = path.join(dir, 'a.jsonl.gz');
      expect(await runArchive(db, out, { fault })).toBe('SIGKILL');
      outcomes[fault] = await holds(db, ids, out);
    }
    // Before the delete commits, the database still holds them; after, the file does.
    expect(outcomes).toEqual({
      selected: 'db',
      writing: 'db',
      written: 'db',
      renamed: 'db',
      verified: 'db',
      deleting: 'db',
      committed: 'archive',
    });
  });

  it('at random moments too', async () => {
    const dir = tempDir('tally-kill-');
    for (let i = 0; i < 4; i++) {
      const db = path.join(dir, `r${i}.db`);
      const ids = await makeDb(db, 20_000);
      const out = path.join(dir, `r${i}.jsonl.gz`);
      await runArchive(db, out, { killAfterMs: 150 + Math.floor(Math.random() * 900) });
      await holds(db, ids, out);
    }
  });
});
