// The sync worker's view of a database: records after a cursor, a state row per target, and the
// records an endpoint refused. The agent implements it over SQLite, the collector over PostgreSQL.
import type { SyncRecord } from './types';

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
