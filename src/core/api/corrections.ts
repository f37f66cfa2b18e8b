// API contract: corrections (void and amend an event, with an audit trail) and closing a month.
// `by` names who corrects; the HTTP routes and the CLI set it from who is asking (admin token,
// key id, CLI user), so a caller of /v1 cannot claim to be someone else.
import { z } from 'zod';
import type { CloseResult } from '../../analytics/closing-types';
import { monthText } from './args';

/** What a void or amend did. */
export interface CorrectionResult {
  readonly kind: 'void' | 'amend';
  readonly id: string;
  /** The replacement record of an amend. */
  readonly newId: string | null;
  readonly voidedAt: string;
  readonly voidedBy: string;
  readonly reason: string;
  /** True when the record was already voided: nothing changed (voiding is idempotent). */
  readonly alreadyVoided: boolean;
  /** Change of the month's total cost in nanos, re-pricing of later records included. */
  readonly deltaCostNanos: number;
  /** Exact decimal of deltaCostNanos. */
  readonly deltaCost: string;
  /** Later records of the month whose cost changed by re-pricing. */
  readonly repriced: number;
  /** The closed month the correction lands in as an adjustment (YYYY-MM), or null. */
  readonly lateFor: string | null;
}

/** One correction of the audit trail. */
export interface CorrectionEntry {
  readonly seq: number;
  readonly kind: 'void' | 'amend';
  readonly id: string;
  readonly newId: string | null;
  readonly customer: string;
  readonly service: string;
  readonly recordedAt: string;
  /** The original's base quantity and cost (exact decimal). */
  readonly quantity: number;
  readonly cost: string;
  readonly deltaCost: string;
  readonly reason: string;
  readonly by: string;
  readonly at: string;
}

/** A correction as a sync target took it: delivered, or waiting for a person (manual), or done by hand. */
export interface SyncCorrectionEntry extends CorrectionEntry {
  readonly target: string;
  readonly state: 'delivered' | 'manual' | 'done';
  /** Why it needs a manual adjustment at the vendor. */
  readonly note: string;
  /** Exact decimal: what the vendor billed for the original, to take back (an amend's replacement syncs on its own). */
  readonly amount: string;
  readonly settledAt: string;
}

const id = z.string().min(1).max(128);
const reason = z.string().trim().min(1, 'is required: say why').max(500);
const by = z.string().min(1).max(200).optional();

export const correctionArgs = {
  /** Voids an event: kept, marked voided; reports, rollups and statements count it no more. Idempotent. */
  'events.void': z.strictObject({ id, reason, by }),
  /** Voids an event and stores a replacement pointing to it, with the changed fields. */
  'events.amend': z.strictObject({
    id,
    reason,
    by,
    quantity: z.number().nonnegative().optional(),
    metadata: z.record(z.string(), z.unknown()).optional(),
    recordedAt: z.string().optional(),
  }),
  /** The audit trail, newest first. */
  'corrections.list': z.strictObject({
    id: id.optional(),
    limit: z.number().int().min(1).max(1000).default(100),
  }),
  /** Corrections each sync target took; by default those waiting for a manual adjustment at the vendor. */
  'sync.corrections.list': z.strictObject({
    target: z.string().min(1).max(64).optional(),
    all: z.boolean().optional(),
    limit: z.number().int().min(1).max(1000).default(100),
  }),
  /** Marks a manual correction done (adjusted at the vendor by hand). */
  'sync.corrections.done': z.strictObject({ target: z.string().min(1).max(64), seq: z.number().int().positive() }),
  /** Freezes a month that has ended; idempotent. (statement.month prints a closed month from the frozen text.) */
  'statement.close': z.strictObject({ month: monthText, by }),
};

export interface CorrectionReplies {
  'events.void': CorrectionResult;
  'events.amend': CorrectionResult;
  'corrections.list': CorrectionEntry[];
  'statement.close': CloseResult;
  'sync.corrections.list': SyncCorrectionEntry[];
  'sync.corrections.done': SyncCorrectionEntry[];
}
