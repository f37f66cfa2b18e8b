import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { acquireWriterLock } from '../../src/storage/lock';
import { TallyError } from '../../src/core/errors';
import { formatNanos } from '../../src/core/money';
import { setPriceRule, installTemplate } from '../../src/storage/repos/services';
import { SERVICE_TEMPLATES } from '../../src/core/services';
import { build, createTracker } from '../../src/core/tracking';
import { fixedClock, tempDir, testDb, testWriter } from '../helpers/db';

const count = (tdb: Awaited<ReturnType<typeof testDb>>) => tdb.sqlite.prepare('SELECT count(*) FROM usage_records').pluck().get() as number;
const api = () => build.api('/users', 'GET', 200);

describe('batched writer', () => {
  it('flushes when the batch size is reached, and not before', async () => {
    const tdb = await testDb();
    const w = await testWriter(tdb, { batchSize: 10, batchTimeoutMs: 60_000 });
    for (let i = 0; i < 9; i++) w.add(api());
    await new Promise((r) => setImmediate(r));
    expect(count(tdb)).toBe(0);
    const flushed = new Promise((r) => w.once('flush', r));
    w.add(api());
    await flushed;
    expect(count(tdb)).toBe(10);
    await w.close();
  });

  it('flushes after the batch timeout when the batch stays small', async () => {
    const tdb = await testDb();
    const w = await testWriter(tdb, { batchSize: 1000, batchTimeoutMs: 30 });
    w.add(api());
    const flushed = new Promise((r) => w.once('flush', r));
    await flushed;
    expect(count(tdb)).toBe(1);
    await w.close();
  });

  it('record() resolves only after the commit that holds it, and concurrent calls share one commit', async () => {
    const tdb = await testDb();
    const w = await testWriter(tdb, { batchSize: 1000, batchTimeoutMs: 60_000 });
    let flushes = 0;
    w.on('flush', () => flushes++);
    const stored = await Promise.all(Array.from({ length: 50 }, () => w.record(api())));
    expect(flushes).toBe(1);
    expect(count(tdb)).toBe(50);
    const ids = new Set(tdb.sqlite.prepare('SELECT id FROM usage_records').pluck().all());
    for (const s of stored) expect(ids.has(s.id)).toBe(true);
    await w.close();
  });

  it('refuses with a typed queue_full error when the queue is full, and drops nothing it accepted', async () => {
    const tdb = await testDb();
    const w = await testWriter(tdb, { batchSize: 1000, batchTimeoutMs: 60_000, maxQueue: 5 });
    for (let i = 0; i < 5; i++) w.add(api());
    let err: unknown;
    try {
      w.add(api());
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(TallyError);
    expect((err as TallyError).code).toBe('queue_full');
    expect((err as TallyError).retryAfterMs).toBeGreaterThan(0);
    await expect(w.recordMany([api(), api()])).rejects.toMatchObject({ code: 'queue_full' });
    await w.close(); // close() flushes what was accepted
    expect(count(tdb)).toBe(5);
  });

  it('a bulk insert with one bad record stores none of the call and names the bad one', async () => {
    const tdb = await testDb();
    const w = await testWriter(tdb);
    await expect(
      w.recordMany([api(), api(), { service: 'api', quantity: -1, metadata: { endpoint: '/', method: 'GET' } }, api()]),
    ).rejects.toMatchObject({
      code: 'invalid_input',
      field: 'records[2].quantity',
    });
    expect(() => w.addMany([api(), { service: 'nope', quantity: 1 }])).toThrow(/records\[1\]\.service: unknown service "nope"/);
    await w.close();
    expect(count(tdb)).toBe(0);
  });

  it('ignores a retried record with the same caller-chosen id (idempotent ingestion)', async () => {
    const tdb = await testDb();
    const w = await testWriter(tdb);
    const id = '01JD0000000000000000000000';
    const first = await w.record({ ...api(), id });
    const again = await w.record({ ...api(), id });
    expect(first).toMatchObject({ id, inserted: true, costNanos: 100_000 });
    expect(again).toMatchObject({ id, inserted: false });
    expect(count(tdb)).toBe(1);
    const month = tdb.sqlite.prepare("SELECT event_count FROM rollups WHERE period = 'month'").pluck().get();
    expect(month).toBe(1);
    await w.close();
  });

  it('stores the price in force on each record: a new price does not rewrite history', async () => {
    const tdb = await testDb();
    const clock = fixedClock(Date.UTC(2026, 10, 15));
    const w = await testWriter(tdb, { clock: clock.now });
    const old = await w.record({ ...api(), recordedAt: Date.UTC(2026, 10, 10) });
    await setPriceRule(
      tdb.db,
      { service: 'api', effectiveFrom: Date.UTC(2026, 10, 12), spec: { model: 'per_unit', unitPrice: '0.0005' } },
      clock.now(),
    );
    await w.refresh();
    const backdated = await w.record({ ...api(), recordedAt: Date.UTC(2026, 10, 11) }); // before the new rule: old price
    const fresh = await w.record({ ...api(), recordedAt: Date.UTC(2026, 10, 14) });
    expect([old.costNanos, backdated.costNanos, fresh.costNanos]).toEqual([100_000, 100_000, 500_000]);
    const prices = tdb.sqlite.prepare('SELECT unit_price FROM usage_records ORDER BY seq').pluck().all();
    expect(prices).toEqual(['0.0001', '0.0001', '0.0005']);
    await w.close();
  });

  it('prices a price change made by another process from the next batch on', async () => {
    const tdb = await testDb();
    const w = await testWriter(tdb);
    await w.record(api());
    // A second connection (as `tally price set` would be) changes the book.
    const { openDatabase } = await import('../../src/storage/open');
    const other = openDatabase(tdb.path);
    await setPriceRule(other.db, { service: 'api', effectiveFrom: 0, spec: { model: 'per_unit', unitPrice: '0.002' } }, Date.now());
    await other.close();
    expect((await w.record(api())).costNanos).toBe(2_000_000);
    await w.close();
  });

  it('runs the tracking surface of the seeds, with custom services from the templates', async () => {
    const tdb = await testDb();
    await installTemplate(tdb.db, SERVICE_TEMPLATES[0]!, Date.now());
    const w = await testWriter(tdb);
    await w.refresh();
    const track = createTracker(w);
    await track.api('/users', 'get', 200);
    await track.storage(2 ** 30, 2); // 1 GiB for 2 hours = 2 GB-hours
    await track.bandwidth(2 ** 30, 'egress', { metadata: { interface: 'eth0' } });
    await track.compute(3600);
    await track.database('select', 45);
    await track.function('sendEmail', 120, 256);
    await track.llm(
      { model: 'gpt-x', provider: 'acme', inputTokens: 1000, outputTokens: 200 },
      { customerId: 'tenant-1', userId: 'user-7' },
    );
    void track.add('api', 3, { endpoint: '/bulk', method: 'POST' });
    await track.flush();
    await track.bulk([build.database('INSERT', 3), build.database('UPDATE', 4)]);
    const rows = tdb.sqlite
      .prepare('SELECT service, quantity, cost_nanos AS c, customer_id, user_id FROM usage_records ORDER BY seq')
      .all() as Array<Record<string, unknown>>;
    expect(rows.map((r) => r.service)).toEqual([
      'api',
      'storage',
      'bandwidth',
      'compute',
      'database',
      'functions',
      'llm_input',
      'llm_output',
      'api',
      'database',
      'database',
    ]);
    const cost = Object.fromEntries(rows.map((r) => [r.service, formatNanos(r.c as number)]));
    expect(cost).toMatchObject({
      storage: '0.0020',
      bandwidth: '0.0100',
      compute: '0.0500',
      functions: '0.0002',
      llm_input: '0.0030',
      llm_output: '0.0030',
    });
    expect(rows[6]).toMatchObject({ customer_id: 'tenant-1', user_id: 'user-7' });
    await w.close();
  });

  it('keeps the WAL bounded: an idle TRUNCATE checkpoint empties it', async () => {
    const tdb = await testDb();
    const w = await testWriter(tdb, { batchSize: 1000 });
    for (let i = 0; i < 5000; i++) w.add(api());
    await w.flush();
    const result = w.checkpoint();
    expect(result.busy).toBe(false);
    const fs = await import('node:fs');
    expect(fs.statSync(`${tdb.path}-wal`).size).toBe(0);
    await w.close();
  });
});

describe('writer lock', () => {
  it('lets one writer in and names the holder to the second', () => {
    const db = path.join(tempDir(), 'x.db');
    const lock = acquireWriterLock(db, 'tally agent');
    let err: unknown;
    try {
      acquireWriterLock(db, 'tally track');
    } catch (e) {
      err = e;
    }
    expect((err as TallyError).code).toBe('locked');
    expect((err as TallyError).message).toContain(`pid ${process.pid}`);
    expect((err as TallyError).message).toContain('tally agent');
    lock.release();
    acquireWriterLock(db).release();
  });

  it('takes over a lock left by a process that died', async () => {
    const fs = await import('node:fs');
    const db = path.join(tempDir(), 'y.db');
    fs.writeFileSync(
      `${db}.lock`,
      JSON.stringify({ pid: 2 ** 22 + 12345, hostname: (await import('node:os')).hostname(), command: 'gone', since: '', bootId: null }),
    );
    const lock = acquireWriterLock(db);
    expect(JSON.parse(fs.readFileSync(`${db}.lock`, 'utf8')).pid).toBe(process.pid);
    lock.release();
  });
});

describe('exact money', () => {
  it('one million records of 0.0001 cost exactly 100.0000', async () => {
    const tdb = await testDb();
    const w = await testWriter(tdb, { batchSize: 10_000, maxQueue: 20_000, clock: () => Date.UTC(2026, 10, 15) });
    const rec = { service: 'api', quantity: 1, metadata: { endpoint: '/x', method: 'GET' }, recordedAt: Date.UTC(2026, 10, 14) };
    for (let i = 0; i < 1_000_000; i++) {
      w.add(rec);
      if (w.queueDepth >= 10_000) await w.flush();
    }
    await w.close();
    const raw = tdb.sqlite.prepare('SELECT count(*) AS n, sum(cost_nanos) AS c FROM usage_records').get() as { n: number; c: number };
    expect(raw.n).toBe(1_000_000);
    expect(formatNanos(raw.c)).toBe('100.0000');
    const month = tdb.sqlite.prepare("SELECT sum_cost_nanos FROM rollups WHERE period = 'month'").pluck().get() as number;
    expect(formatNanos(month)).toBe('100.0000');
    const { usageReport } = await import('../../src/analytics/usage');
    const report = await usageReport(tdb.db, { from: Date.UTC(2026, 10, 1), to: Date.UTC(2026, 11, 1) });
    expect(report.totalCost).toBe('100.0000');
    await tdb.close();
  }, 120_000);
});
