// Daily usage per service as line charts, with the change from one full day to the next. Today is
// still running: its point is drawn dashed, and it is compared with the same part of yesterday
// (analytics.trends, as the CLI and API do), never with all of yesterday.
import { useMemo, useState } from 'react';
import type { ChartConfiguration } from 'chart.js';
import type { TrendRow } from '../../../analytics/trends';
import type { DailyLine, ReportLine } from '../../../analytics/usage';
import { useApi } from '../api';
import { ChartCanvas, serviceColor } from '../components/Chart';
import { Page } from '../components/Page';
import { Empty, ErrorState, Loading } from '../components/States';
import { formatPercent, formatUsage, unitNote } from '../format';
import { dayOf, lastDays } from '../period';
import { dayOverDay } from '../series';

const RANGES = [7, 30, 90] as const;

export function Trends() {
  const [days, setDays] = useState<(typeof RANGES)[number]>(30);
  const args = useMemo(() => ({ ...lastDays(days), detailed: true }), [days]);
  const [report, reload] = useApi('report.usage', args);
  const [trend] = useApi('analytics.trends', { days });
  const tools = (
    <label>
      Range{' '}
      <select value={days} onChange={(e) => setDays(Number(e.target.value) as (typeof RANGES)[number])}>
        {RANGES.map((d) => (
          <option key={d} value={d}>
            Last {d} days
          </option>
        ))}
      </select>
    </label>
  );
  return (
    <Page title="Trends" testId="trends" tools={tools}>
      {report.status === 'loading' ? <Loading /> : null}
      {report.status === 'error' ? <ErrorState error={report.error} onRetry={reload} /> : null}
      {report.status === 'ok' && report.data.totalEvents === 0 ? <Empty title="No usage in this range" /> : null}
      {report.status === 'ok' ? (
        <div className="trend-grid">
          {report.data.services
            .filter((s) => s.events > 0)
            .map((s) => (
              <TrendCard
                key={s.service}
                line={s}
                daily={(report.data.daily ?? []).filter((d) => d.service === s.service)}
                today={trend.status === 'ok' ? trend.data.rows.find((r) => r.service === s.service && r.partial) : undefined}
                from={args.from!}
                to={args.to!}
              />
            ))}
        </div>
      ) : null}
    </Page>
  );
}

function weekday(day: string): string {
  return new Date(`${day}T00:00:00Z`).toLocaleDateString('en-US', { weekday: 'short', month: 'short', day: 'numeric', timeZone: 'UTC' });
}

function TrendCard({
  line,
  daily,
  from,
  to,
  today,
}: {
  line: ReportLine;
  daily: readonly DailyLine[];
  from: string;
  to: string;
  today: TrendRow | undefined;
}) {
  const { days, values } = useMemo(() => {
    const all: string[] = [];
    for (let t = Date.parse(`${from}T00:00:00Z`); t <= Date.parse(`${to}T00:00:00Z`); t += 86_400_000) all.push(dayOf(t));
    const byDay = new Map(daily.map((d) => [d.day, d.usage]));
    return { days: all, values: all.map((d) => byDay.get(d) ?? 0) };
  }, [daily, from, to]);
  const change = dayOverDay(values);
  const config = useMemo(
    (): ChartConfiguration<'line'> => ({
      type: 'line',
      data: {
        labels: days.map((d) => d.slice(5)),
        datasets: [
          {
            label: `${line.displayName} (${line.unit})`,
            data: values,
            borderColor: serviceColor(line.service),
            backgroundColor: `${serviceColor(line.service)}33`,
            fill: true,
            pointRadius: 0,
            tension: 0.25,
            // The last day is still running: dashed, so it does not read as a drop.
            segment: { borderDash: (c) => (today && c.p1DataIndex === values.length - 1 ? [6, 4] : undefined) },
          },
        ],
      },
      options: {
        plugins: { legend: { display: false } },
        scales: {
          x: { ticks: { maxTicksLimit: 8 }, title: { display: true, text: 'day (UTC)' } },
          y: { beginAtZero: true, title: { display: true, text: line.unit } },
        },
      },
    }),
    [days, values, line, today],
  );
  const note = unitNote(line.unit);
  return (
    <section className="panel" aria-labelledby={`trend-${line.service}`} data-testid={`trend-${line.service}`}>
      <h2 id={`trend-${line.service}`}>{line.displayName}</h2>
      <div className="trend-figures">
        <span>
          {formatUsage(line.usage)} {line.unit}
          {note ? <span className="muted"> · {note}</span> : null}
        </span>
        {today && today.changePercent !== null ? (
          <span
            className={today.changePercent > 0 ? 'delta up' : today.changePercent < 0 ? 'delta down' : 'delta'}
            data-testid="today-so-far"
          >
            today so far {formatPercent(today.changePercent)} vs yesterday to {today.comparedTo} UTC
          </span>
        ) : null}
        {change === null ? (
          <span className="muted">no day-over-day change yet</span>
        ) : (
          <span className={change > 0 ? 'delta up' : change < 0 ? 'delta down' : 'delta'} data-testid="day-over-day">
            {formatPercent(change)} on {weekday(days[days.length - 2]!)} vs {weekday(days[days.length - 3]!)}
          </span>
        )}
      </div>
      <ChartCanvas
        config={config}
        label={`Daily ${line.displayName} in ${line.unit}`}
        height={180}
        testId={`chart-trend-${line.service}`}
      />
    </section>
  );
}
