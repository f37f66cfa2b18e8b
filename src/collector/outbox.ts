// The sync outbox over the collector's PostgreSQL: the same worker that carries an agent's
// records to OpenMeter / Lago / Stripe carries the whole organisation's, with the collector's
// own seq as the cursor.
import { sql, type Kysely } from 'kysely';
import {
  rowToTargetState,
  type NewRejection,
  type Outbox,
  type RejectedRecord,
  type StatePatch,
  type TargetState,
} from '../core/sync/outbox';
import type { SyncRecord } from '../core/sync/types';
import type { CollectorDatabase } from './schema';

const COLUMNS = [
  'seq',
  'id',
  'recorded_at as recordedAt',
  'customer_id as customerId',
  'user_id as userId',
  'host_id as hostId',
  'service',
  'quantity',
  'unit_price as unitPrice',
  'cost_nanos as costNanos',
  'metadata',
  'source',
] as const;

const PATCH: Record<keyof StatePatch, keyof CollectorDatabase['sync_state']> = {
  lastSuccess: 'last_success',
  lastError: 'last_error',
  nextAttempt: 'next_attempt',
  attempts: 'attempts',
  stopped: 'stopped',
  unknownSince: 'unknown_since',
  unknownToSeq: 'unknown_to_seq',
};

export class PgOutbox implements Outbox {
  constructor(private readonly db: Kysely<CollectorDatabase>) {}

  async state(target: string): Promise<TargetState> {
    return rowToTargetState(target, await this.db.selectFrom('sync_state').selectAll().where('target', '=', target).executeTakeFirst());
  }

  async batch(afterSeq: number, limit: number): Promise<SyncRecord[]> {
    return this.db.selectFrom('usage_records').select(COLUMNS).where('seq', '>', afterSeq).orderBy('seq').limit(limit).execute();
  }

  async records(seqs: readonly number[]): Promise<SyncRecord[]> {
    if (seqs.length === 0) return [];
    return this.db
      .selectFrom('usage_records')
      .select(COLUMNS)
      .where('seq', 'in', [...seqs])
      .orderBy('seq')
      .execute();
  }

  private async applyPatch(db: Kysely<CollectorDatabase>, target: string, patch: StatePatch, now: number): Promise<void> {
    await db
      .insertInto('sync_state')
      .values({
        target,
        acked_seq: 0,
        updated_at: now,
        attempts: 0,
        stopped: null,
        unknown_since: null,
        unknown_to_seq: null,
        last_success: null,
        last_error: null,
        next_attempt: null,
      })
      .onConflict((oc) => oc.column('target').doNothing())
      .execute();
    const set: Record<string, unknown> = { updated_at: now };
    for (const [k, v] of Object.entries(patch)) if (v !== undefined) set[PATCH[k as keyof StatePatch]] = v;
    await db.updateTable('sync_state').set(set).where('target', '=', target).execute();
  }

  async ack(target: string, toSeq: number, rejections: readonly NewRejection[], patch: StatePatch, now: number): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      for (const r of rejections) {
        await trx
          .insertInto('sync_rejections')
          .values({ target, seq: r.seq, id: r.id, kind: r.kind, reason: r.reason, at: now })
          .onConflict((oc) => oc.columns(['target', 'seq']).doUpdateSet({ kind: r.kind, reason: r.reason, at: now }))
          .execute();
      }
      await this.applyPatch(trx, target, patch, now);
      await trx
        .updateTable('sync_state')
        .set({ acked_seq: sql`greatest(acked_seq, ${toSeq}::int8)` })
        .where('target', '=', target)
        .execute();
    });
  }

  async patch(target: string, patch: StatePatch, now: number): Promise<void> {
    await this.applyPatch(this.db, target, patch, now);
  }

  async pending(_target: string, afterSeq: number): Promise<{ count: number; oldestAt: number | null }> {
    const r = await this.db
      .selectFrom('usage_records')
      .select([sql<number>`count(*)`.as('count'), sql<number | null>`min(recorded_at)`.as('oldestAt')])
      .where('seq', '>', afterSeq)
      .executeTakeFirstOrThrow();
    return { count: r.count, oldestAt: r.oldestAt };
  }

  async rejected(target: string | null, limit: number): Promise<RejectedRecord[]> {
    let q = this.db.selectFrom('sync_rejections').selectAll().orderBy('target').orderBy('seq').limit(limit);
    if (target !== null) q = q.where('target', '=', target);
    return q.execute();
  }

  async rejectedCount(target: string): Promise<number> {
    const r = await this.db
      .selectFrom('sync_rejections')
      .select(sql<number>`count(*)`.as('n'))
      .where('target', '=', target)
      .executeTakeFirstOrThrow();
    return r.n;
  }

  async settleRejections(target: string, delivered: readonly number[], still: readonly NewRejection[], now: number): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      if (delivered.length)
        await trx
          .deleteFrom('sync_rejections')
          .where('target', '=', target)
          .where('seq', 'in', [...delivered])
          .execute();
      for (const r of still) {
        await trx
          .insertInto('sync_rejections')
          .values({ target, seq: r.seq, id: r.id, kind: r.kind, reason: r.reason, at: now })
          .onConflict((oc) => oc.columns(['target', 'seq']).doUpdateSet({ kind: r.kind, reason: r.reason, at: now }))
          .execute();
      }
    });
  }

  async forget(target: string): Promise<void> {
    await this.db.deleteFrom('sync_state').where('target', '=', target).execute();
    await this.db.deleteFrom('sync_rejections').where('target', '=', target).execute();
  }
}
