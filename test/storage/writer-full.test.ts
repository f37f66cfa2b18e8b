// The writer on a full database, anywhere (no root needed): PRAGMA max_page_count makes SQLite
// answer SQLITE_FULL exactly as a full disk does. Waiting callers are answered at once, new
// ones refused at once, fire-and-forget records stay queued and are written when space returns,
// and close() while still full says how many accepted records it could not store.
import { describe, expect, it } from 'vitest';
import { TallyError } from '../../src/core/errors';
import { build } from '../../src/core/tracking';
import { testDb, testWriter } from '../helpers/db';

const big = (i: number) => build.api(`/${i}/${'x'.repeat(3000)}`, 'GET', 200);

async function fullWriter() {
  const tdb = await testDb();
  const w = await testWriter(tdb, { batchSize: 1_000_000, batchTimeoutMs: 60_000 });
  const pages = tdb.sqlite.pragma('page_count', { simple: true }) as number;
  tdb.sqlite.pragma(`max_page_count = ${pages + 2}`);
  const events: string[] = [];
  w.on('storage-error', () => events.push('error'));
  w.on('storage-ok', () => events.push('ok'));
  return { tdb, w, events };
}

describe('the writer on a full database', () => {
  it('answers waiting callers at once, refuses new ones, keeps fire-and-forget records, and resumes by itself', async () => {
    const { tdb, w, events } = await fullWriter();
    const queued = [w.add(big(1)), w.add(big(2))]; // fire-and-forget, queued before the failure
    const waiting = w.recordMany(Array.from({ length: 50 }, (_, i) => big(100 + i)));
    const err = await waiting.then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(TallyError);
    expect((err as TallyError).code).toBe('unavailable');
    expect((err as TallyError).retryAfterMs).toBeGreaterThanOrEqual(1000);
    expect((err as TallyError).message).toMatch(/disk .* is full: nothing was stored/);
    expect(events).toEqual(['error']);
    expect(w.storageProblem).toMatchObject({ kind: 'full', pending: 2 });
    expect(w.metrics.storageFailures).toBe(1);

    // New callers are refused without queueing anything.
    await expect(w.record(big(3))).rejects.toThrow(/is full/);
    expect(() => w.add(big(4))).toThrow(/is full/);
    expect(w.queueDepth).toBe(2);
    expect(tdb.sqlite.prepare('SELECT count(*) FROM usage_records').pluck().get()).toBe(0);

    // Space returns: the retry writes the queued records and writing resumes.
    tdb.sqlite.pragma('max_page_count = 1000000');
    for (let i = 0; i < 50 && w.storageProblem !== null; i++) await new Promise((r) => setTimeout(r, 100));
    expect(w.storageProblem).toBeNull();
    expect(events).toEqual(['error', 'ok']);
    const ids = tdb.sqlite.prepare('SELECT id FROM usage_records ORDER BY seq').pluck().all();
    expect(ids).toEqual(queued);
    await expect(w.record(big(5))).resolves.toMatchObject({ inserted: true });
    await w.close();
    await tdb.close();
  });

  it('says at close how many accepted records it could not store while still full', async () => {
    const { tdb, w } = await fullWriter();
    for (let i = 0; i < 20; i++) w.add(big(i)); // more than the two free pages hold
    await w.flush().catch(() => undefined);
    expect(w.storageProblem).not.toBeNull();
    await w.close();
    expect(w.unstoredAtClose).toBe(20);
    await tdb.close();
  });
});
