// The sync worker's view of a database: records after a cursor, a state row per target, and the
// records an endpoint refused. The agent implements it over SQLite, the collector over PostgreSQL.
import type { SyncRecord } from './types';

/** A sync_state row as both outboxes store it (SQLite in the agent, PostgreSQL in the collector). */
export interface TargetStateRow {
  readonly acked_seq: number;
  readonly last_success: number | null;
  readonly last_error: string | null;
  readonly next_attempt: number | null;
  readonly attempts: number;
  readonly stopped: string | null;
  readonly unknown_since: number | null;
  readonly unknown_to_seq: number | null;
}

/** A target's state from its row; a target with no row yet starts at the beginning. */
export function rowToTargetState(target: string, row: TargetStateRow | undefined): TargetState {
  return {
    target,
    ackedSeq: row?.acked_seq ?? 0,
    lastSuccess: row?.last_success ?? null,
    lastError: row?.last_error ?? null,
    nextAttempt: row?.next_attempt ?? null,
    attempts: row?.attempts ?? 0,
    stopped: row?.stopped ?? null,
    unknownSince: row?.unknown_since ?? null,
    unknownToSeq: row?.unknown_to_seq ?? null,
  };
}

export interface TargetState {
  readonly target: string;
  /** Every record with seq ≤ ackedSeq is delivered (or rejected and kept aside). */
  readonly ackedSeq: number;
  readonly lastSuccess: number | null;
  readonly lastError: string | null;
  readonly nextAttempt: number | null;
  /** Consecutive failures. */
  readonly attempts: number;
  /** Why the target was stopped (credentials refused); null while it runs. */
  readonly stopped: string | null;
  /** When the first send of records up to unknownToSeq got no clear answer. */
  readonly unknownSince: number | null;
  readonly unknownToSeq: number | null;
}

export type RejectionKind = 'rejected' | 'review';

export interface RejectedRecord {
  readonly target: string;
  readonly seq: number;
  readonly id: string;
  readonly kind: RejectionKind;
  readonly reason: string;
  readonly at: number;
}

export interface NewRejection {
  readonly seq: number;
  readonly id: string;
  readonly kind: RejectionKind;
  readonly reason: string;
}

export type StatePatch = Partial<Omit<TargetState, 'target' | 'ackedSeq'>>;

export interface Outbox {
  state(target: string): Promise<TargetState>;
  /** Up to `limit` records with seq > afterSeq, in seq order. */
  batch(afterSeq: number, limit: number): Promise<SyncRecord[]>;
  /**
   * As batch, for the Tally native contract: records that may carry `wire`, the record as the
   * request's JSON object, built by the database (see native.ts); optional.
   */
  wireBatch?(afterSeq: number, limit: number): Promise<SyncRecord[]>;
  records(seqs: readonly number[]): Promise<SyncRecord[]>;
  /** In one transaction: keep the rejections, move the cursor to toSeq (never back), apply the patch. */
  ack(target: string, toSeq: number, rejections: readonly NewRejection[], patch: StatePatch, now: number): Promise<void>;
  patch(target: string, patch: StatePatch, now: number): Promise<void>;
  pending(target: string, afterSeq: number): Promise<{ count: number; oldestAt: number | null }>;
  rejected(target: string | null, limit: number): Promise<RejectedRecord[]>;
  rejectedCount(target: string): Promise<number>;
  /** Retried successfully, or re-classified: replaces the rejection rows of these seqs. */
  settleRejections(target: string, delivered: readonly number[], still: readonly NewRejection[], now: number): Promise<void>;
  /** Forgets a target's cursor and rejections (target removed). */
  forget(target: string): Promise<void>;
}
