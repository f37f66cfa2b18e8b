// The Overview's quota bars, month-end projections and recent alerts.
import { createContext, useContext, useMemo, type ReactNode } from 'react';
import type { Projection } from '../../../analytics/projection';
import type { QuotaStatus } from '../../../quotas/alerts';
import { useApi } from '../api';
import { QuotaBar } from '../components/QuotaBar';
import { ErrorState, Loading } from '../components/States';
import { sumDecimals } from '../decimal';
import { alertTime, formatUsage, money } from '../format';
import { describePeriod, periodArgs, type PeriodChoice } from '../period';

/** Refreshes with new records and new alerts. */
export const ALERT_EVENTS = ['records.flushed', 'alerts.new'] as const;

interface Extras {
  readonly quotas: readonly QuotaStatus[];
  readonly projection: Projection | null;
}

const ExtrasContext = createContext<Extras>({ quotas: [], projection: null });

/** Quotas and projections belong to the current month: shown only when the Overview shows it. */
export function OverviewExtras({ current, children }: { current: boolean; children: ReactNode }) {
  const [quotas] = useApi('alerts.current', current ? {} : null, ALERT_EVENTS);
  const [projection] = useApi('analytics.projection', current ? { period: 'month' } : null);
  const value = useMemo(
    (): Extras => ({
      quotas: current && quotas.status === 'ok' ? quotas.data : [],
      projection: current && projection.status === 'ok' ? projection.data : null,
    }),
    [current, quotas, projection],
  );
  return <ExtrasContext.Provider value={value}>{children}</ExtrasContext.Provider>;
}

export function QuotaSlot({ service }: { service: string }) {
  const { quotas, projection } = useContext(ExtrasContext);
  const mine = quotas.filter((q) => q.service === service);
  const lines = projection?.lines.filter((l) => l.service === service) ?? [];
  // Several customers: their month-end figures add up (cost exactly, from the decimal text).
  const projected = lines.reduce((n, l) => n + l.projected, 0);
  const projectedCost = lines.length ? sumDecimals(lines.map((l) => l.projectedCost)) : null;
  return (
    <>
      {mine.map((q) => (
        <QuotaBar key={`${q.customerId}-${q.period}`} status={q} showProjection={q.period === 'month'} />
      ))}
      {mine.length === 0 && projectedCost !== null ? (
        <div className="quota-text" data-testid="projection">
          <span>
            Month-end ≈ {formatUsage(projected)} {lines[0]!.unit} · {money(projectedCost)}
          </span>
        </div>
      ) : null}
      {mine.length > 0 && projectedCost !== null ? (
        <div className="quota-text" data-testid="projection">
          <span>Month-end cost ≈ {money(projectedCost)}</span>
        </div>
      ) : null}
    </>
  );
}

/** The picked period as instants: [from, to). */
function periodRange(period: PeriodChoice, now = Date.now()): { from: number; to: number } {
  const a = periodArgs(period, now);
  if (a.month) {
    const [y, m] = a.month.split('-').map(Number);
    return { from: Date.UTC(y!, m! - 1, 1), to: Date.UTC(y!, m!, 1) };
  }
  return { from: Date.parse(`${a.from}T00:00:00Z`), to: Date.parse(`${a.to}T00:00:00Z`) + 86_400_000 };
}

/** The alerts of the period the Overview shows (not always the last 30 days). */
export function RecentAlerts({ period }: { period: PeriodChoice }) {
  const range = periodRange(period);
  const days = Math.min(3660, Math.max(1, Math.ceil((Date.now() - range.from) / 86_400_000)));
  const [loaded, reload] = useApi('alerts.list', { days }, ALERT_EVENTS);
  const alerts: typeof loaded =
    loaded.status === 'ok'
      ? { status: 'ok', data: loaded.data.filter((a) => Date.parse(a.createdAt) >= range.from && Date.parse(a.createdAt) < range.to) }
      : loaded;
  return (
    <section className="panel" aria-labelledby="recent-alerts-title" data-testid="recent-alerts">
      <h2 id="recent-alerts-title">Recent alerts</h2>
      {alerts.status === 'loading' ? <Loading /> : null}
      {alerts.status === 'error' ? <ErrorState error={alerts.error} onRetry={reload} /> : null}
      {alerts.status === 'ok' && alerts.data.length === 0 ? (
        <p className="muted">No alerts in {describePeriod(period)}. Set quotas in Settings to be warned before a limit is hit.</p>
      ) : null}
      {alerts.status === 'ok' && alerts.data.length > 0 ? (
        <ul className="alerts-list">
          {alerts.data.slice(0, 6).map((a) => (
            <li key={a.id} className={`level-${a.level === 'forecast' ? 'warning' : a.level}`}>
              <span className="badge">{a.level}</span>
              <span>{a.message}</span>
              <time className="muted" dateTime={a.createdAt}>
                {alertTime(a.createdAt)}
              </time>
            </li>
          ))}
        </ul>
      ) : null}
      <p>
        <a href="#/alerts">All alerts →</a>
      </p>
    </section>
  );
}
