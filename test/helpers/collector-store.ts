// What the collector-store tests share: a request body as the store receives it, a migrated
// collector database on the test server, and everything a store wrote, as text, to compare paths.
import { migrateCollector, openCollectorDb, type CollectorDb } from '../../src/collector/db';
import { readBatch } from '../../src/collector/ingest';
import type { ValidBatch } from '../../src/collector/store';
import type { TestPostgres } from './postgres';

/** `text` parsed and checked for `hostId` as the collector does: the refused records are skipped. */
export function validBatch(text: string, hostId: string): ValidBatch {
  const value = JSON.parse(text) as { records: unknown[] };
  const { rejected } = readBatch(value, hostId);
  return { text, records: value.records, skip: rejected.map((r) => r.index) };
}

/** A new collector database on `pg`, migrated. */
export async function collectorDb(pg: TestPostgres, name: string): Promise<CollectorDb> {
  const c = openCollectorDb(await pg.createDatabase(name));
  await migrateCollector(c.pool);
  return c;
}

/** Every stored record and rollup row, each column as PostgreSQL prints it. */
export async function storedRows(c: CollectorDb) {
  const records = await c.pool.query(
    `SELECT id, recorded_at::text, customer_id, user_id, host_id, service, quantity::text, unit_price, cost_nanos::text, metadata, source, received_at::text
     FROM usage_records ORDER BY seq`,
  );
  const rollups = await c.pool.query(
    `SELECT period, bucket_start::text, customer_id, service, event_count::text, sum_quantity::text, sum_cost_nanos::text, min_quantity::text, max_quantity::text
     FROM rollups ORDER BY period, bucket_start, customer_id, service`,
  );
  return { records: records.rows, rollups: rollups.rows };
}
