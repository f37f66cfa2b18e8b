// The agent's native requests built from the JSON SQLite writes while reading the outbox are byte
// for byte the requests built from the records themselves.
import { afterEach, describe, expect, it } from 'vitest';
import { nativeAdapter, type WireRecord } from '../../src/core/sync/native';
import type { SyncRecord } from '../../src/core/sync/types';
import type { TallyDb } from '../../src/storage/open';
import { SqliteOutbox } from '../../src/sync/store';
import { prng } from '../../src/core/demo';
import { fixedClock, testDb, testWriter } from '../helpers/db';

const clock = fixedClock();
const adapter = nativeAdapter({ name: 'c', kind: 'tally', url: 'http://127.0.0.1:1', token: 't', batchSize: 100, options: {} }, clock.now);
const bodyOf = (records: SyncRecord[]) => adapter.request(records, null).body!;

let tdb: TallyDb | null = null;
afterEach(async () => {
  await tdb?.close();
  tdb = null;
});

async function agentWith(records: Array<Record<string, unknown>>): Promise<TallyDb> {
  tdb = await testDb();
  const writer = await testWriter(tdb, { clock: clock.now });
  await writer.recordMany(records);
  await writer.close();
  return tdb;
}

const at = clock.now() - 60_000;

describe('native request from the outbox', () => {
  it('is the same text whether SQLite or the records build it', async () => {
    const db = await agentWith([
      { service: 'compute', quantity: 0.5, customerId: 'acme', recordedAt: at, metadata: { instance: 'i-1' } },
      { service: 'compute', quantity: 1.000001, customerId: 'acme', recordedAt: at, metadata: {} },
      { service: 'compute', quantity: 0, customerId: 'acme', recordedAt: at },
      { service: 'compute', quantity: 123456789.25, customerId: 'acme', recordedAt: at },
      { service: 'compute', quantity: 3, customerId: 'acme', recordedAt: at },
      {
        service: 'api',
        quantity: 1,
        customerId: 'c.1:x@y-z_',
        userId: 'u-1',
        recordedAt: at,
        metadata: { endpoint: '/x', method: 'GET', status: 200, s: 'tab\t "q" \\ é 😀 \u2028', n: 1.5, a: [1, { b: null }] },
      },
      { service: 'storage', quantity: 2 ** 52 + 1, customerId: 'acme', recordedAt: at, metadata: { volume: 'data' } },
    ]);
    const outbox = new SqliteOutbox(db.sqlite);
    const plain = await outbox.batch(0, 100);
    const wired = (await outbox.wireBatch(0, 100)) as WireRecord[];
    expect(wired.every((r) => typeof r.wire === 'string')).toBe(true);
    expect(bodyOf(wired)).toBe(bodyOf(plain));
    expect(bodyOf(wired.slice(2, 5))).toBe(bodyOf(plain.slice(2, 5))); // a split batch's halves too
    expect(wired.map((r) => [r.seq, r.id])).toEqual(plain.map((r) => [r.seq, r.id]));
    // Anything else read from such a record is the stored record's.
    expect(
      wired.map((r) => ({
        ...plain.find((p) => p.seq === r.seq)!,
        customerId: r.customerId,
        quantityText: r.quantityText,
        metadata: r.metadata,
      })),
    ).toEqual(plain);
  });

  it('builds the same request for a part of the outbox with gaps in its seqs', async () => {
    const db = await agentWith(
      Array.from({ length: 12 }, (_, i) => ({
        service: i % 2 ? 'api' : 'compute',
        quantity: i % 2 ? 1 : i / 4,
        customerId: `c-${i % 3}`,
        recordedAt: at + i,
        metadata: i % 2 ? { endpoint: `/e${i}`, method: 'GET', status: 200 } : {},
      })),
    );
    db.sqlite.prepare('DELETE FROM usage_records WHERE seq IN (4, 5, 9)').run();
    const outbox = new SqliteOutbox(db.sqlite);
    const plain = await outbox.batch(2, 5);
    const wired = await outbox.wireBatch(2, 5);
    expect(wired.map((r) => r.seq)).toEqual([3, 6, 7, 8, 10]);
    expect(bodyOf(wired)).toBe(bodyOf(plain));
    expect(wired.map((r) => r.id)).toEqual(plain.map((r) => r.id));
    expect(await outbox.wireBatch(12, 5)).toEqual([]);
  });

  it('builds the same request as the records for 600 varied records, in windows of every size', async () => {
    const rand = prng(14);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
    const texts = ['plain', 'tab\t "q" \\ é', '😀 \u2028 \u0001', '', 'ü'.repeat(40)];
    const records = Array.from({ length: 600 }, (_, i) => {
      const service = pick(['api', 'compute', 'storage', 'database', 'functions', 'bandwidth']);
      const metadata: Record<string, unknown> =
        service === 'api'
          ? { endpoint: `/e/${pick(texts)}`, method: pick(['GET', 'POST']), status: 200 }
          : service === 'database'
            ? { type: pick(['select', 'insert']), table: pick(texts) || 't' }
            : service === 'functions'
              ? { function: pick(['f', 'g.h']), duration_ms: Math.floor(rand() * 1000) }
              : { direction: 'in', note: pick(texts), n: pick([0, 1.5, -2, 1e-7, 123456789]), nested: { a: [pick(texts), null] } };
      return {
        service,
        quantity: service === 'compute' ? Math.floor(rand() * 1e9) / 1e6 : Math.floor(rand() * 2 ** (rand() < 0.1 ? 33 : 20)),
        customerId: pick(['acme', 'c.1:x@y-z_', 'Globex-2']),
        ...(rand() < 0.5 ? { userId: pick(['u-1', 'user@example.com']) } : {}),
        recordedAt: at - i * 1000,
        metadata,
      };
    });
    const db = await agentWith(records);
    const outbox = new SqliteOutbox(db.sqlite);
    for (const [after, limit] of [
      [0, 600],
      [0, 1],
      [17, 250],
      [599, 10],
      [300, 301],
    ] as const) {
      const plain = await outbox.batch(after, limit);
      const wired = await outbox.wireBatch(after, limit);
      expect(wired.map((r) => r.seq)).toEqual(plain.map((r) => r.seq));
      expect(bodyOf(wired)).toBe(bodyOf(plain));
      expect(JSON.parse(bodyOf(wired)).records).toHaveLength(plain.length);
    }
  });

  it('reads a record whose quantity SQLite cannot negate the ordinary way', async () => {
    const db = await agentWith([
      { service: 'api', quantity: 1, customerId: 'acme', recordedAt: at, metadata: { endpoint: '/a', method: 'GET', status: 200 } },
      { service: 'api', quantity: 2, customerId: 'acme', recordedAt: at + 1, metadata: { endpoint: '/b', method: 'GET', status: 200 } },
    ]);
    db.sqlite
      .prepare('UPDATE usage_records SET quantity = -9223372036854775807 - 1 WHERE seq = (SELECT min(seq) FROM usage_records)')
      .run();
    const outbox = new SqliteOutbox(db.sqlite);
    const wired = (await outbox.wireBatch(0, 100)) as WireRecord[];
    expect(wired.map((r) => typeof r.wire)).toEqual(['undefined', 'string']);
    expect(bodyOf(wired)).toBe(bodyOf(await outbox.batch(0, 100)));
  });
});
