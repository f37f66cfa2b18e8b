// Migration 0011 (tenants): customers already in the rollups become customer rows, later ones
// appear with their first event (through the writer's hour rollup), and api_keys holds hashes.
import BetterSqlite3 from 'better-sqlite3';
import { expect, it } from 'vitest';
import { migrate } from '../../src/storage/migrate';
import { testDb, testWriter } from '../helpers/db';

it('fills customers from the existing rollups, at the hour of their first usage', () => {
  const db = new BetterSqlite3(':memory:');
  migrate(db, { target: 10, now: () => 1 });
  const insert = db.prepare(
    `INSERT INTO rollups (period, bucket_start, customer_id, service, event_count, sum_quantity_hi, sum_quantity_lo, sum_cost_nanos, min_quantity, max_quantity)
     VALUES (?, ?, ?, 'api', 1, 0, 1, 100, 1, 1)`,
  );
  insert.run('hour', 7_200_000, 'acme');
  insert.run('hour', 3_600_000, 'acme');
  insert.run('month', 0, 'acme');
  insert.run('hour', 10_800_000, 'globex');
  migrate(db, { now: () => 2 });
  expect(db.prepare('SELECT id, display_name, metadata, created_at FROM customers ORDER BY id').all()).toEqual([
    { id: 'acme', display_name: null, metadata: '{}', created_at: 3_600_000 },
    { id: 'globex', display_name: null, metadata: '{}', created_at: 10_800_000 },
  ]);
});

it('a customer appears with its first event, once, and a customer added before keeps its name', async () => {
  const tdb = await testDb();
  const writer = await testWriter(tdb);
  tdb.sqlite.prepare("INSERT INTO customers (id, display_name, created_at) VALUES ('named', 'Named Co', 1)").run();
  const event = (customerId: string) => ({ service: 'api', quantity: 1, customerId, metadata: { endpoint: '/x', method: 'GET' } });
  await writer.recordMany([event('fresh'), event('fresh'), event('named')]);
  await writer.recordMany([event('fresh')]);
  const rows = tdb.sqlite.prepare('SELECT id, display_name FROM customers ORDER BY id').all();
  expect(rows).toEqual([
    { id: 'fresh', display_name: null },
    { id: 'named', display_name: 'Named Co' },
  ]);
  await writer.close();
  await tdb.close();
});
