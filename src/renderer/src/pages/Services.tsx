// The service list, and one service's detail: its days, and its breakdown by endpoint,
// interface or function.
import { useMemo } from 'react';
import type { BreakdownRow } from '../../../analytics/aggregate';
import type { DailyLine } from '../../../analytics/usage';
import { useApi } from '../api';
import { Page } from '../components/Page';
import { SortableTable, type Column } from '../components/SortableTable';
import { Empty, ErrorState, Loading } from '../components/States';
import { Money } from '../components/Money';
import { formatCount, formatUsage, unitNote } from '../format';
import { periodArgs, type PeriodChoice } from '../period';
import { PeriodPicker } from '../components/PeriodPicker';
import type { Route } from '../router';

export function Services({ period, onPeriod }: { period: PeriodChoice; onPeriod: (p: PeriodChoice) => void }) {
  const args = useMemo(() => periodArgs(period), [period]);
  const [report, reload] = useApi('report.usage', args);
  return (
    <Page title="Services" testId="services" tools={<PeriodPicker value={period} onChange={onPeriod} />}>
      {report.status === 'loading' ? <Loading /> : null}
      {report.status === 'error' ? <ErrorState error={report.error} onRetry={reload} /> : null}
      {report.status === 'ok' ? (
        <SortableTable
          caption="Usage and cost per service"
          testId="services-table"
          rows={report.data.services}
          rowKey={(r) => r.service}
          initialSort={{ key: 'cost', desc: true }}
          columns={[
            {
              key: 'service',
              label: 'Service',
              value: (r) => r.displayName,
              render: (r) => <a href={`#/service/${encodeURIComponent(r.service)}`}>{r.displayName}</a>,
            },
            { key: 'events', label: 'Events', value: (r) => r.events, render: (r) => formatCount(r.events), numeric: true },
            { key: 'usage', label: 'Usage', value: (r) => r.usage, render: (r) => `${formatUsage(r.usage)} ${r.unit}`, numeric: true },
            { key: 'cost', label: 'Cost', value: (r) => r.costNanos, render: (r) => <Money amount={r.cost} />, numeric: true },
          ]}
        />
      ) : null}
    </Page>
  );
}

export function ServiceDetail({ route, period, onPeriod }: { route: Route; period: PeriodChoice; onPeriod: (p: PeriodChoice) => void }) {
  const service = route.page === 'service' ? route.service : '';
  const range = useMemo(() => periodArgs(period), [period]);
  const [report, reload] = useApi(
    'report.usage',
    useMemo(() => ({ ...range, service, detailed: true }), [range, service]),
  );
  const [breakdown, reloadBreakdown] = useApi(
    'analytics.breakdown',
    useMemo(() => ({ ...range, service }), [range, service]),
  );
  const [stats] = useApi(
    'analytics.stats',
    useMemo(() => ({ ...range, service }), [range, service]),
  );
  const line = report.status === 'ok' ? report.data.services[0] : undefined;
  const unit = line?.unit ?? '';
  const daily: Column<DailyLine>[] = [
    { key: 'day', label: 'Day', value: (r) => r.day },
    { key: 'events', label: 'Events', value: (r) => r.events, render: (r) => formatCount(r.events), numeric: true },
    { key: 'usage', label: `Usage (${unit})`, value: (r) => r.usage, render: (r) => formatUsage(r.usage), numeric: true },
    { key: 'cost', label: 'Cost', value: (r) => r.costNanos, render: (r) => <Money amount={r.cost} />, numeric: true },
  ];
  const keys = breakdown.status === 'ok' ? breakdown.data.keys : [];
  const byKey: Column<BreakdownRow>[] = [
    ...keys.map((k) => ({ key: `k:${k}`, label: k, value: (r: BreakdownRow) => String(r.values[k] ?? '—') })),
    { key: 'events', label: 'Events', value: (r) => r.events, render: (r) => formatCount(r.events), numeric: true },
    { key: 'usage', label: `Usage (${unit})`, value: (r) => r.usage, render: (r) => formatUsage(r.usage), numeric: true },
    { key: 'cost', label: 'Cost', value: (r) => r.costNanos, render: (r) => <Money amount={r.cost} />, numeric: true },
  ];
  return (
    <Page title={line?.displayName ?? service} testId="service-detail" tools={<PeriodPicker value={period} onChange={onPeriod} />}>
      <p>
        <a href="#/services">← All services</a>
      </p>
      {report.status === 'loading' ? <Loading /> : null}
      {report.status === 'error' ? <ErrorState error={report.error} onRetry={reload} /> : null}
      {line ? (
        <div className="summary">
          <div className="summary-total">
            <span className="summary-label">Cost</span>
            <span className="summary-value">
              <Money amount={line.cost} />
            </span>
          </div>
          <div className="summary-events">
            <span className="summary-label">Usage</span>
            <span className="summary-value small">
              {formatUsage(line.usage)} {line.unit}
            </span>
            {unitNote(line.unit) ? <span className="muted">{unitNote(line.unit)}</span> : null}
          </div>
          <div className="summary-events">
            <span className="summary-label">Events</span>
            <span className="summary-value small">{formatCount(line.events)}</span>
          </div>
          {stats.status === 'ok' && stats.data.totalEvents > 0 ? (
            <div className="summary-events" data-testid="stats">
              <span className="summary-label">Per event (avg · p95 · p99)</span>
              <span className="summary-value small">
                {formatUsage(stats.data.average)} · {formatUsage(stats.data.p95 ?? 0)} · {formatUsage(stats.data.p99 ?? 0)}
              </span>
              {stats.data.note ? <span className="muted">{stats.data.note}</span> : null}
            </div>
          ) : null}
        </div>
      ) : null}
      <section className="panel" aria-labelledby="breakdown-title">
        <h2 id="breakdown-title">Breakdown{keys.length ? ` by ${keys.join(' and ')}` : ''}</h2>
        {breakdown.status === 'loading' ? <Loading /> : null}
        {breakdown.status === 'error' ? <ErrorState error={breakdown.error} onRetry={reloadBreakdown} /> : null}
        {breakdown.status === 'ok' && breakdown.data.rows.length === 0 ? <Empty title="No usage of this service in the period" /> : null}
        {breakdown.status === 'ok' && breakdown.data.rows.length > 0 ? (
          <SortableTable
            caption={`Usage of ${service} by ${keys.join(', ')}`}
            rows={breakdown.data.rows}
            rowKey={(r) => keys.map((k) => String(r.values[k])).join('|') + (r.day ?? '')}
            columns={byKey}
            initialSort={{ key: 'cost', desc: true }}
            testId="breakdown-table"
          />
        ) : null}
      </section>
      {report.status === 'ok' && (report.data.daily ?? []).length > 0 ? (
        <section className="panel" aria-labelledby="per-day">
          <h2 id="per-day">Per day</h2>
          <SortableTable
            caption="Per day"
            rows={report.data.daily ?? []}
            rowKey={(r) => r.day}
            columns={daily}
            initialSort={{ key: 'day', desc: true }}
            testId="daily-table"
          />
        </section>
      ) : null}
    </Page>
  );
}
