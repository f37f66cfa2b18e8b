// Whether a month's statement is still open (and when its grace period closes it) or closed and
// frozen; late events for a closed month appear as adjustment lines on the next open statement.
import type { BillingStatement } from '../../../analytics/closing-types';

const day = (iso: string) => new Date(iso).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short', timeZone: 'UTC' });

function stateText(s: Pick<BillingStatement, 'state' | 'closesAt' | 'closedAt' | 'awaitingUsage'>): string {
  if (s.state === 'closed' && s.closedAt)
    return `Closed ${day(s.closedAt)} UTC: this statement is frozen; later changes to the month bill as adjustments on the next open statement.`;
  // Statements frozen before the field existed lack it: undefined reads as false.
  if (s.awaitingUsage)
    return 'Open: no usage for this month or before it yet, so history imported now lands in it; it closes once usage for it is stored.';
  return `Open: closes ${day(s.closesAt)} UTC, at the end of the grace period (billing.graceDays).`;
}

export function StatementState({ s }: { s: Pick<BillingStatement, 'state' | 'closesAt' | 'closedAt' | 'awaitingUsage' | 'adjustments'> }) {
  return (
    <p className="muted" data-testid="statement-state" data-state={s.state}>
      {stateText(s)}
      {s.adjustments.length > 0
        ? ` Includes ${s.adjustments.length} adjustment line${s.adjustments.length === 1 ? '' : 's'} for closed months.`
        : ''}
    </p>
  );
}
