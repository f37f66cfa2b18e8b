// API contract: prepaid credits. Grants are decimal amounts of the configured currency; dates
// are YYYY-MM-DD or ISO 8601 (UTC). Balances and statements draw grants down by priority (0
// first, default 50), then the earliest expiry, then the oldest grant.
import { z } from 'zod';
import type { CreditBalance } from '../../analytics/credits';
import type { CreditGrant } from '../credits';
import type { Alert } from '../../quotas/alerts';

/** A grant as JSON: amounts as exact decimal text, times as ISO 8601. */
export interface CreditGrantView {
  readonly id: number;
  readonly customerId: string;
  readonly amount: string;
  readonly priority: number;
  readonly effectiveAt: string;
  readonly expiresAt: string | null;
  readonly note: string | null;
  readonly createdAt: string;
  readonly voidedAt: string | null;
  readonly voidReason: string | null;
}

export type { CreditGrant };

const customerId = z.string().min(1).max(128);

export const creditsArgs = {
  'credits.grant': z.strictObject({
    customerId,
    amount: z.string().min(1),
    priority: z.number().int().min(0).max(100).optional(),
    /** Default: now. */
    effectiveAt: z.string().optional(),
    expiresAt: z.string().optional(),
    note: z.string().max(500).optional(),
  }),
  'credits.list': z.strictObject({ customerId: customerId.optional() }),
  'credits.balance': z.strictObject({ customerId }),
  'credits.void': z.strictObject({ id: z.number().int().positive(), reason: z.string().min(1).max(500) }),
  /** Checks every customer's balance against the thresholds (default 25% and 0); new alerts are emitted as 'alerts.new'. */
  'credits.check': z.strictObject({ customerId: customerId.optional(), thresholds: z.array(z.string()).max(10).optional() }),
};

export interface CreditsReplies {
  'credits.grant': CreditGrantView;
  'credits.list': CreditGrantView[];
  'credits.balance': CreditBalance;
  'credits.void': CreditGrantView;
  'credits.check': { alerts: Alert[]; balances: CreditBalance[] };
}
