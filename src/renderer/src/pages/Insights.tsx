// Insights: the second seed's analytics for this month — top users by cost, error rates over
// time with the failing endpoints, and latency percentiles per endpoint and model.
import type { FailingEndpoint, LatencyRow, TopUser } from '../../../analytics/insights';
import { useApi } from '../api';
import { Page } from '../components/Page';
import { SortableTable } from '../components/SortableTable';
import { Empty, ErrorState, Loading } from '../components/States';
import { exactMoney, formatCount } from '../format';

const pct = (r: number) => `${(Math.trunc(r * 1000) / 10).toFixed(1)} %`;

export function TopUsersPanel({ limit = 10 }: { limit?: number }) {
  const [top, reload] = useApi('analytics.topUsers', { limit });
  return (
    <section className="panel" aria-labelledby="top-users">
      <h2 id="top-users">Top users · this month</h2>
      {top.status === 'loading' ? <Loading /> : null}
      {top.status === 'error' ? <ErrorState error={top.error} onRetry={reload} /> : null}
      {top.status === 'ok' && top.data.users.length === 0 ? <Empty title="No events carry a user yet" /> : null}
      {top.status === 'ok' && top.data.users.length > 0 ? (
        <SortableTable<TopUser>
          caption="Top users by cost"
          testId="top-users"
          rows={top.data.users}
          rowKey={(u) => `${u.customer}|${u.user}`}
          initialSort={{ key: 'cost', desc: true }}
          columns={[
            { key: 'user', label: 'User', value: (u) => u.user },
            { key: 'customer', label: 'Customer', value: (u) => u.customer },
            { key: 'events', label: 'Events', value: (u) => u.events, render: (u) => formatCount(u.events), numeric: true },
            { key: 'cost', label: 'Cost', value: (u) => Number(u.cost), render: (u) => exactMoney(u.cost), numeric: true },
          ]}
        />
      ) : null}
    </section>
  );
}

function ErrorsPanel() {
  const [errors, reload] = useApi('analytics.errors', { bucket: 'day' });
  return (
    <section className="panel" aria-labelledby="errors">
      <h2 id="errors">Errors · this month</h2>
      {errors.status === 'loading' ? <Loading /> : null}
      {errors.status === 'error' ? <ErrorState error={errors.error} onRetry={reload} /> : null}
      {errors.status === 'ok' && errors.data.buckets.length === 0 ? <Empty title="No api or function events" /> : null}
      {errors.status === 'ok' && errors.data.buckets.length > 0 ? (
        <>
          <table className="table" data-testid="error-buckets">
            <thead>
              <tr>
                <th scope="col">Day</th>
                <th scope="col">Service</th>
                <th scope="col" className="num">
                  Events
                </th>
                <th scope="col">By class</th>
                <th scope="col" className="num">
                  Error rate
                </th>
              </tr>
            </thead>
            <tbody>
              {errors.data.buckets.map((b) => (
                <tr key={`${b.start}|${b.service}`}>
                  <td>{b.start.slice(0, 10)}</td>
                  <td>{b.service}</td>
                  <td className="num">{formatCount(b.events)}</td>
                  <td>
                    {Object.entries(b.classes)
                      .map(([k, n]) => `${k} ${formatCount(n)}`)
                      .join(' · ')}
                  </td>
                  <td className="num">{pct(b.errorRate)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <h3>Failing endpoints</h3>
          {errors.data.failingEndpoints.length === 0 ? (
            <p className="muted">No 4xx or 5xx answers.</p>
          ) : (
            <SortableTable<FailingEndpoint>
              caption="Failing endpoints"
              testId="failing-endpoints"
              rows={errors.data.failingEndpoints}
              rowKey={(f) => `${f.method ?? ''} ${f.endpoint}`}
              initialSort={{ key: 'errors', desc: true }}
              columns={[
                { key: 'endpoint', label: 'Endpoint', value: (f) => `${f.method ?? ''} ${f.endpoint}` },
                { key: 'events', label: 'Events', value: (f) => f.events, numeric: true },
                { key: 'errors', label: 'Errors', value: (f) => f.errors, numeric: true },
                { key: 'rate', label: 'Error rate', value: (f) => f.errorRate, render: (f) => pct(f.errorRate), numeric: true },
              ]}
            />
          )}
        </>
      ) : null}
    </section>
  );
}

function LatencyPanel({ by }: { by: 'endpoint' | 'model' }) {
  const [latency, reload] = useApi('analytics.latency', { by });
  return (
    <section className="panel" aria-labelledby={`latency-${by}`}>
      <h2 id={`latency-${by}`}>Latency by {by} · this month</h2>
      {latency.status === 'loading' ? <Loading /> : null}
      {latency.status === 'error' ? <ErrorState error={latency.error} onRetry={reload} /> : null}
      {latency.status === 'ok' && latency.data.rows.length === 0 ? <Empty title="No events carry duration_ms or latency_ms" /> : null}
      {latency.status === 'ok' && latency.data.rows.length > 0 ? (
        <SortableTable<LatencyRow>
          caption={`Latency by ${by}`}
          testId={`latency-${by}`}
          rows={latency.data.rows}
          rowKey={(r) => `${r.service}|${r.group ?? ''}`}
          initialSort={{ key: 'p95', desc: true }}
          columns={[
            { key: 'group', label: by === 'endpoint' ? 'Endpoint' : 'Model', value: (r) => r.group ?? '—' },
            { key: 'service', label: 'Service', value: (r) => r.service },
            { key: 'count', label: 'Count', value: (r) => r.count, numeric: true },
            { key: 'p50', label: 'p50 ms', value: (r) => r.p50, numeric: true },
            { key: 'p95', label: 'p95 ms', value: (r) => r.p95, numeric: true },
            { key: 'p99', label: 'p99 ms', value: (r) => r.p99, numeric: true },
          ]}
        />
      ) : null}
    </section>
  );
}

export function Insights() {
  const [probe] = useApi('analytics.latency', { by: 'service' });
  return (
    <Page title="Insights" testId="insights" ready={probe.status !== 'loading'}>
      <TopUsersPanel />
      <ErrorsPanel />
      <LatencyPanel by="endpoint" />
      <LatencyPanel by="model" />
    </Page>
  );
}
