// Receiving records from agents: validate each one (a bad record is refused alone, by index,
// with the field that is wrong), refuse the whole request if one claims another host id, then
// store all good ones in one statement: INSERT … ON CONFLICT (id) DO NOTHING (the global id makes
// a re-sent batch harmless) and fold the rows actually inserted into the rollups in the same
// statement, so org-wide reports read rollups and are never stale. The request text itself goes
// to PostgreSQL (jsonb_to_recordset), minus the refused records: nothing is re-encoded in JS.
// (That is the PostgreSQL store; the ClickHouse store's insert is in clickhouse/store.ts.)
import { sql, type Kysely } from 'kysely';
import { TallyError } from '../core/errors';
import { isDecimalString } from '../core/money';
import { CUSTOMER_ID } from '../core/services';
import type { NativeReply } from '../core/sync/native';
import type { Rejection } from '../core/sync/types';
import type { CollectorDatabase } from './schema';
import type { CollectorStore } from './store';

/** How a batch's folded rows are added to existing rollup rows: by both ingest paths (pg-copy.ts too). */
export const ADD_TO_ROLLUPS = `ON CONFLICT (period, bucket_start, customer_id, service) DO UPDATE SET
    event_count = rollups.event_count + excluded.event_count,
    sum_quantity = rollups.sum_quantity + excluded.sum_quantity,
    sum_cost_nanos = rollups.sum_cost_nanos + excluded.sum_cost_nanos,
    min_quantity = least(rollups.min_quantity, excluded.min_quantity),
    max_quantity = greatest(rollups.max_quantity, excluded.max_quantity)`;

export const ULID = /^[0-9A-HJKMNP-TV-Z]{26}$/;
export const SERVICE = /^[a-z][a-z0-9_.-]{0,63}$/;
export const SOURCE = /^[A-Za-z0-9][A-Za-z0-9._:/@-]{0,63}$/;
export const MAX_RECORDS_PER_REQUEST = 20_000;

const METADATA_MAX_CHARS = 16 * 1024;
const MAX_QUANTITY_TEXT = '9223372036854775807';
export const MAX_QUANTITY = Number(MAX_QUANTITY_TEXT);

/** Cheap size bound for metadata: exact for flat objects, JSON text length for nested ones. */
export function metadataTooBig(m: Record<string, unknown>): boolean {
  let n = 2;
  for (const [k, v] of Object.entries(m)) {
    if (typeof v === 'object' && v !== null) return JSON.stringify(m).length > METADATA_MAX_CHARS;
    n += k.length + (typeof v === 'string' ? v.length : 24) + 6;
  }
  return n > METADATA_MAX_CHARS;
}

/** The reason a record is refused, naming the field, or null when it is good. */
function check(r: unknown, i: number): string | null {
  const f = (name: string) => `records[${i}].${name}`;
  if (typeof r !== 'object' || r === null || Array.isArray(r)) return `records[${i}]: must be an object`;
  const o = r as Record<string, unknown>;
  if (typeof o.id !== 'string' || !ULID.test(o.id)) return `${f('id')}: must be a ULID`;
  if (!Number.isSafeInteger(o.recordedAt) || (o.recordedAt as number) < 0)
    return `${f('recordedAt')}: must be whole milliseconds since the epoch`;
  if (typeof o.customerId !== 'string' || !CUSTOMER_ID.test(o.customerId))
    return `${f('customerId')}: must be 1-128 letters, digits and . _ : @ -`;
  if (o.userId !== null && o.userId !== undefined && (typeof o.userId !== 'string' || !CUSTOMER_ID.test(o.userId)))
    return `${f('userId')}: must be null or 1-128 letters, digits and . _ : @ -`;
  if (typeof o.hostId !== 'string' || !CUSTOMER_ID.test(o.hostId)) return `${f('hostId')}: must be 1-128 letters, digits and . _ : @ -`;
  if (typeof o.service !== 'string' || !SERVICE.test(o.service)) return `${f('service')}: must be a service name`;
  if (typeof o.quantity !== 'number' || !Number.isFinite(o.quantity) || o.quantity < 0)
    return `${f('quantity')}: must be a finite number ≥ 0`;
  // One record's quantity fits in 64 bits, as on the agents (both stores sum past that exactly).
  if (o.quantity > MAX_QUANTITY) return `${f('quantity')}: must be at most ${MAX_QUANTITY_TEXT}`;
  if (typeof o.unitPrice !== 'string' || !isDecimalString(o.unitPrice)) return `${f('unitPrice')}: must be a decimal string`;
  if (!Number.isSafeInteger(o.costNanos) || (o.costNanos as number) < 0) return `${f('costNanos')}: must be a whole number ≥ 0`;
  if (typeof o.metadata !== 'object' || o.metadata === null || Array.isArray(o.metadata)) return `${f('metadata')}: must be a JSON object`;
  if (metadataTooBig(o.metadata as Record<string, unknown>)) return `${f('metadata')}: must be at most 16 KiB as JSON`;
  if (typeof o.source !== 'string' || !SOURCE.test(o.source)) return `${f('source')}: must be 1-64 letters, digits and . _ : / @ -`;
  return null;
}

