// A record whose cost is past what one record can hold exactly (2^53 nanos, about $9 million) is a
// user's mistake found only when it is priced, inside a group commit: its call is refused with
// the field named, and every other record of that commit is stored all the same.
import { afterEach, describe, expect, it } from 'vitest';
import type { TallyDb } from '../../src/storage/open';
import { amendRecord } from '../../src/storage/corrections';
import type { BatchedWriter } from '../../src/storage/writer';
import { fixedClock, testDb, testWriter } from '../helpers/db';

const clock = fixedClock();
const api = (quantity: number) => ({
  service: 'api',
  quantity,
  metadata: { endpoint: '/a', method: 'GET' },
  recordedAt: clock.now() - 1000,
});
// api costs 0.0001 a request: 2^50 requests would cost about $112.6 billion.
const HUGE = 2 ** 50;

let tdb: TallyDb;
let writer: BatchedWriter;
afterEach(async () => {
  await writer?.close();
  await tdb?.close();
});
const stored = () => tdb.sqlite.prepare('SELECT count(*) FROM usage_records').pluck().get() as number;

describe('a record that would cost more than one record can hold', () => {
  it('refuses its call, naming the field, and stores the rest of the commit', async () => {
    tdb = await testDb();
    writer = await testWriter(tdb, { clock: clock.now, batchTimeoutMs: 60_000 });
    writer.add(api(1)); // queued without a caller
    const before = writer.recordMany([api(2), api(3)]);
    const bad = writer.recordMany([api(4), api(HUGE)]);
    const after = writer.record(api(5));
    await expect(bad).rejects.toMatchObject({
      code: 'invalid_input',
      field: 'records[1].quantity',
      message: expect.stringMatching(
        /^records\[1\]\.quantity: 1125899906842624 of "api" would cost .* one record can cost at most 9007199\.2547/,
      ),
    });
    expect((await before).map((s) => s.inserted)).toEqual([true, true]);
    expect((await after).costNanos).toBe(500_000);
    expect(stored()).toBe(4); // 1, 2, 3 and 5: nothing of the refused call
    expect(tdb.sqlite.prepare("SELECT sum(event_count) FROM rollups WHERE period = 'month'").pluck().get()).toBe(4);
  });

  it('drops such a record queued without a caller, reports it, and stores the others', async () => {
    tdb = await testDb();
    writer = await testWriter(tdb, { clock: clock.now, batchTimeoutMs: 60_000 });
    const reported: Array<{ field: string | undefined; records: number }> = [];
    writer.on('flush-error', (err: { field?: string }, info: { records: number }) =>
      reported.push({ field: err.field, records: info.records }),
    );
    writer.add(api(1));
    writer.add(api(HUGE));
    writer.add(api(3));
    await writer.flush();
    expect(reported).toEqual([{ field: 'quantity', records: 1 }]);
    expect(tdb.sqlite.prepare('SELECT quantity FROM usage_records ORDER BY seq').pluck().all()).toEqual([1, 3]);
  });

  it('refuses a single record by its own field name', async () => {
    tdb = await testDb();
    writer = await testWriter(tdb, { clock: clock.now });
    await expect(writer.record(api(HUGE))).rejects.toMatchObject({ code: 'invalid_input', field: 'quantity' });
    expect(stored()).toBe(0);
    expect((await writer.record(api(7))).costNanos).toBe(700_000);
  });

  it('refuses an amend to such a quantity, changing nothing', async () => {
    tdb = await testDb();
    writer = await testWriter(tdb, { clock: clock.now });
    const [one] = await writer.recordMany([api(1)]);
    const amend = amendRecord(writer, { id: one!.id, reason: 'typo', actor: 'cli:ops', quantity: HUGE });
    await expect(amend).rejects.toMatchObject({ code: 'invalid_input', field: 'quantity' });
    expect(tdb.sqlite.prepare('SELECT quantity, voided_at FROM usage_records').all()).toEqual([{ quantity: 1, voided_at: null }]);
    expect(tdb.sqlite.prepare('SELECT count(*) FROM corrections').pluck().get()).toBe(0);
  });
});
