// The shapes of closed-month statements, apart from the code that makes them (closing.ts), so
// the API contract and the renderer can name them without pulling storage code into their graph.
import type { Statement } from './statement';

export interface AdjustmentLine {
  /** The closed month the change belongs to (YYYY-MM). */
  readonly forMonth: string;
  readonly customerId: string;
  readonly service: string;
  /** Changes against what was billed for that month: events, exact base quantity, display usage, cost. */
  readonly events: number;
  readonly quantity: string;
  /** The quantity change in exact stored units (core/quantity.ts), as text. */
  readonly quantityUnits: string;
  readonly usage: number;
  readonly unit: string;
  readonly cost: string;
  readonly costNanos: number;
  /** "adjustment for 2026-10: +1 234 requests, +0.12" */
  readonly description: string;
}

export type BillingStatement = Statement & {
  readonly state: 'open' | 'closed';
  /** When the month closes (or closed) by the grace period. */
  readonly closesAt: string;
  readonly closedAt: string | null;
  /**
   * Past its grace period but open: a month before the first month with usage (history imported
   * later lands in it); it closes with the first write after usage for it is stored.
   */
  readonly awaitingUsage: boolean;
  readonly adjustments: readonly AdjustmentLine[];
  readonly adjustmentsTotal: string;
  /** total + adjustmentsTotal, exact. */
  readonly billTotal: string;
};

export interface CloseResult {
  readonly month: string;
  readonly closedAt: string;
  readonly closedBy: string;
  readonly sha256: string;
  readonly billTotal: string;
  /** False when the month was already closed (closing is idempotent). */
  readonly closedNow: boolean;
}

/** What arrived for a closed month after it closed: shown beside its usage, billed as adjustments. */
export interface LateMark {
  readonly month: string;
  readonly closedAt: string;
  /** Live events stored after the month closed (late events and amends' replacements). */
  readonly events: number;
  readonly cost: string;
  /** Voids and amends of the month's events made after it closed. */
  readonly corrections: number;
}
