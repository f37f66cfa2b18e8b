// The shell: navigation, the live indicator, and the page the hash names.
import { useEffect, useRef, useState } from 'react';
import { useEvent, useTransport } from './api';
import { ErrorBoundary } from './components/ErrorBoundary';
import type { PeriodChoice } from './period';
import { Overview } from './pages/Overview';
import { pages } from './pages/index';
import { periodFromHash, useRoute } from './router';
import { CustomerChoice, CustomerPicker, CustomerScope, pageAllowed, useChosenCustomer, useSession } from './customer';
import { setCurrency } from './format';

const NAV: ReadonlyArray<readonly [string, string]> = [
  ['overview', 'Overview'],
  ['trends', 'Trends'],
  ['peaks', 'Peaks'],
  ['services', 'Services'],
  ['alerts', 'Alerts'],
  ['customers', 'Customers'],
  ['events', 'Events'],
  ['insights', 'Insights'],
  ['export', 'Export'],
  ['statement', 'Statement'],
  ['settings', 'Settings'],
];

export function App() {
  const route = useRoute();
  const [customer, setCustomer] = useChosenCustomer();
  const session = useSession();
  const { kind } = useTransport();
  const [period, setPeriod] = useState<PeriodChoice>(() => periodFromHash(window.location.hash) ?? { kind: 'this-month' });
  const [lastFlush, setLastFlush] = useState<string | null>(null);
  useEvent('records.flushed', (e) => setLastFlush(e.at));
  // A new alert shows at once wherever the user is (the desktop app also raises a notification).
  const [toast, setToast] = useState<{ level: string; message: string } | null>(null);
  useEvent('alerts.new', (a) => setToast({ level: a.level, message: a.message }));
  useEffect(() => {
    if (!toast) return;
    const t = setTimeout(() => setToast(null), 15_000);
    return () => clearTimeout(t);
  }, [toast]);
  // Amounts show in the installation's currency (settings.get); until it arrives, USD.
  const { client } = useTransport();
  const [currency, setShownCurrency] = useState('USD');
  useEffect(() => {
    void client.call('settings.get', {}).then((r) => {
      if (!r.ok) return;
      setCurrency(r.data.currency);
      setShownCurrency(r.data.currency);
    });
  }, [client]);
  const main = useRef<HTMLElement>(null);
  // Moving to another page puts keyboard focus on it, as a page load would.
  useEffect(() => main.current?.focus({ preventScroll: true }), [route.page]);

  const current = route.page === 'service' ? 'services' : route.page;
  const Body = route.page === 'overview' ? null : pages[route.page];
  return (
    <div className="shell">
      <a className="skip" href="#main" onClick={(e) => (e.preventDefault(), main.current?.focus())}>
        Skip to content
      </a>
      <nav className="nav" aria-label="Main">
        <div className="brand">
          <span className="brand-mark" aria-hidden="true" />
          Tally
        </div>
        <ul>
          {NAV.filter(([page]) => pageAllowed(page, session)).map(([page, label]) => (
            <li key={page}>
              <a href={`#/${page}`} aria-current={current === page ? 'page' : undefined}>
                {label}
              </a>
            </li>
          ))}
        </ul>
        <CustomerPicker customer={customer} onChange={setCustomer} session={session} />
        <div className="live" aria-live="polite" data-testid="live">
          <span className="live-dot" aria-hidden="true" />
          {lastFlush ? `Live · updated ${new Date(lastFlush).toLocaleTimeString()}` : kind === 'ipc' ? 'Live · desktop' : 'Live'}
        </div>
      </nav>
      {toast ? (
        <div className={`toast level-${toast.level === 'forecast' ? 'warning' : toast.level}`} role="status" data-testid="toast">
          <span className="badge">{toast.level}</span> {toast.message}{' '}
          <a href="#/alerts" onClick={() => setToast(null)}>
            Alerts
          </a>
          <button type="button" className="secondary" aria-label="Dismiss" onClick={() => setToast(null)}>
            ×
          </button>
        </div>
      ) : null}
      <main id="main" ref={main} tabIndex={-1}>
        <CustomerChoice.Provider value={setCustomer}>
          <CustomerScope customer={session.scope === 'admin' ? customer : null}>
            <ErrorBoundary key={`${route.page}|${currency}`}>
              {Body ? <Body route={route} period={period} onPeriod={setPeriod} /> : <Overview period={period} onPeriod={setPeriod} />}
            </ErrorBoundary>
          </CustomerScope>
        </CustomerChoice.Provider>
      </main>
    </div>
  );
}
