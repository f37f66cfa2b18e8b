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

export async function estimatedPart(
  db: ReadDb,
  q: { from: number; to: number; service: string; customerId?: string | undefined },
): Promise<EstimatedPart | undefined> {
  let query = db
    .selectFrom('usage_records')
    .select([
      sql<number>`count(*) FILTER (WHERE json_extract(metadata, '$.estimated') = 1)`.as('events'),
      sql<number>`total(quantity) FILTER (WHERE json_extract(metadata, '$.estimated') = 1)`.as('estimated'),
      sql<number>`total(quantity)`.as('all'),
    ])
    .where('service', '=', q.service)
    .where('recorded_at', '>=', q.from)
    .where('recorded_at', '<', q.to)
    .where('voided_at', 'is', null);
  if (q.customerId) query = query.where('customer_id', '=', q.customerId);
  const r = await query.executeTakeFirst();
  if (!r || !r.events) return undefined;
  return { events: r.events, share: r.all > 0 ? r.estimated / r.all : 0 };
}
