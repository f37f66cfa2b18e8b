// Service layer for corrections (void, amend, the audit trail) and closing months. A month whose
// grace period ended is frozen before a correction lands, so a correction of a closed month
// becomes an adjustment on the next open statement instead of changing a frozen one.
import { closeDueMonths, closeMonth, monthKey, type BillingClock } from '../analytics/closing';
import type { CorrectionEntry, CorrectionResult, correctionArgs, SyncCorrectionEntry } from '../core/api/corrections';
import { formatNanos } from '../core/money';
import { toIso } from '../core/time';
import {
  amendRecord,
  listCorrections,
  listSyncCorrections,
  markSyncCorrectionDone,
  voidRecord,
  type CorrectionResult as Stored,
  type CorrectionRow,
  type SyncCorrectionRow,
} from '../storage/corrections';
import { getClosedStatement } from '../storage/repos/statements';
import { findTarget } from '../sync/targets';
import type { AgentContext } from './context';
import type { Implementation } from './handlers';

export function billingClock(ctx: AgentContext): BillingClock {
  return { now: ctx.now(), graceDays: ctx.config.billing.graceDays, currency: ctx.config.currency, timezone: ctx.config.timezone };
}

export function correctionHandlers(ctx: AgentContext): Implementation<keyof typeof correctionArgs> {
  const db = ctx.tdb.db;
  const reply = async (r: Stored): Promise<CorrectionResult> => {
    let lateFor: string | null = null;
    for (const m of r.months) if (lateFor === null && (await getClosedStatement(db, monthKey(m)))) lateFor = monthKey(m);
    const { months: _months, ...rest } = r;
    return { ...rest, deltaCost: formatNanos(r.deltaCostNanos), lateFor };
  };
  return {
    'events.void': async ({ id, reason, by }) => {
      await closeDueMonths(db, billingClock(ctx));
      return reply(await voidRecord(ctx.writer, { id, reason, actor: by ?? 'admin' }));
    },
    'events.amend': async ({ id, reason, by, quantity, metadata, recordedAt }) => {
      await closeDueMonths(db, billingClock(ctx));
      return reply(await amendRecord(ctx.writer, { id, reason, actor: by ?? 'admin', quantity, metadata, recordedAt }));
    },
    'corrections.list': async ({ id, limit }) => (await listCorrections(db, { id, limit })).map(entry),
    'sync.corrections.list': async ({ target, all, limit }) => {
      if (target !== undefined) findTarget(ctx.config, ctx.tdb.sqlite, target); // an unknown name is a mistake, not "nothing waits"
      return (await listSyncCorrections(db, { target, all, limit })).map(syncEntry);
    },
    'sync.corrections.done': async ({ target, seq }) => {
      await markSyncCorrectionDone(db, target, seq, ctx.now());
      return (await listSyncCorrections(db, { target, limit: 100 })).map(syncEntry);
    },
    'statement.close': async ({ month, by }) => {
      const clock = billingClock(ctx);
      await ctx.writer.flush(); // what was acknowledged before the close belongs to the month
      await closeDueMonths(db, clock);
      return closeMonth(db, month, clock, by ?? 'admin');
    },
  };
}

function entry(c: CorrectionRow): CorrectionEntry {
  return {
    seq: c.seq,
    kind: c.kind,
    id: c.recordId,
    newId: c.newId,
    customer: c.customerId,
    service: c.service,
    recordedAt: toIso(c.recordedAt),
    quantity: c.quantity,
    cost: formatNanos(c.costNanos),
    deltaCost: formatNanos(c.deltaCostNanos),
    reason: c.reason,
    by: c.actor,
    at: toIso(c.at),
  };
}

function syncEntry(c: SyncCorrectionRow): SyncCorrectionEntry {
  return { ...entry(c), target: c.target, state: c.state, note: c.note, amount: formatNanos(c.costNanos), settledAt: toIso(c.settledAt) };
}
