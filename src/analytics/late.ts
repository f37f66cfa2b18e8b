// Late marks: what arrived for a closed month after it closed. Kept apart from the closing code so
// a usage report loads only this and the statements repository, not the statement builder.
import { formatNanos } from '../core/money';
import { nextMonthStart, toIso } from '../core/time';
import { lateFigures, listClosedStatements } from '../storage/repos/statements';
import type { ReadDb } from '../storage/schema';
import type { LateMark } from './closing-types';

/** Late marks for the closed months a report's range touches. */
export async function lateMarks(
  db: ReadDb,
  q: { from: number; to: number; service?: string | undefined; customerId?: string | undefined },
): Promise<LateMark[]> {
  const out: LateMark[] = [];
  for (const c of await listClosedStatements(db)) {
    const from = Math.max(q.from, c.monthStart);
    const to = Math.min(q.to, nextMonthStart(c.monthStart));
    if (from >= to) continue;
    const late = await lateFigures(db, { ...q, from, to }, c);
    if (late.events > 0 || late.corrections > 0) {
      out.push({
        month: c.month,
        closedAt: toIso(c.closedAt),
        events: late.events,
        cost: formatNanos(late.cost),
        corrections: late.corrections,
      });
    }
  }
  return out;
}
