// How much of a period's usage was estimated: storage gaps billed as a lower bound carry
// `estimated: true` in their metadata (collectors/storage.ts). Reports show the share so a reader
// knows which part of a bill was observed and which was inferred. Raw records only: rollups do
// not keep the flag, and estimated records are few (one per path per gap).
import { sql } from 'kysely';
import type { ReadDb } from '../storage/schema';

export interface EstimatedPart {
  /** Records marked estimated in the period. */
  readonly events: number;
  /** Their share of the service's quantity in the period, 0..1 (for display: a ratio, not a sum to bill). */
  readonly share: number;
}

interface Query {
  from: number;
  to: number;
  service: string;
  customerId?: string | undefined;
}

const isEstimated = sql<boolean>`json_extract(metadata, '$.estimated') = 1`;

function inPeriod(db: ReadDb, q: Query) {
  let query = db
    .selectFrom('usage_records')
    .where('recorded_at', '>=', q.from)
    .where('recorded_at', '<', q.to)
    .where('voided_at', 'is', null);
  if (q.customerId) query = query.where('customer_id', '=', q.customerId);
  return query;
}

export async function estimatedPart(db: ReadDb, q: Query): Promise<EstimatedPart | undefined> {
  if (q.service === 'storage') {
    // The partial index usage_records_estimated (migration 0019) holds just these records; SQLite
    // uses it only when the query repeats its terms literally, so the service is not a parameter.
    const marked = await inPeriod(db, q)
      .select(sql<number>`count(*)`.as('events'))
      .where(sql<boolean>`service = 'storage'`)
      .where(isEstimated)
      .executeTakeFirst();
    // None marked (the usual case): the period's other records need not be read.
    if (!marked?.events) return undefined;
  }
  const r = await inPeriod(db, q)
    .select([
      sql<number>`count(*) FILTER (WHERE ${isEstimated})`.as('events'),
      sql<number>`total(quantity) FILTER (WHERE ${isEstimated})`.as('estimated'),
      sql<number>`total(quantity)`.as('all'),
    ])
    .where('service', '=', q.service)
    .executeTakeFirst();
  if (!r || !r.events) return undefined;
  return { events: r.events, share: r.all > 0 ? r.estimated / r.all : 0 };
}
