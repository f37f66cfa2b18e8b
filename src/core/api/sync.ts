// API contract: sync targets, their status, and the records endpoints refused.
// Tokens go in (sync.targets.set) and never come back out: views carry `tokenSet` only.
import type { RejectedRecord } from '../sync/outbox';
import { z } from 'zod';
import { targetInputSchema, type TargetView } from '../sync/targets';

export interface SyncTargetStatus {
  readonly name: string;
  readonly kind: TargetView['kind'];
  readonly url: string;
  readonly enabled: boolean;
  readonly origin: 'config' | 'settings';
  readonly ackedSeq: number;
  /** Records not yet delivered to this target. */
  readonly pending: number;
  /** ISO time of the oldest of them. */
  readonly oldestUnsent: string | null;
  readonly lastSuccess: string | null;
  readonly lastError: string | null;
  readonly nextAttempt: string | null;
  /** Why the target is stopped (credentials refused), or null while it runs. */
  readonly stopped: string | null;
  /** Records refused or held for review. */
  readonly rejected: number;
  /** Vendor windows about to be missed (Stripe: 35 days, ~24 h dedup). */
  readonly warnings: readonly string[];
}

export interface SyncPassResult {
  readonly target: string;
  readonly status: 'idle' | 'waiting' | 'stopped' | 'disabled';
  readonly delivered: number;
  readonly rejected: number;
  readonly until?: number;
  readonly error?: string;
}

const targetName = z.string().min(1).max(64);

export const syncArgs = {
  'sync.status': z.strictObject({}),
  'sync.targets.list': z.strictObject({}),
  /** Adds or replaces a target; omit `token` to keep the stored one. */
  // z.lazy: the target's schema is built when a call parses it, not when this module loads.
  'sync.targets.set': z.strictObject({ target: z.lazy(targetInputSchema) }),
  'sync.targets.remove': z.strictObject({ name: targetName }),
  'sync.rejected.list': z.strictObject({ target: targetName.optional(), limit: z.number().int().min(1).max(10_000).optional() }),
  'sync.retryRejected': z.strictObject({ target: targetName }),
  /** Runs a pass now (ignoring backoff), returns when it ends or after `waitSeconds` (default 30). */
  'sync.now': z.strictObject({ target: targetName.optional(), waitSeconds: z.number().min(0).max(600).optional() }),
};

export interface SyncReplies {
  'sync.status': SyncTargetStatus[];
  'sync.targets.list': TargetView[];
  'sync.targets.set': TargetView[];
  'sync.targets.remove': TargetView[];
  'sync.rejected.list': RejectedRecord[];
  'sync.retryRejected': { delivered: number; stillRejected: number; error?: string };
  'sync.now': SyncPassResult[];
}

export interface SyncEvents {
  /** After a sync pass that changed something. */
  'sync.status': { targets: SyncTargetStatus[]; at: string };
}
