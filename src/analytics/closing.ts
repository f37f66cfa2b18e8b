// Closed months. A month closes `billing.graceDays` days after it ends (or by hand): its
// statement is frozen as JSON with a content hash and is printed from the frozen text forever.
// What changes a closed month later (a late event, a void, an amend) still lands in its
// rollups and reports, and is billed as an adjustment line on the first open statement after
// it: the month's live figures minus what was billed for it (the frozen basis plus adjustments
// that later closed statements already carried).
import type { Kysely } from 'kysely';
import { invalid } from '../core/errors';
import { formatMoney, formatNanos, parseDecimalToNanos, toNanos } from '../core/money';
import { decimalsOf, formatUnits, unitsToNumber } from '../core/quantity';
import { toDisplay } from '../core/services';
import { monthStart, nextMonthStart, toIso } from '../core/time';
import type { Database } from '../storage/schema';
import {
  currentSeqs,
  firstUsageMonth,
  getClosedStatement,
  insertClosedStatement,
  listClosedStatements,
  monthFigures,
  type ClosedStatement,
  type MonthFigure,
} from '../storage/repos/statements';
import { roundDisplay, serviceMap } from './common';
import type { AdjustmentLine, BillingStatement, CloseResult, LateMark } from './closing-types';
import { monthStatement, type Statement } from './statement';
import { describeCredits, statementCredits, type ChargeOf } from './credits';
import { zonedSums } from './zoned';

export type { AdjustmentLine, BillingStatement, CloseResult, LateMark };

const DAY = 86_400_000;

export interface BillingClock {
  readonly now: number;
  readonly graceDays: number;
  /** ISO 4217 code for the adjustment lines' text (default USD). */
  readonly currency?: string | undefined;
  /** The installation's zone: customers without one of their own are billed for its local month. */
  readonly timezone?: string | undefined;
}

export function parseMonth(month: string): number {
  const m = /^(\d{4})-(\d{2})$/.exec(month ?? '');
  if (!m || Number(m[2]) < 1 || Number(m[2]) > 12) throw invalid('month', `"${month}" must be YYYY-MM`);
  return Date.UTC(Number(m[1]), Number(m[2]) - 1, 1);
}

export function monthKey(start: number): string {
  return toIso(start).slice(0, 7);
}

export function closesAt(start: number, graceDays: number): number {
  return nextMonthStart(start) + graceDays * DAY;
}

/** The statement of a month: the frozen one when closed, else computed now (with adjustments when it is the first open month). */
export async function billingStatement(
  db: Kysely<Database>,
  q: { month: string; customerId?: string | undefined },
  clock: BillingClock,
): Promise<BillingStatement> {
  const start = parseMonth(q.month);
  const closed = await getClosedStatement(db, q.month);
  const whole = closed ? (JSON.parse(closed.body) as BillingStatement) : await liveStatement(db, start, clock);
  return q.customerId === undefined ? whole : scoped(whole, q.customerId);
}

async function liveStatement(db: Kysely<Database>, start: number, clock: BillingClock, closedAt?: number): Promise<BillingStatement> {
  const month = monthKey(start);
  // Credits are drawn here, against what each month billed (billedChargeOf), adjustments included.
  const base = await monthStatement(db, { month, timezone: clock.timezone });
  // Past its closing time a month closeDueMonths freezes is closed even before the next write
  // freezes it: the frozen text is then this very statement, so printing it before and after is
  // byte-identical. A month before the first month with usage is not frozen (history imported
  // into a new database lands in its own month): open until usage for it arrives. History then
  // has a grace period of its own (historyHold), and the month stays open until it ends.
  const closeTime = await closingTime(db, start, clock);
  const due = clock.now >= closeTime;
  const closedAtMs = closedAt ?? (due && (await closesByGrace(db, start)) ? closeTime : null);
  const adjustments = await adjustmentsFor(db, start, clock.currency ?? 'USD');
  const adjustmentsNanos = adjustments.reduce((s, a) => s + BigInt(a.costNanos), 0n);
  const credits = await creditsWithAdjustments(db, start, base, adjustments, clock);
  return {
    ...base,
    ...credits,
    state: closedAtMs === null ? 'open' : 'closed',
    closesAt: toIso(closeTime),
    closedAt: closedAtMs === null ? null : toIso(closedAtMs),
    awaitingUsage: due && closedAtMs === null,
    adjustments,
    adjustmentsTotal: formatNanos(adjustmentsNanos),
    billTotal: formatNanos(BigInt(base.totalNanos) + adjustmentsNanos),
    // What is left to pay: the month's total and its adjustments, less the credits drawn.
    amountDue: formatNanos(BigInt(credits.amountDueNanos) + adjustmentsNanos),
    amountDueNanos: (BigInt(credits.amountDueNanos) + adjustmentsNanos).toString(),
  };
}

