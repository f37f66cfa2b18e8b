// The quantity histogram (migration 0016): per UTC day × customer × service, how many live
// records carried each quantity. The writer adds to it in its flush; corrections take a voided
// record out and put an amend's replacement in, so it always counts exactly the live records.
import type BetterSqlite3 from 'better-sqlite3';
import { dayStart } from '../core/time';

/** Adds n records of one quantity to a day's histogram; n < 0 takes them away. */
export const UPSERT_HISTOGRAM = `INSERT INTO quantity_histogram (service, day, customer_id, quantity, n) VALUES (?, ?, ?, ?, ?)
  ON CONFLICT (service, day, customer_id, quantity) DO UPDATE SET n = n + excluded.n`;

/** One record in (+1) or out (−1) of the histogram, inside the caller's transaction. */
export function adjustHistogram(
  sqlite: BetterSqlite3.Database,
  r: { service: string; customerId: string; recordedAt: number; units: bigint | number },
  delta: 1 | -1,
): void {
  const day = dayStart(r.recordedAt);
  sqlite.prepare(UPSERT_HISTOGRAM).run(r.service, day, r.customerId, r.units, delta);
  if (delta < 0) {
    sqlite
      .prepare('DELETE FROM quantity_histogram WHERE service = ? AND day = ? AND customer_id = ? AND quantity = ? AND n <= 0')
      .run(r.service, day, r.customerId, r.units);
  }
}
