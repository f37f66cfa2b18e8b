// Service layer for prepaid credits: grants, the balance, voids and balance alerts.
import type { CreditGrantView } from '../core/api/credits';
import type { CreditGrant } from '../core/credits';
import { formatNanos } from '../core/money';
import { creditBalance } from '../analytics/credits';
import { billedChargeOf } from '../analytics/closing';
import { checkBalanceAlerts } from '../quotas/balance';
import { grantCredit, listGrants, voidGrant } from '../storage/repos/credits';
import { parseDateArg } from '../core/period';
import type { AgentContext } from './context';
import type { Implementation } from './handlers';

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

export function grantView(g: CreditGrant): CreditGrantView {
  return {
    id: g.id,
    customerId: g.customerId,
    amount: formatNanos(g.amountNanos),
    priority: g.priority,
    effectiveAt: iso(g.effectiveAt)!,
    expiresAt: iso(g.expiresAt),
    note: g.note,
    createdAt: iso(g.createdAt)!,
    voidedAt: iso(g.voidedAt),
    voidReason: g.voidReason,
  };
}

type CreditsCall = 'credits.grant' | 'credits.list' | 'credits.balance' | 'credits.void' | 'credits.check';

export function creditsHandlers(ctx: AgentContext): Implementation<CreditsCall> {
  return {
    'credits.grant': async ({ customerId, amount, priority, effectiveAt, expiresAt, note }) => {
      const now = ctx.now();
      const g = await grantCredit(
        ctx.tdb.db,
        {
          customerId,
          amount,
          priority,
          effectiveAt: effectiveAt === undefined ? now : parseDateArg('effectiveAt', effectiveAt),
          expiresAt: expiresAt === undefined ? null : parseDateArg('expiresAt', expiresAt),
          note: note ?? null,
        },
        now,
      );
      return grantView(g);
    },
    'credits.list': async ({ customerId }) => (await listGrants(ctx.tdb.db, { customerId })).map(grantView),
    'credits.balance': ({ customerId }) =>
      creditBalance(ctx.tdb.db, customerId, ctx.now(), billedChargeOf(ctx.tdb.db, ctx.config.timezone)),
    'credits.void': async ({ id, reason }) => grantView(await voidGrant(ctx.tdb.db, id, reason, ctx.now())),
    'credits.check': async ({ customerId, thresholds }) => {
      const result = await checkBalanceAlerts(ctx.tdb.db, {
        now: ctx.now(),
        customerId,
        thresholds: thresholds ?? ctx.config.credits?.balanceAlerts,
        timezone: ctx.config.timezone,
      });
      for (const a of result.alerts) ctx.events.emit('alerts.new', a);
      return result;
    },
  };
}
