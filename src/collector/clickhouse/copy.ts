// `tally collector migrate-store`: copies a PostgreSQL store's records into ClickHouse, in the
// PostgreSQL store's seq order, a chunk at a time. Ids ClickHouse already holds are skipped
// (insertNew), so a copy that was cut short is simply run again. Voided records stay behind: the
// copy holds the live ones, which the PostgreSQL store's reports count. The materialized views
// build the rollups as the rows arrive. Tokens and services stay in PostgreSQL, the control store.
import type pg from 'pg';
import type { ChConnection } from './connection';
import { insertNew, rowLine, type ChRow } from './insert';

export interface CopyProgress {
  readonly read: number;
  readonly inserted: number;
}

export async function copyPgToClickHouse(
  pool: pg.Pool,
  c: ChConnection,
  options: { chunk?: number; onProgress?: (p: CopyProgress) => void } = {},
): Promise<CopyProgress> {
  const chunk = options.chunk ?? 50_000;
  let cursor = 0;
  let read = 0;
  let inserted = 0;
  for (;;) {
    const r = await pool.query<ChRow & { seq: number }>(
      `SELECT seq, id, recorded_at, customer_id, user_id, host_id, service, quantity::text AS quantity, unit_price, cost_nanos, metadata, source, received_at
       FROM usage_records WHERE seq > $1 AND voided_at IS NULL ORDER BY seq LIMIT $2`,
      [cursor, chunk],
    );
    if (r.rows.length === 0) return { read, inserted };
    cursor = r.rows[r.rows.length - 1]!.seq;
    read += r.rows.length;
    inserted += await insertNew(
      c,
      r.rows.map(({ seq: _seq, ...row }) => rowLine(row)),
    );
    options.onProgress?.({ read, inserted });
  }
}