/**
 * Credits drawn against each customer's total and its adjustment lines (a late event is billed,
 * and covered, like any other charge): the credits part of the statement, amountDue without the
 * adjustments (the caller adds them).
 */
async function creditsWithAdjustments(
  db: Kysely<Database>,
  start: number,
  base: Statement,
  adjustments: readonly AdjustmentLine[],
  clock: BillingClock,
): Promise<Pick<Statement, 'credits' | 'creditsApplied' | 'amountDue' | 'amountDueNanos'>> {
  const charges = new Map(base.customers.map((c) => [c.customerId, toNanos(c.total)]));
  for (const a of adjustments) charges.set(a.customerId, (charges.get(a.customerId) ?? 0n) + BigInt(a.costNanos));
  const customerId = base.customerId ?? undefined;
  const drawn = await statementCredits(db, start, customerId, charges, billedChargeOf(db, clock.timezone));
  const applied = drawn.reduce((s, c) => s + c.appliedNanos, 0n);
  const due = BigInt(base.totalNanos) - applied;
  return {
    credits: drawn.map((c) => describeCredits(c.customerId, c)),
    creditsApplied: formatNanos(applied),
    amountDue: formatNanos(due),
    amountDueNanos: due.toString(),
  };
}

/**
 * What a customer's statement of a month charged before credits, as grants are drawn against it:
 * a closed month's from its frozen text (its total and adjustment lines: a later void is an
 * adjustment on a later statement, never a second refund through re-drawn credits); an open
 * month's live total and adjustments.
 */
export function billedChargeOf(db: Kysely<Database>, timezone?: string): ChargeOf {
  // Per month, for every customer asked about: the frozen statement, or an open month's adjustments.
  const frozen = new Map<number, Promise<BillingStatement | null>>();
  const adjustmentsOf = new Map<number, Promise<AdjustmentLine[]>>();
  const once = <T>(cache: Map<number, Promise<T>>, month: number, load: () => Promise<T>): Promise<T> => {
    let p = cache.get(month);
    if (p === undefined) cache.set(month, (p = load()));
    return p;
  };
  return async (customerId, monthStartMs) => {
    const closed = await once(frozen, monthStartMs, async () => {
      const c = await getClosedStatement(db, monthKey(monthStartMs));
      return c ? (JSON.parse(c.body) as BillingStatement) : null;
    });
    const customers = closed?.customers ?? (await monthStatement(db, { month: monthKey(monthStartMs), customerId, timezone })).customers;
    const adjustments = closed?.adjustments ?? (await once(adjustmentsOf, monthStartMs, () => adjustmentsFor(db, monthStartMs, 'USD')));
    const total = customers.find((c) => c.customerId === customerId)?.total ?? '0';
    const adjusted = adjustments.filter((a) => a.customerId === customerId).reduce((n, a) => n + BigInt(a.costNanos), 0n);
    return toNanos(total) + adjusted;
  };
}

