// The PostgreSQL store: records and rollups in the same database as the control tables. Each batch
// inserts the ids not held yet with the rollups folded in the same statement: from a COPY into a
// staging table (pg-copy.ts, the default), or from the request's jsonb (ingest.ts: bodies the COPY
// path cannot read exactly, or every body with TALLY_COLLECTOR_STAGING=0).
import type { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { sql } from 'kysely';
import type { Kysely } from 'kysely';
import { rollupPeriodFor, type DaySums, type ReportQuery, type ReportSource, type Sums } from '../analytics/usage';
import { dayStart, hourStart } from '../core/time';
import { trimDecimal } from './quantity';
import type { CollectorDatabase } from './schema';
import type { CollectorDb } from './db';
import { applyCorrections } from './corrections';
import { storeBatch } from './ingest';
import { copyBatch, copyChunks, poolOf } from './pg-copy';
import { copyDirect, directBatch } from './pg-direct';
import { scanBatch } from './pg-scan';
import type { CollectorStore, ValidBatch } from './store';

interface SumRow {
  service: string;
  events: number;
  quantity: string;
  cost: string;
}

const toSums = (r: SumRow): Sums => ({ ...r, quantity: trimDecimal(r.quantity) });

function where(q: ReportQuery) {
  return sql.join(
    [...(q.service ? [sql`service = ${q.service}`] : []), ...(q.customerId ? [sql`customer_id = ${q.customerId}`] : []), sql`true`],
    sql` AND `,
  );
}

/** Sums as exact text (numeric quantities, bigint costs summed as numeric). */
/** `raw: false`: the agent-side extras read from raw SQLite records do not apply here. */
type StoreReportSource = ReportSource & { readonly raw: false };

function pgReportSource(db: Kysely<CollectorDatabase>): StoreReportSource {
  return {
    raw: false,
    async sums(q) {
      const period = rollupPeriodFor(q.from, q.to);
      const r =
        period !== null
          ? await sql<SumRow>`SELECT service, sum(event_count)::int8 AS events, sum(sum_quantity)::text AS quantity, sum(sum_cost_nanos)::text AS cost
              FROM rollups WHERE period = ${period} AND bucket_start >= ${q.from} AND bucket_start < ${q.to} AND ${where(q)} GROUP BY service`.execute(
              db,
            )
          : await sql<SumRow>`SELECT service, count(*)::int8 AS events, sum(quantity)::text AS quantity, sum(cost_nanos)::text AS cost
              FROM usage_records WHERE recorded_at >= ${q.from} AND recorded_at < ${q.to} AND voided_at IS NULL AND ${where(q)} GROUP BY service`.execute(
              db,
            );
      return r.rows.map(toSums);
    },
    async daySums(q): Promise<DaySums[]> {
      const period = dayStart(q.from) === q.from && dayStart(q.to) === q.to ? 'day' : 'hour';
      const r = await sql<SumRow & { day: number }>`
        SELECT service, (bucket_start / 86400000) * 86400000 AS day, sum(event_count)::int8 AS events,
          sum(sum_quantity)::text AS quantity, sum(sum_cost_nanos)::text AS cost
        FROM rollups WHERE period = ${period} AND bucket_start >= ${hourStart(q.from)} AND bucket_start < ${q.to} AND ${where(q)}
        GROUP BY day, service ORDER BY day, service`.execute(db);
      return r.rows.map(toSums) as DaySums[];
    },
  };
}

const RETRYABLE_PG = new Set(['40P01', '40001']); // deadlock, serialization failure

/** `pool` is needed for the export (COPY); `close` closes what the store owns, if anything. */
export function pgStore(
  c: { db: CollectorDb['db']; pool?: CollectorDb['pool'] },
  options: { close?: () => Promise<void>; staging?: boolean; direct?: boolean } = {},
): CollectorStore {
  // The staging COPY is the default; TALLY_COLLECTOR_STAGING=0 (or staging: false) keeps every
  // batch on the jsonb statement.
  const staging = options.staging ?? process.env.TALLY_COLLECTOR_STAGING !== '0';
  // First a COPY straight into usage_records (pg-direct.ts), the staging table when one of the ids
  // is held already; TALLY_COLLECTOR_DIRECT=0 (or direct: false) goes to the staging table at once.
  const direct = staging && (options.direct ?? process.env.TALLY_COLLECTOR_DIRECT !== '0');
  const poolNow = () => (staging ? (c.pool ?? poolOf(c.db)) : undefined);
  // Concurrent agents touching the same rollup rows may deadlock: retry a few times.
  const retrying = async <T>(run: () => Promise<T>): Promise<T> => {
    for (let attempt = 0; ; attempt++) {
      try {
        return await run();
      } catch (err) {
        if (attempt < 4 && RETRYABLE_PG.has((err as { code?: string }).code ?? '')) continue;
        throw err;
      }
    }
  };
  // The staging table (pg-copy.ts) when the body has the plain shape; else jsonb (ingest.ts).
  const stage = (batch: ValidBatch, now: number) =>
    retrying(() => {
      const pool = poolNow();
      const rows = pool ? copyChunks(batch) : null; // built as they are sent, so again on a retry
      return pool && rows !== null ? copyBatch(pool, rows, now) : storeBatch(c.db, batch.text, batch.skip, now);
    });
  return {
    kind: 'postgres',
    async store(batch, _hostId, now) {
      const pool = direct ? poolNow() : undefined;
      const first = pool ? directBatch(batch, now) : null;
      const stored = first ? await retrying(() => copyDirect(pool!, first)) : null;
      // null: some were held already, and the staging table's insert keeps only the new ones.
      return stored ?? stage(batch, now);
    },
    ...(direct
      ? {
          async storeWire(text: string, batch: () => ValidBatch, hostId: string, now: number) {
            const pool = poolNow();
            const scanned = pool ? scanBatch(text, hostId, now) : null;
            if (!scanned) return null;
            const inserted = (await retrying(() => copyDirect(pool!, scanned))) ?? (await stage(batch(), now));
            return { count: scanned.count, inserted };
          },
        }
      : {}),
    report: pgReportSource(c.db),
    correct: (hostId, list) => applyCorrections(c.db, hostId, list),
    async seenServices() {
      const r = await sql<{ service: string }>`SELECT DISTINCT service FROM rollups WHERE period = 'month'`.execute(c.db);
      return r.rows.map((x) => x.service);
    },
    async exportCsv(range, out: Writable) {
      if (!c.pool) throw new Error('pgStore: the export needs the pool');
      const { to: copyTo } = await import('pg-copy-streams');
      const client = await c.pool.connect();
      try {
        // Bounds are numbers, so inlining them is safe (COPY takes no parameters).
        const source = client.query(
          copyTo(
            `COPY (SELECT id, to_char(to_timestamp(recorded_at / 1000.0) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS recorded_at, customer_id, user_id, host_id, service, trim_scale(quantity) AS quantity, unit_price, cost_nanos, metadata, source
             FROM usage_records WHERE recorded_at >= ${Math.trunc(range.from)} AND recorded_at < ${Math.trunc(range.to)} AND voided_at IS NULL ORDER BY recorded_at, id) TO STDOUT WITH (FORMAT csv, HEADER)`,
          ),
        );
        await pipeline(source, out);
      } finally {
        client.release();
      }
    },
    close: options.close ?? (async () => undefined),
  };
}
