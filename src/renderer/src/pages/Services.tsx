// The service list, and one service's detail: its days, and its breakdown by endpoint,
// interface or function.
import { useMemo } from 'react';
import type { DailyLine } from '../../../core/reports/usage';
import { useApi } from '../api';
import { Page } from '../components/Page';
import { SortableTable, type Column } from '../components/SortableTable';
import { Empty, ErrorState, Loading } from '../components/States';
import { formatCount, formatUsage, money, unitNote } from '../format';
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
            { key: 'service', label: 'Service', value: (r) => r.displayName, render: (r) => <a href={`#/service/${encodeURIComponent(r.service)}`}>{r.displayName}</a> },
            { key: 'events', label: 'Events', value: (r) => r.events, render: (r) => formatCount(r.events), numeric: true },
            { key: 'usage', label: 'Usage', value: (r) => r.usage, render: (r) => `${formatUsage(r.usage)} ${r.unit}`, numeric: true },
            { key: 'cost', label: 'Cost', value: (r) => r.costNanos, render: (r) => money(r.cost), numeric: true },
          ]}
        />
      ) : null}
    </Page>
  );
}

export function ServiceDetail({ route, period, onPeriod }: { route: Route; period: PeriodChoice; onPeriod: (p: PeriodChoice) => void }) {
  const service = route.page === 'service' ? route.service : '';
  const args = useMemo(() => ({ ...periodArgs(period), service, detailed: true }), [period, service]);
  const [report, reload] = useApi('report.usage', args);
  const line = report.status === 'ok' ? report.data.services[0] : undefined;
  const columns: Column<DailyLine>[] = [
    { key: 'day', label: 'Day', value: (r) => r.day },
    { key: 'events', label: 'Events', value: (r) => r.events, render: (r) => formatCount(r.events), numeric: true },
    { key: 'usage', label: `Usage (${line?.unit ?? ''})`, value: (r) => r.usage, render: (r) => formatUsage(r.usage), numeric: true },
    { key: 'cost', label: 'Cost', value: (r) => r.costNanos, render: (r) => money(r.cost), numeric: true },
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
            <span className="summary-value">{money(line.cost)}</span>
          </div>
          <div className="summary-events">
            <span className="summary-label">Usage</span>
            <span className="summary-value small">
              {formatUsage(line.usage)} {line.unit}
            </span>
            {unitNote(line.unit) ? <span className="muted">{unitNote(line.unit)}</span> : null}
          </div>
        </div>
      ) : null}
      {report.status === 'ok' && (report.data.daily ?? []).length === 0 ? <Empty title="No usage of this service in the period" /> : null}
      {report.status === 'ok' && (report.data.daily ?? []).length > 0 ? (
        <section className="panel" aria-labelledby="per-day">
          <h2 id="per-day">Per day</h2>
          <SortableTable caption="Per day" rows={report.data.daily ?? []} rowKey={(r) => r.day} columns={columns} initialSort={{ key: 'day', desc: true }} testId="daily-table" />
        </section>
      ) : null}
    </Page>
  );
}