/** One customer's part of a statement (the frozen one included): its lines, adjustments and totals. */
function scoped(s: BillingStatement, customerId: string): BillingStatement {
  const lines = s.lines.filter((l) => l.customerId === customerId);
  const adjustments = s.adjustments.filter((a) => a.customerId === customerId);
  const total = lines.reduce((t, l) => t + BigInt(l.lineTotalNanos), 0n);
  const adj = adjustments.reduce((t, a) => t + BigInt(a.costNanos), 0n);
  return {
    ...s,
    customerId,
    lines,
    customers: s.customers.filter((c) => c.customerId === customerId),
    total: formatNanos(total),
    totalNanos: total.toString(),
    adjustments,
    adjustmentsTotal: formatNanos(adj),
    billTotal: formatNanos(total + adj),
    ...scopedCredits(s, customerId, total + adj),
  };
}

/** The customer's own prepaid credits and amount due (statements frozen before credits had none). */
function scopedCredits(
  s: BillingStatement,
  customerId: string,
  /** The customer's total with its adjustments. */
  total: bigint,
): Pick<BillingStatement, 'credits' | 'creditsApplied' | 'amountDue' | 'amountDueNanos' | 'timezones'> {
  const credits = (s.credits ?? []).filter((c) => c.customerId === customerId);
  const applied = credits.reduce((t, c) => t + BigInt(parseDecimalToNanos(c.creditsApplied)), 0n);
  return {
    credits,
    creditsApplied: formatNanos(applied),
    amountDue: formatNanos(total - applied),
    amountDueNanos: (total - applied).toString(),
    timezones: (s.timezones ?? []).filter((z) => z.customerId === customerId),
  };
}

/**
 * Adjustment lines for the statement of `start`: for each closed month right before it (a
 * contiguous run of closed months ending the month before), live figures minus billed ones.
 */
async function adjustmentsFor(db: Kysely<Database>, start: number, currency: string): Promise<AdjustmentLine[]> {
  const closed = await listClosedStatements(db);
  const byMonth = new Map(closed.map((c) => [c.monthStart, c]));
  const run: ClosedStatement[] = [];
  for (let m = monthStart(start - 1); byMonth.has(m); m = monthStart(m - 1)) run.unshift(byMonth.get(m)!);
  if (run.length === 0) return [];
  const services = await serviceMap(db);
  const out: AdjustmentLine[] = [];
  for (const c of run) {
    const billed = billedFor(c, closed);
    for (const live of await billedWindowFigures(db, c.monthStart, (JSON.parse(c.body) as BillingStatement).timezones ?? [])) {
      const key = `${live.customerId}\u0000${live.service}`;
      const b = billed.get(key);
      billed.delete(key);
      out.push(...adjustment(c.month, live, b, services, currency));
    }
    // Billed but now gone entirely (every event voided).
    for (const b of billed.values()) out.push(...adjustment(c.month, { ...b, events: 0, units: '0', costNanos: 0 }, b, services, currency));
  }
  return out;
}

/**
 * A month's figures per customer × service, each customer over the window its statement bills:
 * its local month when `zones` lists it (the statement's own list), else the UTC month rollup.
 * The basis frozen at close and the live figures later use the same windows, so a late event is
 * billed once, in the month its customer's statement covers.
 */
async function billedWindowFigures(db: Kysely<Database>, start: number, zones: BillingStatement['timezones']): Promise<MonthFigure[]> {
  const zoned = new Map(zones.map((z) => [z.customerId, z]));
  const out = (await monthFigures(db, start)).filter((f) => !zoned.has(f.customerId));
  for (const z of zoned.values()) {
    // The window as billed (it may start where an earlier zone's month ended): summed as it is.
    const window = {
      zone: z.timezone,
      period: 'month' as const,
      from: Date.parse(z.from),
      to: Date.parse(z.to),
      customerId: z.customerId,
      asIs: true,
    };
    for (const s of (await zonedSums(db, window)).sums) {
      out.push({
        customerId: z.customerId,
        service: s.service,
        events: s.events,
        units: s.units.toString(),
        costNanos: Number(s.costNanos),
      });
    }
  }
  return out;
}

