// The reports' queries use the indexes chosen for them, not table scans.
import { describe, expect, it } from 'vitest';
import { testDb } from '../helpers/db';

async function plan(sql: string, ...params: unknown[]): Promise<string> {
  const tdb = await testDb();
  const rows = tdb.sqlite.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params) as Array<{ detail: string }>;
  await tdb.close();
  return rows.map((r) => r.detail).join(' | ');
}

describe('query plans', () => {
  it("percentiles read one service's packed histogram days and deltas by primary key range", async () => {
    const packed = await plan(
      'SELECT n, quantities, counts FROM quantity_histogram_packed WHERE service = ? AND day >= ? AND day < ?',
      'api',
      0,
      1,
    );
    expect(packed).toMatch(/SEARCH quantity_histogram_packed USING PRIMARY KEY \(service=\? AND day>\? AND day<\?\)/);
    const deltas = await plan('SELECT sum(n), quantity FROM quantity_histogram WHERE service = ? AND day >= ? AND day < ?', 'api', 0, 1);
    expect(deltas).toMatch(/SEARCH quantity_histogram USING PRIMARY KEY \(service=\? AND day>\? AND day<\?\)/);
  });

  it('a report over a period reads the rollups by primary key range', async () => {
    const p = await plan(
      "SELECT service, sum(event_count), sum(sum_quantity_hi), sum(sum_quantity_lo), sum(sum_cost_nanos) FROM rollups WHERE period = 'month' AND bucket_start >= ? AND bucket_start < ? GROUP BY service",
      0,
      1,
    );
    expect(p).toMatch(/SEARCH rollups USING (PRIMARY KEY|INDEX \w+) \(period=\? AND bucket_start>\? AND bucket_start<\?\)/);
  });

  it("one service's rollups over time are a range search, never a scan", async () => {
    const p = await plan(
      "SELECT * FROM rollups WHERE period = 'day' AND service = ? AND bucket_start >= ? AND bucket_start < ?",
      'api',
      0,
      1,
    );
    expect(p).toMatch(
      /SEARCH rollups USING (PRIMARY KEY|(COVERING )?INDEX rollups_service_sums) \(period=\? AND (service=\? AND )?bucket_start>\? AND bucket_start<\?\)/,
    );
    expect(p).not.toMatch(/SCAN/);
  });

  it('peaks over a long range read the covering rollup index alone', async () => {
    const p = await plan(
      "SELECT bucket_start, sum(event_count), sum(sum_quantity_hi), sum(sum_quantity_lo), sum(sum_cost_nanos) FROM rollups WHERE period = 'hour' AND service = ? AND bucket_start >= ? AND bucket_start < ? GROUP BY bucket_start ORDER BY sum(sum_quantity_hi) * 4294967296.0 + sum(sum_quantity_lo) DESC LIMIT 10",
      'api',
      0,
      1,
    );
    expect(p).toMatch(/USING COVERING INDEX rollups_service_sums/);
  });

  it('raw records of one service over a period (stats, percentiles) range over the time index', async () => {
    const p = await plan(
      'SELECT quantity FROM usage_records WHERE service = ? AND recorded_at >= ? AND recorded_at < ? ORDER BY quantity',
      'api',
      0,
      1,
    );
    expect(p).toMatch(/SEARCH usage_records USING INDEX usage_records_time \(recorded_at>\? AND recorded_at<\?\)/);
  });

  it('exports and the archive read records by time, newest first, without sorting', async () => {
    const p = await plan(
      'SELECT * FROM usage_records WHERE recorded_at >= ? AND recorded_at < ? ORDER BY recorded_at DESC, seq DESC LIMIT 1000',
      0,
      1,
    );
    expect(p).toMatch(/SEARCH usage_records USING INDEX usage_records_time \(recorded_at>\? AND recorded_at<\?\)/);
    expect(p).not.toMatch(/TEMP B-TREE/);
  });

  it('the sync outbox reads records after a cursor by sequence', async () => {
    const p = await plan('SELECT * FROM usage_records WHERE seq > ? ORDER BY seq LIMIT 100', 0);
    expect(p).toMatch(/SEARCH usage_records USING INTEGER PRIMARY KEY \(rowid>\?\)/);
  });

  it('an idempotent insert finds an existing id through its unique index', async () => {
    const p = await plan('SELECT seq FROM usage_records WHERE id = ?', 'x');
    expect(p).toMatch(/USING (COVERING )?INDEX sqlite_autoindex_usage_records_1/);
  });
});
