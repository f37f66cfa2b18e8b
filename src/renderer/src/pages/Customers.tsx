// Customers: each tenant's month — events, services used, cost and its run-rate projection —
// sortable, with the top users; a row opens that customer's view everywhere (the picker).
import type { CustomerSummary } from '../../../core/api/tenants';
import { formatNanos, toNanos } from '../../../core/money';
import { useApi } from '../api';
import { useChooseCustomer } from '../customer';
import { Money } from '../components/Money';
import { Page } from '../components/Page';
import { SortableTable } from '../components/SortableTable';
import { Empty, ErrorState, Loading } from '../components/States';
import { formatCount } from '../format';
import { TopUsersPanel } from './Insights';

/** Each customer's projected month cost: the sum of its services' run-rate projections, exact. */
function projectedByCustomer(lines: ReadonlyArray<{ customerId: string; projectedCost: string }>): Map<string, bigint> {
  const out = new Map<string, bigint>();
  for (const l of lines) out.set(l.customerId, (out.get(l.customerId) ?? 0n) + toNanos(l.projectedCost));
  return out;
}

export function Customers() {
  const onChoose = useChooseCustomer();
  const [customers, reload] = useApi('customers.list', {});
  const [projection] = useApi('analytics.projection', { period: 'month' });
  const projected = projection.status === 'ok' ? projectedByCustomer(projection.data.lines) : null;
  const month = customers.status === 'ok' ? customers.data[0]?.month : undefined;
  return (
    <Page title="Customers" testId="customers" ready={customers.status === 'ok'}>
      <section className="panel" aria-labelledby="customers-month">
        <h2 id="customers-month">This month{month ? ` · ${month}` : ''}</h2>
        {customers.status === 'loading' ? <Loading /> : null}
        {customers.status === 'error' ? <ErrorState error={customers.error} onRetry={reload} /> : null}
        {customers.status === 'ok' && customers.data.length === 0 ? (
          <Empty title="No customers yet">A customer appears with its first event, or with `tally customers add`.</Empty>
        ) : null}
        {customers.status === 'ok' && customers.data.length > 0 ? (
          <SortableTable<CustomerSummary>
            caption="Customers this month"
            testId="customers-table"
            rows={customers.data}
            rowKey={(c) => c.id}
            initialSort={{ key: 'cost', desc: true }}
            columns={[
              {
                key: 'customer',
                label: 'Customer',
                value: (c) => c.id,
                render: (c) => (
                  <button type="button" className="link" onClick={() => onChoose(c.id)} title="Show this customer everywhere">
                    {c.id}
                  </button>
                ),
              },
              { key: 'name', label: 'Name', value: (c) => c.displayName ?? '' },
              { key: 'events', label: 'Events', value: (c) => c.events, render: (c) => formatCount(c.events), numeric: true },
              { key: 'services', label: 'Services', value: (c) => c.services, numeric: true },
              { key: 'cost', label: 'Cost', value: (c) => Number(c.cost), render: (c) => <Money amount={c.cost} />, numeric: true },
              {
                key: 'projected',
                label: 'Projected month',
                value: (c) => Number(projected?.get(c.id) ?? 0n),
                render: (c) => (projected?.has(c.id) ? <Money amount={formatNanos(projected.get(c.id)!)} /> : '—'),
                numeric: true,
              },
              { key: 'since', label: 'Since', value: (c) => c.createdAt, render: (c) => new Date(c.createdAt).toLocaleDateString() },
            ]}
          />
        ) : null}
      </section>
      <TopUsersPanel />
    </Page>
  );
}
