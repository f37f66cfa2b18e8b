// Whether a month's statement is still open (and when its grace period closes it) or closed and
// frozen; late events for a closed month appear as adjustment lines on the next open statement.
import type { BillingStatement } from '../../../analytics/closing-types';

const day = (iso: string) => new Date(iso).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short', timeZone: 'UTC' });

export function StatementState({ s }: { s: Pick<BillingStatement, 'state' | 'closesAt' | 'closedAt' | 'adjustments'> }) {
  return (
    <p className="muted" data-testid="statement-state" data-state={s.state}>
      {s.state === 'closed' && s.closedAt
        ? `Closed ${day(s.closedAt)} UTC: this statement is frozen; later changes to the month bill as adjustments on the next open statement.`
        : `Open: closes ${day(s.closesAt)} UTC, at the end of the grace period (billing.graceDays).`}
      {s.adjustments.length > 0
        ? ` Includes ${s.adjustments.length} adjustment line${s.adjustments.length === 1 ? '' : 's'} for closed months.`
        : ''}
    </p>
  );
}
