// Peaks: the busiest hours or days of one service as a bar chart, and an hour-of-week heat map.
import { useMemo, useState } from 'react';
import type { ChartConfiguration } from 'chart.js';
import type { AggregateRow } from '../../../analytics/aggregate';
import { hourOfWeek } from '../series';
import { useApi } from '../api';
import { ChartCanvas, serviceColor } from '../components/Chart';
import { Page } from '../components/Page';
import { Empty, ErrorState, Loading } from '../components/States';
import { formatUsage, money } from '../format';

const DAYS = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];

export function Peaks() {
  const [services] = useApi('services.list', {});
  const [service, setService] = useState('api');
  const [by, setBy] = useState<'hour' | 'day'>('hour');
  const [peaks, reload] = useApi('analytics.peaks', { service, by, top: 10, days: 30 });
  const [hours] = useApi('analytics.aggregate', { granularity: 'hourly', service, from: isoDay(-27), to: isoDay(0) });
  const tools = (
    <>
      <label>
        Service{' '}
        <select value={service} onChange={(e) => setService(e.target.value)}>
          {(services.status === 'ok' ? services.data : [{ name: 'api', displayName: 'API requests' }]).map((s) => (
            <option key={s.name} value={s.name}>
              {s.displayName}
            </option>
          ))}
        </select>
      </label>
      <label>
        Top{' '}
        <select value={by} onChange={(e) => setBy(e.target.value as 'hour' | 'day')}>
          <option value="hour">hours</option>
          <option value="day">days</option>
        </select>
      </label>
    </>
  );
  return (
    <Page title="Peaks" testId="peaks" tools={tools}>
      <section className="panel" aria-labelledby="peaks-top">
        <h2 id="peaks-top">Top {by === 'hour' ? 'hours' : 'days'} · last 30 days (UTC)</h2>
        {peaks.status === 'loading' ? <Loading /> : null}
        {peaks.status === 'error' ? <ErrorState error={peaks.error} onRetry={reload} /> : null}
        {peaks.status === 'ok' && peaks.data.rows.length === 0 ? <Empty title="No usage of this service in the last 30 days" /> : null}
        {peaks.status === 'ok' && peaks.data.rows.length > 0 ? <PeaksChart rows={peaks.data.rows} by={by} service={service} /> : null}
      </section>
      <section className="panel" aria-labelledby="peaks-heat">
        <h2 id="peaks-heat">Hour of week · last 4 weeks (UTC)</h2>
        {hours.status === 'loading' ? <Loading /> : null}
        {hours.status === 'error' ? <ErrorState error={hours.error} /> : null}
        {hours.status === 'ok' ? <HeatMap rows={hours.data.rows} service={service} /> : null}
      </section>
    </Page>
  );
}

function isoDay(offset: number): string {
  return new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10);
}

function PeaksChart({
  rows,
  by,
  service,
}: {
  rows: readonly { start: string; usage: number; unit: string; cost: string }[];
  by: 'hour' | 'day';
  service: string;
}) {
  const config = useMemo((): ChartConfiguration<'bar'> => {
    const label = (start: string) => (by === 'hour' ? `${start.slice(5, 10)} ${start.slice(11, 16)}` : start.slice(0, 10));
    return {
      type: 'bar',
      data: {
        labels: rows.map((r) => label(r.start)),
        datasets: [{ label: rows[0]?.unit ?? '', data: rows.map((r) => r.usage), backgroundColor: serviceColor(service) }],
      },
      options: {
        indexAxis: 'y',
        plugins: {
          legend: { display: false },
          tooltip: {
            callbacks: {
              label: (ctx) =>
                `${formatUsage(rows[ctx.dataIndex]!.usage)} ${rows[ctx.dataIndex]!.unit} · ${money(rows[ctx.dataIndex]!.cost)}`,
            },
          },
        },
        scales: { x: { beginAtZero: true, title: { display: true, text: rows[0]?.unit ?? '' } }, y: {} },
      },
    };
  }, [rows, by, service]);
  return <ChartCanvas config={config} label={`Top ${by === 'hour' ? 'hours' : 'days'} by usage`} height={300} testId="chart-peaks" />;
}

function HeatMap({ rows, service }: { rows: readonly AggregateRow[]; service: string }) {
  const cells = useMemo(() => hourOfWeek(rows), [rows]);
  const max = Math.max(...cells, 0);
  const unit = rows[0]?.unit ?? '';
  if (max === 0) return <Empty title="No hourly usage in the last 4 weeks" />;
  return (
    <>
      <p className="muted heat-legend">
        Average per hour, in {unit}: darker is busier (busiest: {formatUsage(max)} {unit}).
      </p>
      <div className="heatmap" role="table" aria-label="Average usage by hour of the week" data-testid="heatmap">
        <div role="row" style={{ display: 'contents' }}>
          <span role="columnheader" />
          {Array.from({ length: 24 }, (_, h) => (
            <span key={h} role="columnheader" className="heat-hour">
              {h % 3 === 0 ? String(h).padStart(2, '0') : ''}
            </span>
          ))}
        </div>
        {DAYS.map((day, d) => (
          <div role="row" key={day} style={{ display: 'contents' }}>
            <span role="rowheader">{day}</span>
            {Array.from({ length: 24 }, (_, h) => {
              const v = cells[d * 24 + h]!;
              return (
                <span
                  key={h}
                  role="cell"
                  className="heat"
                  title={`${day} ${String(h).padStart(2, '0')}:00 · ${formatUsage(v)} ${unit}`}
                  aria-label={`${day} ${h}:00, ${formatUsage(v)} ${unit}`}
                  style={{ background: serviceColor(service), opacity: v === 0 ? 0.06 : 0.15 + 0.85 * (v / max) }}
                />
              );
            })}
          </div>
        ))}
      </div>
    </>
  );
}