/** What was billed for closed month `c`: its basis plus adjustments for it on later closed statements. */
function billedFor(c: ClosedStatement, closed: readonly ClosedStatement[]): Map<string, MonthFigure> {
  const billed = new Map(c.basis.map((f) => [`${f.customerId}\u0000${f.service}`, f]));
  for (const later of closed) {
    if (later.monthStart <= c.monthStart) continue;
    const adjustments = (JSON.parse(later.body) as BillingStatement).adjustments ?? [];
    for (const a of adjustments) {
      if (a.forMonth !== c.month) continue;
      const key = `${a.customerId}\u0000${a.service}`;
      const f = billed.get(key) ?? { customerId: a.customerId, service: a.service, events: 0, units: '0', costNanos: 0 };
      billed.set(key, {
        ...f,
        events: f.events + a.events,
        units: (BigInt(f.units) + BigInt(a.quantityUnits)).toString(),
        costNanos: f.costNanos + a.costNanos,
      });
    }
  }
  return billed;
}

function adjustment(
  forMonth: string,
  live: MonthFigure,
  billed: MonthFigure | undefined,
  services: Awaited<ReturnType<typeof serviceMap>>,
  currency: string,
): AdjustmentLine[] {
  const events = live.events - (billed?.events ?? 0);
  const units = BigInt(live.units) - BigInt(billed?.units ?? '0');
  const cost = live.costNanos - (billed?.costNanos ?? 0);
  if (events === 0 && units === 0n && cost === 0) return [];
  const def = services.get(live.service);
  const decimals = def ? decimalsOf(def) : 0;
  const usage = roundDisplay(def ? toDisplay(def, unitsToNumber(units, decimals)) : unitsToNumber(units, decimals));
  const unit = def?.displayUnit ?? live.service;
  const sign = (n: number | bigint) => (n < 0 ? '' : '+');
  return [
    {
      forMonth,
      customerId: live.customerId,
      service: live.service,
      events,
      quantity: formatUnits(units, decimals),
      quantityUnits: units.toString(),
      usage,
      unit,
      cost: formatNanos(cost),
      costNanos: cost,
      description: `adjustment for ${forMonth}: ${sign(usage)}${grouped(usage)} ${unit}, ${sign(cost)}${formatMoney(cost, currency)}`,
    },
  ];
}

/** 1234.5 → "1 234.5": the statement's quantities, grouped and never abbreviated. */
function grouped(n: number): string {
  return n.toLocaleString('en-US', { maximumFractionDigits: 6 }).replace(/,/g, ' ');
}

/** Freezes a month's statement. Refuses a month that has not ended. */
export async function closeMonth(db: Kysely<Database>, month: string, clock: BillingClock, by: string): Promise<CloseResult> {
  const start = parseMonth(month);
  const existing = await getClosedStatement(db, month);
  if (existing) return closeResult(existing, false);
  if (clock.now < nextMonthStart(start)) throw invalid('month', `${month} has not ended yet; a month closes after its last day`);
  // By grace: when it was due. By hand: now, unless it already showed as closed (due and frozen
  // by the next write anyway), then when it was due, as it showed.
  const closeTime = await closingTime(db, start, clock);
  const showedClosed = clock.now >= closeTime && (await closesByGrace(db, start));
  const closedAt = by === 'grace' || showedClosed ? closeTime : clock.now;
  const s = await liveStatement(db, start, clock, closedAt);
  const stored = await insertClosedStatement(db, {
    month,
    monthStart: start,
    body: JSON.stringify(s),
    basis: await billedWindowFigures(db, start, s.timezones ?? []),
    ...(await currentSeqs(db)),
    closedAt,
    closedBy: by,
  });
  return closeResult(stored ?? (await getClosedStatement(db, month))!, stored !== null);
}

