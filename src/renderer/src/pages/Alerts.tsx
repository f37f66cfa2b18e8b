// Alerts: every quota's level now, and the history of alerts logged (one per level per period).
import { useState } from 'react';
import type { Alert } from '../../../quotas/alerts';
import { useApi, useTransport } from '../api';
import { Page } from '../components/Page';
import { QuotaBar } from '../components/QuotaBar';
import { SortableTable } from '../components/SortableTable';
import { Empty, ErrorState, Loading } from '../components/States';
import { alertTime, formatUsage, wholePercent } from '../format';
import { ALERT_EVENTS } from './overview-extras';

export function Alerts() {
  const { client } = useTransport();
  const [current, reloadCurrent] = useApi('alerts.current', {}, ALERT_EVENTS);
  const [history, reloadHistory] = useApi('alerts.list', { days: 90 }, ALERT_EVENTS);
  const [checking, setChecking] = useState(false);
  const [checkError, setCheckError] = useState<string | null>(null);
  const check = async () => {
    setChecking(true);
    const reply = await client.call('alerts.check', {});
    setChecking(false);
    setCheckError(reply.ok ? null : reply.error.message);
    reloadCurrent();
    reloadHistory();
  };
  const tools = (
    <button type="button" onClick={check} disabled={checking}>
      {checking ? 'Checking…' : 'Check now'}
    </button>
  );
  return (
    <Page title="Alerts" testId="alerts" tools={tools}>
      {checkError ? (
        <p className="field-error" role="alert">
          {checkError}
        </p>
      ) : null}
      <section className="panel" aria-labelledby="alerts-current">
        <h2 id="alerts-current">Current levels</h2>
        {current.status === 'loading' ? <Loading /> : null}
        {current.status === 'error' ? <ErrorState error={current.error} onRetry={reloadCurrent} /> : null}
        {current.status === 'ok' && current.data.length === 0 ? (
          <Empty title="No quotas set">
            Set a quota in <a href="#/settings">Settings</a> to be warned at 75 %, 90 % and 100 %.
          </Empty>
        ) : null}
        {current.status === 'ok' && current.data.length > 0 ? (
          <ul className="quota-list" data-testid="current-levels">
            {current.data.map((q) => (
              <li key={`${q.customerId}-${q.service}-${q.period}`}>
                <strong>
                  {q.service} · {q.period === 'day' ? 'today' : 'this month'}
                </strong>
                <span className="muted"> ({q.customerId})</span>
                <QuotaBar status={q} />
              </li>
            ))}
          </ul>
        ) : null}
      </section>
      <section className="panel" aria-labelledby="alerts-history">
        <h2 id="alerts-history">History · last 90 days</h2>
        {history.status === 'loading' ? <Loading /> : null}
        {history.status === 'error' ? <ErrorState error={history.error} onRetry={reloadHistory} /> : null}
        {history.status === 'ok' && history.data.length === 0 ? <Empty title="No alerts yet" /> : null}
        {history.status === 'ok' && history.data.length > 0 ? (
          <SortableTable<Alert>
            caption="Alert history"
            testId="alerts-history"
            rows={history.data}
            rowKey={(a) => String(a.id)}
            initialSort={{ key: 'time', desc: true }}
            columns={[
              { key: 'time', label: 'When', value: (a) => a.createdAt, render: (a) => alertTime(a.createdAt) },
              {
                key: 'level',
                label: 'Level',
                value: (a) => a.level,
                render: (a) => <span className={`badge level-${a.level === 'forecast' ? 'warning' : a.level}`}>{a.level}</span>,
              },
              { key: 'service', label: 'Service', value: (a) => a.service },
              { key: 'period', label: 'Period', value: (a) => `${a.period} ${a.periodStart.slice(0, 10)}` },
              {
                key: 'percent',
                label: 'Used',
                value: (a) => a.percent,
                render: (a) => `${wholePercent(a.percent)} · ${formatUsage(a.usage)} / ${formatUsage(a.limit)} ${a.unit}`,
                numeric: true,
              },
              { key: 'message', label: 'Message', value: (a) => a.message },
            ]}
          />
        ) : null}
      </section>
    </Page>
  );
}
