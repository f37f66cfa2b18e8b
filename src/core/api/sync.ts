// API contract: sync targets, their status, and the records endpoints refused.
// Tokens go in (sync.targets.set) and never come back out: views carry `tokenSet` only.
import type { RejectedRecord } from '../sync/outbox';
import type { TargetInput, TargetView } from '../sync/targets';

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

export interface SyncHandlers {
  'sync.status': (args: Record<string, never>) => SyncTargetStatus[];
  'sync.targets.list': (args: Record<string, never>) => TargetView[];
  /** Adds or replaces a target; omit `token` to keep the stored one. */
  'sync.targets.set': (args: { target: TargetInput }) => TargetView[];
  'sync.targets.remove': (args: { name: string }) => TargetView[];
  'sync.rejected.list': (args: { target?: string; limit?: number }) => RejectedRecord[];
  'sync.retryRejected': (args: { target: string }) => { delivered: number; stillRejected: number; error?: string };
  /** Runs a pass now (ignoring backoff), returns when it ends or after `waitSeconds` (default 30). */
  'sync.now': (args: { target?: string; waitSeconds?: number }) => SyncPassResult[];
}

export interface SyncEvents {
  /** After a sync pass that changed something. */
  'sync.status': { targets: SyncTargetStatus[]; at: string };
}