function closeResult(c: ClosedStatement, closedNow: boolean): CloseResult {
  const s = JSON.parse(c.body) as BillingStatement;
  return { month: c.month, closedAt: toIso(c.closedAt), closedBy: c.closedBy, sha256: c.sha256, billTotal: s.billTotal, closedNow };
}

/** True when closeDueMonths freezes `start` once its grace period ends: from the first month with usage on. */
async function closesByGrace(db: Kysely<Database>, start: number): Promise<boolean> {
  const first = await firstUsageMonth(db);
  return first !== null && start >= monthStart(first);
}

const HOLD_KEY = 'history_hold_until';

/**
 * Until when history stored for past months holds their closing (null: none, or ended). A batch
 * that brings usage to a month past its deadline that was never frozen (before the first month
 * with usage: `tally import` of last quarter, `tally demo`) starts it: those months close
 * graceDays later, so the rest of that history lands in them too.
 */
async function historyHold(db: Kysely<Database>, now: number): Promise<number | null> {
  const until = await holdEnd(db);
  return until !== null && until > now ? until : null;
}

/** The end of the last history hold, running or not. */
async function holdEnd(db: Kysely<Database>): Promise<number | null> {
  const row = await db.selectFrom('settings').select('value').where('key', '=', HOLD_KEY).executeTakeFirst();
  const until = row ? Number(row.value) : NaN;
  return Number.isFinite(until) ? until : null;
}

/** When `start` closes by time: its grace deadline, or the end of a history hold that ran past it. */
async function closingTime(db: Kysely<Database>, start: number, clock: BillingClock): Promise<number> {
  const deadline = closesAt(start, clock.graceDays);
  const held = await holdEnd(db);
  return held !== null && held > deadline ? held : deadline;
}

async function startHistoryHold(db: Kysely<Database>, until: number): Promise<void> {
  await db
    .insertInto('settings')
    .values({ key: HOLD_KEY, value: String(until) })
    .onConflict((oc) => oc.column('key').doUpdateSet({ value: String(until) }))
    .execute();
}

/** Per database: the newest due month checked, the first month with usage then, and the history hold. */
const checked = new WeakMap<object, { due: number; first: number | null; hold: number | null }>();

/**
 * Closes every month whose grace period has ended, oldest first, from the first month with
 * usage, unless a history hold runs. Cheap when nothing is due (a comparison or two): the writer
 * calls it before each flush, so a month is frozen before the first late event for it is stored.
 * `earliest` is the earliest record of the batch about to be stored: usage for a due month before
 * the first month with usage is history, and starts (or extends) the hold.
 */
export async function closeDueMonths(db: Kysely<Database>, clock: BillingClock, earliest?: number): Promise<string[]> {
  let due = monthStart(clock.now);
  while (closesAt(due, clock.graceDays) > clock.now) due = monthStart(due - 1);
  let known = checked.get(db);
  const done: string[] = [];
  if (known === undefined || known.due !== due || (known.hold !== null && clock.now >= known.hold)) {
    const f = await firstUsageMonth(db);
    known = { due, first: f === null ? null : monthStart(f), hold: await historyHold(db, clock.now) };
    // A history hold closes nothing until it ends.
    if (known.hold === null && known.first !== null) {
      for (let m = known.first; m <= due; m = nextMonthStart(m)) {
        const r = await closeMonth(db, monthKey(m), clock, 'grace');
        if (r.closedNow) done.push(r.month);
      }
    }
  }
  if (earliest !== undefined && earliest < nextMonthStart(due) && (known.first === null || earliest < known.first)) {
    const until = clock.now + clock.graceDays * DAY;
    await startHistoryHold(db, until);
    known = { due, first: monthStart(earliest), hold: until };
  }
  checked.set(db, known);
  return done;
}

export { lateMarks } from './late';
