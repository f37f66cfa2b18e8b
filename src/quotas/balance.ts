// Balance alerts for prepaid credits: when a customer's remaining credit falls to a threshold
// ("25%" of what is granted, or an amount such as "0"), one alert is logged per customer ×
// threshold × granted total (UNIQUE in balance_alerts): checking again never repeats it, and a
// new grant (a new granted total) re-arms every threshold. Alerts take the quota alerts' shape
// so they travel through the same notifications.
import type { Kysely } from 'kysely';
import type { Database } from '../storage/schema';
import { invalid } from '../core/errors';
import { parseThreshold, thresholdNanos, type Threshold } from '../core/credits';
import { formatNanos } from '../core/money';
import { creditBalance, type CreditBalance } from '../analytics/credits';
import { billedChargeOf } from '../analytics/closing';
import { customersWithGrants, logBalanceAlert } from '../storage/repos/credits';
import { monthStart } from '../core/time';
import type { Alert } from './alerts';

export const DEFAULT_BALANCE_THRESHOLDS: readonly string[] = ['25%', '0'];

export function parseThresholds(list: readonly string[], field = 'thresholds'): Threshold[] {
  return list.map((t, i) => {
    try {
      return parseThreshold(t);
    } catch (err) {
      throw invalid(`${field}[${i}]`, `${(err as Error).message} (a percent such as 25% or an amount such as 0)`);
    }
  });
}

/** "CREDIT BALANCE: acme has 12.50 of 50.00 left (threshold 25%)" */
export function balanceMessage(b: CreditBalance, threshold: string): string {
  return `CREDIT BALANCE: ${b.customerId} has ${formatNanos(BigInt(b.remainingNanos), 2)} of ${formatNanos(BigInt(b.grantedNanos), 2)} left (threshold ${threshold})`;
}

export interface BalanceCheck {
  readonly alerts: Alert[];
  readonly balances: CreditBalance[];
}

/** Checks every customer holding grants (or one); logs and returns the alerts that are new. */
export async function checkBalanceAlerts(
  db: Kysely<Database>,
  o: { now: number; thresholds?: readonly string[] | undefined; customerId?: string | undefined; timezone?: string | undefined },
): Promise<BalanceCheck> {
  const thresholds = parseThresholds(o.thresholds ?? DEFAULT_BALANCE_THRESHOLDS);
  const customers = o.customerId !== undefined ? [o.customerId] : await customersWithGrants(db);
  const chargeOf = billedChargeOf(db, o.timezone);
  const alerts: Alert[] = [];
  const balances: CreditBalance[] = [];
  for (const customerId of customers) {
    const b = await creditBalance(db, customerId, o.now, chargeOf);
    balances.push(b);
    const granted = BigInt(b.grantedNanos);
    if (granted === 0n) continue;
    const remaining = BigInt(b.remainingNanos);
    // Every threshold reached is logged once; a balance that jumps past two logs both.
    for (const th of thresholds) {
      if (remaining > thresholdNanos(th, granted)) continue;
      const message = balanceMessage(b, th.text);
      const logged = await logBalanceAlert(db, {
        customerId,
        threshold: th.text,
        grantedNanos: granted,
        balanceNanos: remaining,
        message,
        createdAt: o.now,
      });
      if (logged !== null) alerts.push(toAlert(-logged, b, th.text, message, o.now));
    }
  }
  return { alerts, balances };
}

/**
 * A balance alert as hooks and the alert stream carry it. Its id is its balance_alerts row's,
 * negated: quota alerts number from 1 in alert_log, and a hook's Tally-Delivery id must not
 * repeat across the two (receivers drop a delivery id they have seen).
 */
function toAlert(id: number, b: CreditBalance, threshold: string, message: string, now: number): Alert {
  const granted = Number(BigInt(b.grantedNanos)) / 1e9;
  const remaining = Number(BigInt(b.remainingNanos)) / 1e9;
  return {
    id,
    customerId: b.customerId,
    service: 'credits',
    period: 'month',
    periodStart: new Date(monthStart(now)).toISOString(),
    level: BigInt(b.remainingNanos) === 0n ? 'exceeded' : 'warning',
    percent: granted === 0 ? 0 : Math.floor(((granted - remaining) / granted) * 100),
    usage: granted - remaining,
    limit: granted,
    unit: `credit (threshold ${threshold})`,
    message,
    createdAt: new Date(now).toISOString(),
  };
}

/** After a flush: balance alerts for the touched customers that hold grants. */
export async function balanceAlertsFor(
  db: Kysely<Database>,
  now: number,
  customerIds: Iterable<string>,
  thresholds: readonly string[] = DEFAULT_BALANCE_THRESHOLDS,
  timezone?: string,
): Promise<Alert[]> {
  const holders = new Set(await customersWithGrants(db));
  const alerts: Alert[] = [];
  for (const customerId of new Set(customerIds)) {
    if (holders.has(customerId)) alerts.push(...(await checkBalanceAlerts(db, { now, customerId, thresholds, timezone })).alerts);
  }
  return alerts;
}
