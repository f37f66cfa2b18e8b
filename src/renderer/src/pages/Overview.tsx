// The first screen: the period's total, a card per service (usage in its unit, cost, quota),
// cost per day, and the latest alerts.
import { useCallback, useEffect, useMemo, useState } from 'react';
import type { ChartConfiguration } from 'chart.js';
import type { UsageReport } from '../../../analytics/usage';
import { useApi } from '../api';
import { ChartCanvas, serviceColor } from '../components/Chart';
import { Page } from '../components/Page';
import { PeriodPicker } from '../components/PeriodPicker';
import { Empty, ErrorState, Loading } from '../components/States';
import { currentCurrency, exactMoney, formatCount, formatUsage, money, roundedTotal, unitNote } from '../format';
import { describePeriod, periodArgs, type PeriodChoice } from '../period';
import { OverviewExtras, QuotaSlot, RecentAlerts } from './overview-extras';
import { CreditsSummary } from './credits-card';

export function Overview({ period, onPeriod }: { period: PeriodChoice; onPeriod: (p: PeriodChoice) => void }) {
  const args = useMemo(() => ({ ...periodArgs(period), detailed: true }), [period]);
  const [report, reload] = useApi('report.usage', args);
  const [chartDrawn, setChartDrawn] = useState<string | null>(null);
  const key = JSON.stringify(args);
  const onDrawn = useCallback(() => setChartDrawn(key), [key]);
  const ready = report.status === 'error' || (report.status === 'ok' && (chartDrawn === key || report.data.totalEvents === 0));

  useEffect(() => {
    if (ready) performance.mark('tally:overview-ready');
  }, [ready]);

  return (
    <Page title="Overview" testId="overview" ready={ready} tools={<PeriodPicker value={period} onChange={onPeriod} />}>
      {report.status === 'loading' ? <Loading label="Loading usage…" /> : null}
      {report.status === 'error' ? <ErrorState error={report.error} onRetry={reload} /> : null}
      {report.status === 'ok' ? (
        <OverviewExtras current={period.kind === 'this-month'}>
          <OverviewBody report={report.data} period={period} onDrawn={onDrawn} />
        </OverviewExtras>
      ) : null}
    </Page>
  );
}

function OverviewBody({ report, period, onDrawn }: { report: UsageReport; period: PeriodChoice; onDrawn: () => void }) {
  const periodLabel = describePeriod(period);
  return (
    <>
      <div className="summary">
        <div className="summary-total">
          <span className="summary-label">Total cost · {periodLabel}</span>
          <span className="summary-value" data-testid="total-cost" title={`exact ${exactMoney(report.totalCost)}`}>
            {roundedTotal(report.services.map((l) => l.cost)).total}
          </span>
        </div>
        <div className="summary-events">
          <span className="summary-label">Events</span>
          <span className="summary-value small" data-testid="total-events">
            {formatCount(report.totalEvents)}
          </span>
        </div>
      </div>
      <CreditsSummary />
      {report.totalEvents === 0 ? (
        <Empty title="No usage recorded in this period">
          Record usage with <code>tally track</code>, the HTTP API (<code>POST /v1/events</code>), or fill a demo database with{' '}
          <code>tally demo</code>.
        </Empty>
      ) : null}
      <ul className="cards" aria-label="Services">
        {report.services.map((line) => {
          const note = unitNote(line.unit);
          return (
            <li
              key={line.service}
              className="card"
              data-testid={`service-card-${line.service}`}
              style={{ borderTopColor: serviceColor(line.service) }}
            >
              <a className="card-title" href={`#/service/${encodeURIComponent(line.service)}`}>
                {line.displayName}
              </a>
              <div className="card-usage">
                <span data-testid="usage" data-value={line.usage}>
                  {formatUsage(line.usage)}
                </span>{' '}
                <span className="unit" title={note ?? undefined}>
                  {line.unit}
                  {note ? <abbr title={note}>*</abbr> : null}
                </span>
              </div>
              <div className="card-cost" data-testid="cost" title={exactMoney(line.cost)}>
                {money(line.cost)}
              </div>
              <div className="card-meta">{formatCount(line.events)} events</div>
              <QuotaSlot service={line.service} />
            </li>
          );
        })}
      </ul>
      {report.services.some((l) => /\bGB\b/.test(l.unit)) ? <p className="footnote">* GB = GiB (2^30 bytes)</p> : null}
      <div className="panels">
        <section className="panel panel-wide" aria-labelledby="daily-cost-title">
          <h2 id="daily-cost-title">Cost per day</h2>
          <DailyCostChart report={report} onDrawn={onDrawn} />
        </section>
        <RecentAlerts period={period} />
      </div>
    </>
  );
}

function DailyCostChart({ report, onDrawn }: { report: UsageReport; onDrawn: () => void }) {
  const config = useMemo((): ChartConfiguration<'bar'> => {
    const daily = report.daily ?? [];
    const days = [...new Set(daily.map((d) => d.day))].sort();
    const index = new Map(days.map((d, i) => [d, i]));
    const services = report.services.filter((s) => s.events > 0);
    // Costs are plotted as numbers (bar heights); the tooltip shows the exact decimal text.
    const exact = new Map(daily.map((d) => [`${d.service}|${d.day}`, d.cost]));
    return {
      type: 'bar',
      data: {
        labels: days.map((d) => d.slice(5)),
        datasets: services.map((s) => {
          const values = new Array<number>(days.length).fill(0);
          for (const d of daily) if (d.service === s.service) values[index.get(d.day)!] = d.costNanos / 1e9;
          return { label: s.displayName, data: values, backgroundColor: serviceColor(s.service), stack: 'cost' };
        }),
      },
      options: {
        scales: {
          x: { stacked: true, title: { display: true, text: 'day (UTC)' } },
          // The axis speaks the currency: "$2.00", not "2".
          y: {
            stacked: true,
            beginAtZero: true,
            title: { display: true, text: `cost (${currentCurrency()})` },
            ticks: { callback: (v) => money(BigInt(Math.round(Number(v) * 1e9))) },
          },
        },
        plugins: {
          tooltip: {
            callbacks: {
              label: (ctx) => {
                const service = services[ctx.datasetIndex]!;
                // The hover shows the exact amount.
                return `${service.displayName}: ${exactMoney(exact.get(`${service.service}|${days[ctx.dataIndex]}`) ?? '0')}`;
              },
            },
          },
        },
      },
    };
  }, [report]);
  return <ChartCanvas config={config} label="Cost per day, stacked by service" testId="chart-daily-cost" onDrawn={onDrawn} />;
}