/** Validates a request body for the agent bound to `hostId`. Throws 400/403-worthy TallyErrors. */
export function readBatch(body: unknown, hostId: string): { count: number; rejected: Rejection[] } {
  if (typeof body !== 'object' || body === null || !Array.isArray((body as { records?: unknown }).records)) {
    throw new TallyError('invalid_input', 'records: must be an array', { field: 'records' });
  }
  const records = (body as { records: unknown[] }).records;
  if (records.length > MAX_RECORDS_PER_REQUEST)
    throw new TallyError('invalid_input', `records: at most ${MAX_RECORDS_PER_REQUEST} a request`, { field: 'records' });
  const rejected: Rejection[] = [];
  for (let i = 0; i < records.length; i++) {
    const why = check(records[i], i);
    if (why !== null) rejected.push({ index: i, reason: why });
    else if ((records[i] as { hostId: string }).hostId !== hostId) {
      const claimed = (records[i] as { hostId: string }).hostId;
      throw new TallyError('forbidden', `records[${i}].hostId: "${claimed}" is not the host this token belongs to ("${hostId}")`, {
        field: `records[${i}].hostId`,
      });
    }
  }
  return { count: records.length, rejected };
}

/**
 * One statement: insert the new rows of `text` (a validated request body, its `skip` indexes
 * refused), fold them into the four rollup periods. Returns how many were new.
 */
export async function storeBatch(db: Kysely<CollectorDatabase>, text: string, skip: readonly number[], now: number): Promise<number> {
  const result = await sql<{ inserted: number }>`
    WITH input AS (
      -- jsonb, not json: with a key given twice, PostgreSQL then reads the value JS validated (the last).
      SELECT * FROM ROWS FROM (jsonb_to_recordset((${text}::jsonb) -> 'records')
        AS ("id" text, "recordedAt" int8, "customerId" text, "userId" text, "hostId" text, "service" text, "quantity" numeric,
            "unitPrice" text, "costNanos" int8, "metadata" jsonb, "source" text)) WITH ORDINALITY
        AS t(id, recorded_at, customer_id, user_id, host_id, service, quantity, unit_price, cost_nanos, metadata, source, ord)
      WHERE NOT (ord - 1 = ANY(${[...skip]}::int[]))
    ), ins AS (
      INSERT INTO usage_records (id, recorded_at, customer_id, user_id, host_id, service, quantity, unit_price, cost_nanos, metadata, source, received_at)
      -- numeric from jsonb is the number as sent; 6 decimals, as the agents keep (quantity.ts).
      SELECT id, recorded_at, customer_id, user_id, host_id, service, round(quantity, 6), unit_price, cost_nanos, metadata::text, source, ${now}::int8 FROM input
      ON CONFLICT (id) DO NOTHING
      RETURNING recorded_at, customer_id, service, quantity, cost_nanos
    ), days AS (
      SELECT recorded_at - recorded_at % 86400000 AS day, * FROM ins
    ), buckets AS (
      SELECT 'hour' AS period, recorded_at - recorded_at % 3600000 AS bucket_start, customer_id, service, quantity, cost_nanos FROM days
      UNION ALL SELECT 'day', day, customer_id, service, quantity, cost_nanos FROM days
      UNION ALL SELECT 'week', day - ((day / 86400000 + 3) % 7) * 86400000, customer_id, service, quantity, cost_nanos FROM days
      UNION ALL SELECT 'month', (extract(epoch FROM date_trunc('month', to_timestamp(day / 1000) AT TIME ZONE 'UTC')) * 1000)::int8,
        customer_id, service, quantity, cost_nanos FROM days
    ), folded AS (
      SELECT period, bucket_start, customer_id, service, count(*) AS n, sum(quantity) AS q, sum(cost_nanos)::int8 AS c,
        min(quantity) AS lo, max(quantity) AS hi
      FROM buckets GROUP BY period, bucket_start, customer_id, service
    ), up AS (
      INSERT INTO rollups (period, bucket_start, customer_id, service, event_count, sum_quantity, sum_cost_nanos, min_quantity, max_quantity)
      -- A fixed order: concurrent agents touching the same rollup rows lock them in the same order.
      SELECT period, bucket_start, customer_id, service, n, q, c, lo, hi FROM folded ORDER BY period, bucket_start, customer_id, service
      ${sql.raw(ADD_TO_ROLLUPS)}
      RETURNING 1
    )
    SELECT (SELECT count(*) FROM ins) AS inserted, (SELECT count(*) FROM up) AS touched`.execute(db);
  return result.rows[0]!.inserted;
}

/** Validates and stores one request's records in the store. */
export async function ingest(
  store: CollectorStore,
  body: { text: string; readonly value: unknown },
  hostId: string,
  now: number,
): Promise<NativeReply> {
  // The agents' own form, every record good: stored without parsing it into objects (pg-scan.ts).
  const parsed = () => ({ text: body.text, records: (body.value as { records: unknown[] }).records, skip: [] });
  const wire = store.storeWire ? await store.storeWire(body.text, parsed, hostId, now) : null;
  if (wire) return { inserted: wire.inserted, duplicates: wire.count - wire.inserted, rejected: [] };
  const { count, rejected } = readBatch(body.value, hostId);
  const good = count - rejected.length;
  if (good === 0) return { inserted: 0, duplicates: 0, rejected };
  const records = (body.value as { records: unknown[] }).records;
  const inserted = await store.store({ text: body.text, records, skip: rejected.map((r) => r.index) }, hostId, now);
  return { inserted, duplicates: good - inserted, rejected };
}
